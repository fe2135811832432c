# Copyright: onramp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the modules of onramp.interconnect share: the API's options, the client, errors as
the API's (code, reason, hint), and a resource found by its name as onramp-client finds it
(`onramp.connectivity`: the same code, so a play and a connectivity file agree)."""

from __future__ import annotations

import traceback
import uuid
from typing import Any, NoReturn

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    import requests

    from onramp import connectivity
    from onramp.client import ApiError, Client
except ImportError:
    IMPORT_ERROR: str | None = traceback.format_exc()
else:
    IMPORT_ERROR = None

API_OPTIONS: dict[str, Any] = {
    "url": {"type": "str", "fallback": (env_fallback, ["ONRAMP_URL"])},
    "api_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["ONRAMP_KEY"])},
}
WAIT_OPTIONS: dict[str, Any] = {
    "wait": {"type": "bool", "default": False},
    "wait_timeout": {"type": "int", "default": 1800},
}
# what the server changes in place (PATCH, `update_connector`/`update_link`) is
# onramp-client's `connectivity.IN_PLACE`; any other field that differs needs a new
# resource (a new name). Of those, these go through the workers (modifying -> active):
THROUGH_THE_WORKERS = ("bandwidth_mbps", "prefixes")
DESCRIPTION_MAX = 64  # the API's limit, the "@name " head included


class Interconnect:
    """One module's run: the client, the tenant's named resources, failures as results."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        if IMPORT_ERROR is not None:
            module.fail_json(msg=missing_required_lib("onramp-interconnect (onramp.client)"),
                             exception=IMPORT_ERROR)  # fmt: skip
        url, key = module.params["url"], module.params["api_key"]
        if not url or not key:
            self.fail("ONR-CLIENT-002", "the API's url and key are not set",
                      "set url and api_key, or ONRAMP_URL and ONRAMP_KEY in the environment",
                      "url" if not url else "api_key")  # fmt: skip
        self.api = Client(url, key)

    def fail(
        self, code: str, reason: str, hint: str, field: str | None = None, **more: Any
    ) -> NoReturn:
        self.module.fail_json(msg=f"{code}: {reason} -> {hint}", code=code, reason=reason,
                              hint=hint, field=field, **more)  # fmt: skip
        raise SystemExit(1)  # fail_json has exited; this says so to the type checker

    def call(self, what: Any, *args: Any, **kw: Any) -> Any:
        """`what(*args, **kw)` on the client; an API error or an unreachable API fails the
        module with the API's code, reason and hint."""
        try:
            return what(*args, **kw)
        except ApiError as exc:
            self.fail(exc.code, exc.reason, exc.hint, exc.field, status=exc.status)
        except requests.RequestException as exc:
            self.fail("ONR-CLIENT-006", f"the API at {self.api.url}: {exc}",
                      "check the URL and that the API is up")  # fmt: skip

    def held(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The tenant's live Connectors and Links carrying a name, by kind and name."""
        return dict(self.call(connectivity.held, self.api))

    def wait(self, kind: str, ident: str, until: str) -> dict[str, Any] | None:
        """The resource once `until` (None: deleted and gone from the API); a failed one,
        or wait_timeout running out, fails the module."""
        try:
            return self.api.wait(kind, ident, until=until,
                                 timeout=self.module.params["wait_timeout"], poll=2)  # fmt: skip
        except ApiError as exc:
            if until == "deleted" and exc.status == 404:
                return None
            self.fail(exc.code, exc.reason, exc.hint, exc.field, status=exc.status)
        except requests.RequestException as exc:
            self.fail("ONR-CLIENT-006", f"the API at {self.api.url}: {exc}",
                      "check the URL and that the API is up")  # fmt: skip
        return None

    def differences(self, kind: connectivity.Kind, name: str, item: dict[str, Any],
                    want: dict[str, Any], names: dict[str, str]) -> dict[str, list[Any]]:  # fmt: skip
        """{field: [held, wanted]} for the given fields that differ (`names`: Connector id ->
        name, for a Link's ends); one that cannot change in place fails the module
        (ONR-CLIENT-003, as onramp-client)."""
        differ = {f: [connectivity.value_of(item, f, names), v] for f, v in want.items()
                  if not connectivity.same(v, connectivity.value_of(item, f, names))}  # fmt: skip
        if (
            kind == "link"
            and "a" in want
            and {want["a"], want["b"]} == {connectivity.value_of(item, e, names) for e in "ab"}
        ):
            differ.pop("a", None), differ.pop("b", None)  # a Link has no direction
        if fixed := sorted(set(differ) - connectivity.IN_PLACE[kind]):
            self.fail("ONR-CLIENT-003", f"{kind} {name}: {', '.join(fixed)} cannot change in "
                      f"place ({differ[fixed[0]][0]!r} -> {differ[fixed[0]][1]!r})",
                      f"give it a new name: a new {kind} is ordered, then remove the old one",
                      fixed[0])  # fmt: skip
        return differ

    def update(self, kind: str, name: str, item: dict[str, Any],
               differ: dict[str, list[Any]]) -> dict[str, Any]:  # fmt: skip
        """PATCH the fields that differ, with If-Match from a fresh read: a change made
        meanwhile refuses ours (ONR-CHG-006) rather than being overwritten."""
        fields = {f: (tagged(name, pair[1]) if f == "description" else pair[1])
                  for f, pair in differ.items()}  # fmt: skip
        etag = self.call(self.api.etag, kind, item["id"])
        done: dict[str, Any] = self.call(getattr(self.api, f"update_{kind}"), item["id"],
                                         if_match=etag, **fields)  # fmt: skip
        worked = [f for f in THROUGH_THE_WORKERS if f in differ]
        if self.module.params["wait"] and worked:
            done = self.wait(kind, item["id"], "active") or done
            if (done.get("change") or {}).get("outcome") == "rolled_back":
                self.fail("ONR-CLIENT-001", f"{kind} {name}: the change was rolled back: "
                          f"{done['change'].get('reason')}", "see its history; it runs as "
                          f"before ({', '.join(worked)})", worked[0], **{kind: done})  # fmt: skip
        return done

    def remove(self, kind: str, item: dict[str, Any]) -> dict[str, Any] | None:
        done: dict[str, Any] = self.call(self.api.delete, kind, item["id"])
        if self.module.params["wait"]:
            return self.wait(kind, item["id"], "deleted")
        return done

    def order_key(self, kind: str, name: str) -> str:
        """An Idempotency-Key for this run: the client's retry of the order makes one."""
        return f"ansible-{kind}-{name}-{uuid.uuid4().hex[:12]}"


def tagged(name: str, text: str | None) -> str:
    return f"@{name} {text}" if text else f"@{name}"


def check_description(ic: Interconnect, name: str, text: str | None) -> None:
    if text is not None and len(tagged(name, text)) > DESCRIPTION_MAX:
        ic.fail("ONR-CLIENT-002", f"'@{name} ' and the description exceed {DESCRIPTION_MAX} "
                "characters", "shorten the description", "description")  # fmt: skip


def seen(kind: str, name: str, item: dict[str, Any] | None, fields: list[str],
         names: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """A resource as diff mode shows it: its name, state and the fields the task manages."""
    if item is None:
        return {"name": name, "state": "absent"}
    shown = {f: connectivity.value_of(item, f, names or {}) for f in fields}
    return {"name": name, "id": item["id"], "state": item["state"], **shown}


def named(item: dict[str, Any]) -> str | None:
    """The name a Connector or Link carries (`@name ...`), or None."""
    found = connectivity.untagged(connectivity.description_of(item))
    return found[0] if found else None
