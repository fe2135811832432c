"""onramp.interconnect.connector: a Connector present or absent, by the customer's name."""

# Copyright: onramp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: connector
short_description: An onramp Connector, present or absent, by your own name
version_added: 0.1.0
description:
  - Orders a Connector (an on-ramp to a cloud provider or your own site) through the onramp
    API, changes its description or bandwidth in place, or removes it.
  - The Connector is found by its name, kept at the head of its description
    (C(@paris-aws Paris to our VPC)) as C(onramp-client) keeps it. Connectors without such a
    name (ordered by hand) are never changed.
  - Other order fields cannot change in place; the module fails with C(ONR-CLIENT-003) when
    one differs (give the Connector a new name, then remove the old one).
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
  onramp:
    description: The on-ramp to order on (C(GET /v1/onramps)), e.g. C(aws-dx-par). Needed to order.
    type: str
  kind:
    description: What kind of Connector, e.g. C(aws-hosted-vif), C(azure-expressroute). Needed to order.
    type: str
  bandwidth_mbps:
    description: Its bandwidth in Mb/s. Needed to order; changed in place afterwards.
    type: int
  description:
    description: Your text after the name (the two fit in 64 characters); changed in place.
    type: str
  prefixes:
    description:
      - What you may announce to us (IPv4 prefixes); changed in place (with O(wait), until the change is active or rolled back).
      - None given, our router accepts no route from you until they are set.
    type: list
    elements: str
  aws_account:
    description: The AWS account (12 digits) that receives a hosted VIF or connection.
    type: str
  azure_service_key:
    description: The ExpressRoute circuit's service key.
    type: str
  gcp_pairing_key:
    description: The Partner Interconnect attachment's pairing key.
    type: str
  ibm_account:
    description: The IBM Cloud account (32 hex digits) that receives the Direct Link gateway.
    type: str
  alibaba_uid:
    description: The Alibaba Cloud account UID (16 digits) that receives the hosted connection.
    type: str
  customer_asn:
    description: Your BGP AS number (enterprise Connectors).
    type: int
  mtu:
    description: The MTU; default the provider's first.
    type: int
  prefix_length:
    description: The peering subnet's length; default the provider's.
    type: int
  vlan:
    description: A VLAN to ask for (the C-tag with QinQ).
    type: int
  s_tag:
    description: With QinQ, the S-tag the provider assigned (Azure, the circuit's sTag).
    type: int
  wait:
    description:
      - Wait until the Connector is C(active) (after an order or a bandwidth change) or
        deleted (after C(state=absent)); a C(failed) one fails the task.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 1800
attributes:
  check_mode:
    support: full
    description: Says what it would order, change or remove; calls only the API's reads.
  diff_mode:
    support: full
    description: The Connector's name, state and the fields the task gives, before and after.
"""

EXAMPLES = r"""
- name: An AWS hosted VIF in Paris
  onramp.interconnect.connector:
    name: paris-aws
    onramp: aws-dx-par
    kind: aws-hosted-vif
    bandwidth_mbps: 500
    aws_account: "123456789012"
    prefixes: [10.100.0.0/24]
    description: Paris to our VPC
    wait: true
  delegate_to: localhost

- name: Its description changed in place
  onramp.interconnect.connector:
    name: paris-aws
    description: Paris to the new VPC
  delegate_to: localhost

- name: Removed (its Links first)
  onramp.interconnect.connector:
    name: paris-aws
    state: absent
    wait: true
  delegate_to: localhost
"""

RETURN = r"""
connector:
  description: The Connector as the API shows it after the task (before, in check mode); null when absent.
  returned: always
  type: dict
  sample: {"id": "3f1c9a52-7d4e-4b8a-9c61-0e2b5d7f8a91", "state": "active", "bandwidth_mbps": 500}
id:
  description: The Connector's id; null when absent (or not ordered yet, in check mode).
  returned: always
  type: str
changes:
  description: The fields changed in place, each as [was, now].
  returned: when it existed and differed
  type: dict
  sample: {"description": ["Paris to our VPC", "Paris to the new VPC"]}
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

# the API's ConnectorOrder without `tenant` (the key says whose): tests/ansible checks this
# against the served document
ORDER: dict[str, dict[str, Any]] = {
    "onramp": {"type": "str"},
    "kind": {"type": "str"},
    "bandwidth_mbps": {"type": "int"},
    "description": {"type": "str"},
    "prefixes": {"type": "list", "elements": "str"},
    "aws_account": {"type": "str"},
    "azure_service_key": {"type": "str", "no_log": False},
    "gcp_pairing_key": {"type": "str", "no_log": False},
    "ibm_account": {"type": "str"},
    "alibaba_uid": {"type": "str"},
    "customer_asn": {"type": "int"},
    "mtu": {"type": "int"},
    "prefix_length": {"type": "int"},
    "vlan": {"type": "int"},
    "s_tag": {"type": "int"},
}
NEEDED = ("onramp", "kind", "bandwidth_mbps")  # to order one


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            **ORDER, **API_OPTIONS, **WAIT_OPTIONS,
        },
        supports_check_mode=True,
    )  # fmt: skip
    module.exit_json(**run(module, Interconnect(module)))


def run(module: AnsibleModule, ic: Interconnect) -> dict[str, Any]:
    """The task's result: changed, the Connector, and the diff."""
    p = module.params
    name = p["name"]
    check_description(ic, name, p["description"])
    want = {f: p[f] for f in ORDER if p[f] is not None}
    item = ic.held()["connector"].get(name)
    before = seen("connector", name, item, sorted(want))
    gone = {"name": name, "state": "absent"}

    if p["state"] == "absent":
        if item is None:
            return {"changed": False, "connector": None, "id": None,
                    "diff": {"before": before, "after": before}}  # fmt: skip
        done: dict[str, Any] | None = item
        if not module.check_mode:
            leaving_links(ic, item["id"])
            done = ic.remove("connector", item)
        return {"changed": True, "connector": done, "id": item["id"],
                "diff": {"before": before, "after": gone}}  # fmt: skip

    if item is None:
        if missing := [f for f in NEEDED if f not in want]:
            ic.fail("ONR-CLIENT-002", f"connector {name} is not there: ordering one needs "
                    f"{', '.join(NEEDED)}", f"give {', '.join(missing)}", missing[0])  # fmt: skip
        if module.check_mode:
            after = {"name": name, "state": "active" if p["wait"] else "allocated", **want}
            return {"changed": True, "connector": None, "id": None,
                    "diff": {"before": before, "after": after}}  # fmt: skip
        body = {**want, "description": tagged(name, want.get("description"))}
        made: dict[str, Any] = ic.call(ic.api.order_connector, **body,
                                       idempotency_key=ic.order_key("connector", name))  # fmt: skip
        if p["wait"]:
            made = ic.wait("connector", made["id"], "active") or made
        return {"changed": True, "connector": made, "id": made["id"],
                "diff": {"before": before, "after": seen("connector", name, made, sorted(want))}}  # fmt: skip

    differ = ic.differences("connector", name, item, want, {})
    if p["wait"] and item["state"] != "active":  # still being made: an update waits for it
        item = ic.wait("connector", item["id"], "active") or item
    if not differ:
        return {"changed": False, "connector": item, "id": item["id"],
                "diff": {"before": before, "after": before}}  # fmt: skip
    after = {**before, **{f: pair[1] for f, pair in differ.items()}}
    done = item
    if not module.check_mode:
        done = ic.update("connector", name, item, differ)
        after = seen("connector", name, done, sorted(want))
    return {"changed": True, "connector": done, "id": item["id"], "changes": differ,
            "diff": {"before": before, "after": after}}  # fmt: skip


def leaving_links(ic: Interconnect, ident: str) -> None:
    """A Link being removed still holds its ends (the API refuses their removal until it is
    gone): wait for those holding this Connector, as onramp-client does."""
    for link in ic.call(lambda: list(ic.api.links())):
        if link["state"] == "decommissioning" and ident in (link["a"], link["b"]):
            ic.wait("link", link["id"], "deleted")


if __name__ == "__main__":
    main()
