"""onramp.interconnect.link: a Link between two named Connectors, present or absent."""

# Copyright: onramp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: link
short_description: An onramp Link between two of your named Connectors, present or absent
version_added: 0.1.0
description:
  - Orders a Link (your traffic between two of your Connectors, e.g. a VPC and a VNet),
    changes its description or bandwidth in place, or removes it.
  - Found by its name at the head of its description, as C(onramp-client) keeps it. Its ends
    are Connectors named the same way; a Link has no direction (C(a) and C(b) may swap).
  - A Link is ordered once both its Connectors are C(active) (the module waits for them, up
    to O(wait_timeout)); on ends not yet active its check would find no routes and fail it.
  - Remove Links before their Connectors (with O(wait=true); a Link being removed still
    holds its ends).
author: onramp contributors (@onramp)
extends_documentation_fragment:
  - onramp.interconnect.api
options:
  name:
    description: Your name for it, 1-32 of a-z, 0-9 and C(-).
    type: str
    required: true
  state:
    description: C(present) orders it (or changes it in place); C(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  a:
    description: The name of one Connector. Needed to order.
    type: str
  b:
    description: The name of the other Connector. Needed to order.
    type: str
  bandwidth_mbps:
    description: Its bandwidth in Mb/s, at most its slower Connector's. Needed to order; changed in place afterwards.
    type: int
  sla_class:
    description: Its class of service.
    type: str
    choices: [gold, silver, bronze]
  description:
    description: Your text after the name (the two fit in 64 characters); changed in place.
    type: str
  wait:
    description:
      - Wait until the Link is C(active) (after an order or a bandwidth change) or deleted
        (after C(state=absent)); a C(failed) one fails the task.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait (for the Link, and before ordering it, for its Connectors).
    type: int
    default: 1800
attributes:
  check_mode:
    support: full
    description:
      - Says what it would order, change or remove; calls only the API's reads.
      - Ends not made yet (orders of earlier tasks, in check mode) are reported, not an error.
  diff_mode:
    support: full
    description: The Link's name, state and the fields the task gives, before and after.
"""

EXAMPLES = r"""
- name: The VPC and the VNet joined
  onramp.interconnect.link:
    name: vpc-to-vnet
    a: paris-aws
    b: london-azure
    bandwidth_mbps: 500
    sla_class: gold
    description: VPC to VNet
    wait: true
  delegate_to: localhost

- name: Removed, and gone before its Connectors go
  onramp.interconnect.link:
    name: vpc-to-vnet
    state: absent
    wait: true
  delegate_to: localhost
"""

RETURN = r"""
link:
  description: The Link as the API shows it after the task (before, in check mode); null when absent.
  returned: always
  type: dict
  sample: {"id": "8e2d4f60-1a3b-4c5d-8e9f-a0b1c2d3e4f5", "state": "active", "a": "3f1c...", "b": "9d2e..."}
id:
  description: The Link's id; null when absent (or not ordered yet, in check mode).
  returned: always
  type: str
changes:
  description: The fields changed in place, each as [was, now].
  returned: when it existed and differed
  type: dict
  sample: {"bandwidth_mbps": [500, 200]}
"""

from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ..module_utils.interconnect import (  # noqa: E402
    API_OPTIONS,
    WAIT_OPTIONS,
    Interconnect,
    check_description,
    seen,
    tagged,
)

# the API's LinkOrder without `tenant`; `a` and `b` are names here, ids in the API
ORDER: dict[str, dict[str, Any]] = {
    "a": {"type": "str"},
    "b": {"type": "str"},
    "bandwidth_mbps": {"type": "int"},
    "sla_class": {"type": "str", "choices": ["gold", "silver", "bronze"]},
    "description": {"type": "str"},
}
NEEDED = ("a", "b", "bandwidth_mbps")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            **ORDER, **API_OPTIONS, **WAIT_OPTIONS,
        },
        required_together=[("a", "b")],
        supports_check_mode=True,
    )  # fmt: skip
    module.exit_json(**run(module, Interconnect(module)))


def run(module: AnsibleModule, ic: Interconnect) -> dict[str, Any]:
    """The task's result: changed, the Link, and the diff."""
    p = module.params
    name = p["name"]
    check_description(ic, name, p["description"])
    want = {f: p[f] for f in ORDER if p[f] is not None}
    held = ic.held()
    connectors = held["connector"]
    names = {c["id"]: n for n, c in connectors.items()}
    item = held["link"].get(name)
    before = seen("link", name, item, sorted(want), names)
    gone = {"name": name, "state": "absent"}

    if p["state"] == "absent":
        if item is None:
            return {"changed": False, "link": None, "id": None,
                    "diff": {"before": before, "after": before}}  # fmt: skip
        done: dict[str, Any] | None = item
        if not module.check_mode:
            done = ic.remove("link", item)
        return {"changed": True, "link": done, "id": item["id"],
                "diff": {"before": before, "after": gone}}  # fmt: skip

    if item is None:
        if missing := [f for f in NEEDED if f not in want]:
            ic.fail("ONR-CLIENT-002", f"link {name} is not there: ordering one needs "
                    f"{', '.join(NEEDED)}", f"give {', '.join(missing)}", missing[0])  # fmt: skip
        absent = [e for e in "ab" if want[e] not in connectors]
        if module.check_mode:  # its ends may be orders of this play, not made in check mode
            after = {"name": name, "state": "active" if p["wait"] else "allocated", **want}
            said = [f"connector {want[e]} is not there (yet)" for e in absent]
            return {"changed": True, "link": None, "id": None,
                    "msg": "; ".join(said) or "would order it",
                    "diff": {"before": before, "after": after}}  # fmt: skip
        if absent:
            ic.fail("ONR-CLIENT-002", f"link {name}: no connector named {want[absent[0]]!r}",
                    "order it first (onramp.interconnect.connector), or name one of yours",
                    absent[0])  # fmt: skip
        ends = [connectors[want[e]] for e in "ab"]
        for end in ends:  # on ends not yet active the Link's check finds no routes
            if end["state"] != "active":
                ic.wait("connector", end["id"], "active")
        body = {**want, "description": tagged(name, want.get("description")),
                "a": ends[0]["id"], "b": ends[1]["id"]}  # fmt: skip
        made: dict[str, Any] = ic.call(ic.api.link, **body,
                                       idempotency_key=ic.order_key("link", name))  # fmt: skip
        if p["wait"]:
            made = ic.wait("link", made["id"], "active") or made
        return {"changed": True, "link": made, "id": made["id"],
                "diff": {"before": before, "after": seen("link", name, made, sorted(want), names)}}  # fmt: skip

    differ = ic.differences("link", name, item, want, names)
    if p["wait"] and item["state"] != "active":
        item = ic.wait("link", item["id"], "active") or item
    if not differ:
        return {"changed": False, "link": item, "id": item["id"],
                "diff": {"before": before, "after": before}}  # fmt: skip
    after = {**before, **{f: pair[1] for f, pair in differ.items()}}
    done = item
    if not module.check_mode:
        done = ic.update("link", name, item, differ)
        after = seen("link", name, done, sorted(want), names)
    return {"changed": True, "link": done, "id": item["id"], "changes": differ,
            "diff": {"before": before, "after": after}}  # fmt: skip


if __name__ == "__main__":
    main()
