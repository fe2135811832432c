"""onramp.interconnect.connector_info: the tenant's Connectors, read only."""

# Copyright: onramp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: connector_info
short_description: Your onramp Connectors, all or one by name
version_added: 0.1.0
description:
  - Lists the Connectors your key may see, or gets one by its name (or id). Changes nothing.
  - Each carries C(name), the name at the head of its description (C(@paris-aws ...)) as
    C(onramp-client) and M(onramp.interconnect.connector) keep it, or null.
author: onramp contributors (@onramp)
extends_documentation_fragment:
  - onramp.interconnect.api
options:
  name:
    description: Only the live Connector of this name (an empty list when there is none).
    type: str
  id:
    description: Only the Connector of this id (or a unique 8-character prefix of it).
    type: str
  state:
    description: Only Connectors in this state, e.g. C(active).
    type: str
attributes:
  check_mode:
    support: full
    description: It only reads.
  diff_mode:
    support: none
    description: It changes nothing.
"""

EXAMPLES = r"""
- name: All my Connectors
  onramp.interconnect.connector_info:
  delegate_to: localhost
  register: mine

- name: One by name
  onramp.interconnect.connector_info:
    name: paris-aws
  delegate_to: localhost
  register: paris

- ansible.builtin.debug:
    msg: "{{ paris.connectors[0].attachments[0].peer_address }}"
  when: paris.connectors | length > 0
"""

RETURN = r"""
connectors:
  description: The Connectors, as the API shows them, each with its C(name) (or null).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "paris-aws", "id": "3f1c9a52-7d4e-4b8a-9c61-0e2b5d7f8a91", "state": "active"}]
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ..module_utils.interconnect import API_OPTIONS, Interconnect, named  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={"name": {"type": "str"}, "id": {"type": "str"}, "state": {"type": "str"},
                       **API_OPTIONS},
        mutually_exclusive=[("name", "id")],
        supports_check_mode=True,
    )  # fmt: skip
    p = module.params
    ic = Interconnect(module)
    if p["id"]:
        found = [ic.call(ic.api.connector, p["id"])]
    elif p["name"]:  # the live one, as the connector module finds it
        held = ic.held()["connector"].get(p["name"])
        found = [] if held is None else [held]
    else:
        found = ic.call(lambda: list(ic.api.connectors(p["state"])))
    if p["state"]:
        found = [c for c in found if c["state"] == p["state"]]
    module.exit_json(changed=False, connectors=[{"name": named(c), **c} for c in found])


if __name__ == "__main__":
    main()
