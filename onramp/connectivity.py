"""`onramp-client`: a tenant's connectivity as a file, planned and applied through the API.

    export ONRAMP_URL=https://api.example.net ONRAMP_KEY=onr_...   # the tenant's key
    onramp-client plan -f connectivity.yaml [--detailed-exitcode] [--json]
    onramp-client apply -f connectivity.yaml [--wait] [--json]

The file names Connectors and Links by the customer's own names (a Link names its two
Connectors); the API keeps the name at the head of the description, `@<name> <text>`, so
only what carries such a name is ever changed or deleted here. `plan` compares the file
with what the API holds for the key's tenant; `apply` creates Connectors before the Links
that use them (waiting for new ones to be active first), deletes Links before their
Connectors (waiting for a Link to be gone before its ends go), and changes description, bandwidth and prefixes in place where the server
offers updates. A second apply finds nothing to do.

Exit codes, for CI: 0 nothing to do or all done; 1 an error (the file, the API, a failed
resource, a change the server cannot make); 2 `plan --detailed-exitcode` with changes.

A customer's tool: it talks only to the public API (`onramp.client`), nothing else of onramp.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import requests
import yaml

from onramp.client import ApiError, Client

Kind = Literal["connector", "link"]
Action = Literal["create", "change", "delete"]
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
TAG = re.compile(r"^@([a-z0-9][a-z0-9-]{0,31})(?: (.*))?$")  # "@paris-aws Paris to our VPC"
DESCRIPTION_MAX = 64  # the API's limit on a description, name included
GONE = {"deleted", "failed", "decommissioning"}  # no longer what the file describes
# what the server may change in place (PATCH); any other field differing needs a new name
KINDS: tuple[Kind, Kind] = ("connector", "link")  # the order of creates; deletes: reversed
IN_PLACE: dict[Kind, set[str]] = {
    "connector": {"description", "bandwidth_mbps", "prefixes"},
    "link": {"description", "bandwidth_mbps"},
}
TOP_LEVEL = {"onramp", "kind", "bandwidth_mbps", "sla_class", "a", "b"}  # else in `request`


def fault(code: str, reason: str, hint: str, where: str | None = None) -> ApiError:
    """An error of this tool (status 0: not an HTTP answer), in the API's error shape."""
    return ApiError(0, {"code": code, "reason": reason, "hint": hint, "field": where})


def tagged(name: str, text: str) -> str:
    return f"@{name} {text}" if text else f"@{name}"


def untagged(description: str) -> tuple[str, str] | None:
    """(name, text) of a description written by this tool; None: not managed here."""
    m = TAG.match(description or "")
    return (m[1], m[2] or "") if m else None


@dataclass
class Change:
    action: Action
    kind: Kind
    name: str
    id: str | None = None  # the API's id (changes and deletes; creates once made)
    fields: dict[str, Any] = field(
        default_factory=dict
    )  # create: the order; change: {f: [was, to]}
    result: str | None = None  # apply: created, changed, deleted, active, or what went wrong
    in_place: bool = False  # a change the workers carry out (modifying): it may roll back

    def line(self) -> str:
        mark = {"create": "+", "change": "~", "delete": "-"}[self.action]
        if self.action == "change":
            what = ", ".join(f"{f}: {was!r} -> {to!r}" for f, (was, to) in self.fields.items())
        elif self.action == "create":
            what = ", ".join(f"{f}={v}" for f, v in self.fields.items() if f != "description")
        else:
            what = f"id {self.id}"
        done = f"  [{self.result}]" if self.result else ""
        return f"  {mark} {self.kind} {self.name}: {what}{done}"


# ---------------------------------------------------------------------------- the file
def load(path: Path, order_fields: dict[Kind, set[str]]) -> dict[Kind, dict[str, dict[str, Any]]]:
    """The file, checked: names, known fields (the API's order schemas), Links' ends among
    the file's Connectors, descriptions that fit with their name."""
    where = str(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise fault("ONR-CLIENT-002", f"{where}: {exc}", "give a readable YAML file") from exc
    if not isinstance(data, dict) or set(data) - {"connectors", "links"}:
        raise fault("ONR-CLIENT-002", f"{where}: top-level keys are connectors and links",
                    "see the README's declarative file example")  # fmt: skip
    out: dict[Kind, dict[str, dict[str, Any]]] = {"connector": {}, "link": {}}
    for kind in KINDS:
        key = f"{kind}s"
        items = data.get(key) or {}
        if not isinstance(items, dict):
            raise fault(
                "ONR-CLIENT-002", f"{key}: a mapping of name to fields", "see the README", key
            )
        for name, spec in items.items():
            at = f"{key}.{name}"
            if not isinstance(name, str) or not NAME.match(name):
                raise fault("ONR-CLIENT-002", f"{at}: a name is 1-32 of a-z, 0-9 and '-'",
                            "rename it", at)  # fmt: skip
            if not isinstance(spec, dict):
                raise fault("ONR-CLIENT-002", f"{at}: a mapping of fields", "see the README", at)
            if unknown := set(spec) - order_fields[kind]:
                raise fault("ONR-CLIENT-002", f"{at}: unknown field(s) {sorted(unknown)}",
                            f"known: {sorted(order_fields[kind])}", at)  # fmt: skip
            text = str(spec.get("description", ""))
            if len(tagged(name, text)) > DESCRIPTION_MAX:
                raise fault("ONR-CLIENT-002", f"{at}: '@{name} ' and the description exceed "
                            f"{DESCRIPTION_MAX} characters", "shorten the description", at)  # fmt: skip
            out[kind][name] = {**spec, "description": text}
    for name, spec in out["link"].items():
        for end in ("a", "b"):
            if spec.get(end) not in out["connector"]:
                raise fault("ONR-CLIENT-002", f"links.{name}.{end}: {spec.get(end)!r} is not a "
                            "Connector of this file", "name a Connector of the file",
                            f"links.{name}.{end}")  # fmt: skip
    return out


def order_fields(api: Client) -> dict[Kind, set[str]]:
    """What an order may say, as the served document declares it (the tenant comes from the
    key, a Link's ends from the file's names)."""
    r = api.http.get(api.url + "/v1/openapi.json", timeout=api.timeout)
    r.raise_for_status()
    schemas = r.json()["components"]["schemas"]
    props = {k: set(schemas[s]["properties"]) - {"tenant"}
             for k, s in (("connector", "ConnectorOrder"), ("link", "LinkOrder"))}  # fmt: skip
    return {"connector": props["connector"], "link": props["link"]}


# ---------------------------------------------------------------------------- what is
def held(api: Client) -> dict[Kind, dict[str, dict[str, Any]]]:
    """The tenant's live Connectors and Links that carry a name of this tool, by name."""
    out: dict[Kind, dict[str, dict[str, Any]]] = {"connector": {}, "link": {}}
    listed: list[tuple[Kind, Iterable[dict[str, Any]]]] = [
        ("connector", api.connectors()), ("link", api.links())]  # fmt: skip
    for kind, items in listed:
        for item in items:
            named = untagged(description_of(item))
            if item["state"] in GONE or named is None:
                continue
            if named[0] in out[kind]:
                raise fault("ONR-CLIENT-004", f"two live {kind}s are named {named[0]}: "
                            f"{out[kind][named[0]]['id']} and {item['id']}",
                            "delete one of them ('onramp-client' changes neither meanwhile)")  # fmt: skip
            out[kind][named[0]] = item
    return out


def description_of(item: dict[str, Any]) -> str:
    # a Link shows its description; a Connector what was ordered (unless the server shows it)
    return str(item.get("description", item.get("request", {}).get("description", "")))


def value_of(item: dict[str, Any], f: str, names: dict[str, str]) -> Any:
    if f == "description":
        return (untagged(description_of(item)) or ("", ""))[1]
    if f in ("a", "b"):
        return names.get(item[f], item[f])
    return item.get(f) if f in TOP_LEVEL else item.get("request", {}).get(f)


def same(want: Any, have: Any) -> bool:
    """Equal as the API would hold them: numbers and text alike, lists as sets."""
    if isinstance(want, list) or isinstance(have, list):
        return sorted(map(str, want or [])) == sorted(map(str, have or []))
    return str(want).lower() == str(have).lower() if have is not None else want in (None, "")


# ---------------------------------------------------------------------------- plan
def plan(want: dict[Kind, dict[str, dict[str, Any]]],
         have: dict[Kind, dict[str, dict[str, Any]]]) -> list[Change]:  # fmt: skip
    """What would make the API hold the file: creates (Connectors first), changes, deletes
    (Links first)."""
    names = {c["id"]: n for n, c in have["connector"].items()}
    creates: list[Change] = []
    changes: list[Change] = []
    for kind in KINDS:
        for name, spec in want[kind].items():
            item = have[kind].get(name)
            if item is None:
                creates.append(Change("create", kind, name, fields=spec))
                continue
            differ = {f: [value_of(item, f, names), v] for f, v in spec.items()
                      if not same(v, value_of(item, f, names))}  # fmt: skip
            if kind == "link" and {spec["a"], spec["b"]} == {
                value_of(item, e, names) for e in "ab"
            }:
                differ.pop("a", None), differ.pop("b", None)  # a Link has no direction
            if fixed := sorted(set(differ) - IN_PLACE[kind]):
                raise fault("ONR-CLIENT-003", f"{kind} {name}: {', '.join(fixed)} cannot change "
                            "in place", f"give it a new name: apply creates the new {kind} and "
                            "deletes the old one", f"{kind}s.{name}.{fixed[0]}")  # fmt: skip
            if differ:
                changes.append(Change("change", kind, name, item["id"], differ))
    deletes = [Change("delete", kind, name, item["id"])
               for kind in reversed(KINDS) for name, item in have[kind].items()
               if name not in want[kind]]  # fmt: skip
    return creates + changes + deletes


# ---------------------------------------------------------------------------- apply
def apply(api: Client, changes: list[Change], have: dict[Kind, dict[str, dict[str, Any]]],
          wait: bool, timeout: float, say: Callable[[str], None]) -> bool:  # fmt: skip
    """Make the changes in dependency order; True when all took effect. Stops at the first
    refused create or delete (a rerun goes on from there); an update the server cannot make
    is recorded and the rest goes on."""
    ids = {n: c["id"] for n, c in have["connector"].items()}
    run = uuid.uuid4().hex[:12]  # an order retried within this run makes nothing twice
    ok = True
    for c in changes:
        if c.action == "create":
            body = {**c.fields, "description": tagged(c.name, c.fields["description"])}
            key = f"onramp-client-{run}-{c.kind}-{c.name}"
            if c.kind == "connector":
                c.id = ids[c.name] = api.order_connector(idempotency_key=key, **body)["id"]
            else:  # on ends not yet active the Link's gate finds no routes and it fails
                for end in changes:
                    if end.kind == "connector" and end.action == "create" and \
                            end.name in (body["a"], body["b"]) and end.result != "active":  # fmt: skip
                        say(
                            f"  waiting for connector {end.name} to be active: link {c.name} needs it"
                        )
                        settle(api, end, "active", timeout)
                body["a"], body["b"] = ids[body["a"]], ids[body["b"]]
                c.id = api.link(idempotency_key=key, **body)["id"]
            c.result = "created"
        elif c.action == "change":
            c.result = update(api, c)
            ok = ok and c.result == "changed"
        else:
            if c.kind == "connector":  # its Links must be gone, not only leaving
                for lk in changes:
                    if lk.action == "delete" and lk.kind == "link" and c.id in ends(have, lk.name):
                        say(f"  waiting for link {lk.name} to be deleted: it holds {c.name}")
                        settle(api, lk, "deleted", timeout)
            api.delete(c.kind, str(c.id))
            c.result = "deleting"
        say(c.line())
    if wait:
        for c in changes:
            if c.action == "delete" and c.result != "deleted":
                settle(api, c, "deleted", timeout)
            elif c.result in ("created", "changed"):
                settle(api, c, "active", timeout)
                ok = ok and c.result == "active"
            say(c.line())
    return ok


def ends(have: dict[Kind, dict[str, dict[str, Any]]], link: str) -> set[str]:
    return {have["link"][link]["a"], have["link"][link]["b"]}


def settle(api: Client, c: Change, until: str, timeout: float) -> None:
    try:
        item = api.wait(c.kind, str(c.id), until=until, timeout=timeout, poll=2)
    except ApiError as exc:
        if not (until == "deleted" and exc.status == 404):  # gone from the lists already
            c.result = exc.reason
            raise
        item = {}
    # a change in place that failed ends active too, as it was: the file is not what it holds
    last = item.get("change") or {}
    if c.in_place and last.get("outcome") == "rolled_back":
        c.result = f"rolled back: {last.get('reason')}"
        return
    c.result = until


def update(api: Client, c: Change) -> str:
    """The server's update (PATCH) with the fields that differ; what happened, in words."""
    call = getattr(api, f"update_{c.kind}", None)
    if call is None:
        return "update not supported by this client: upgrade onramp-client"
    fields = {f: (tagged(c.name, to) if f == "description" else to)
              for f, (_, to) in c.fields.items()}  # fmt: skip
    try:
        c.in_place = call(c.id, **fields).get("state") == "modifying"
    except TypeError:  # the client's update takes fewer fields than the file changes
        return f"this client cannot update {', '.join(sorted(fields))}"
    except ApiError as exc:
        if exc.status in (404, 405):
            return "update not supported by this server"
        return f"{exc.code}: {exc.reason}"
    return "changed"


# ---------------------------------------------------------------------------- the command
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="onramp-client", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default=os.environ.get("ONRAMP_URL"),
                   help="the API (default: $ONRAMP_URL)")  # fmt: skip
    p.add_argument(
        "--key-env",
        default="ONRAMP_KEY",
        help="the variable holding the tenant's API key (never on the command line)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    for name, what in (("plan", "show what apply would do"), ("apply", "make it so")):
        s = sub.add_parser(name, help=what)
        s.add_argument("-f", "--file", type=Path, default=Path("connectivity.yaml"))
        s.add_argument("--json", action="store_true", help="one JSON document on stdout")
        if name == "plan":
            s.add_argument("--detailed-exitcode", action="store_true",
                           help="exit 2 when there are changes (0: none, 1: error)")  # fmt: skip
        else:
            s.add_argument("--wait", action="store_true",
                           help="until each is active (or deleted); a failed one exits 1")  # fmt: skip
            s.add_argument("--timeout", type=float, default=1800, help="seconds per resource")
    a = p.parse_args(argv)
    key = os.environ.get(a.key_env, "")
    if not a.url or not key:
        print(f"onramp-client: set --url (or ONRAMP_URL) and {a.key_env}", file=sys.stderr)
        return 1

    changes: list[Change] = []

    def say(line: str) -> None:  # fmt: skip
        if not a.json:
            print(line, flush=True)

    try:
        api = Client(a.url, key)
        want = load(a.file, order_fields(api))
        have = held(api)
        changes = plan(want, have)
        counts = {x: sum(c.action == x for c in changes) for x in ("create", "change", "delete")}
        if a.command == "plan":
            say(
                "\n".join(c.line() for c in changes)
                or "No changes: the API holds what the file says."
            )
            say(f"Plan: {counts['create']} to create, {counts['change']} to change, "
                f"{counts['delete']} to delete.")  # fmt: skip
            done = True
        else:
            say("Nothing to do: the API holds what the file says." if not changes else
                f"Applying: {counts['create']} to create, {counts['change']} to change, "
                f"{counts['delete']} to delete.")  # fmt: skip
            done = apply(api, changes, have, a.wait, a.timeout, say)
            if not done:
                say("Not everything took effect: see the lines above in [brackets].")
    except (ApiError, requests.RequestException) as exc:
        err = ({"code": exc.code, "reason": exc.reason, "hint": exc.hint, "field": exc.field}
               if isinstance(exc, ApiError) else
               {"code": "ONR-CLIENT-006", "reason": f"the API at {a.url}: {exc}",
                "hint": "check the URL and that the API is up"})  # fmt: skip
        if a.json:
            print(json.dumps({"changes": [asdict(c) for c in changes], "error": err}, indent=2))
        else:
            print(f"{err['code']}: {err['reason']}\n  -> {err['hint']}", file=sys.stderr)
        return 1
    if a.json:
        print(json.dumps({"changes": [asdict(c) for c in changes], **counts, "done": done},
                         indent=2))  # fmt: skip
    if not done:
        return 1
    return 2 if a.command == "plan" and a.detailed_exitcode and changes else 0


if __name__ == "__main__":
    sys.exit(main())
