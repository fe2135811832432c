"""The options every module of onramp.interconnect takes: where the API is, the key."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  url:
    description:
      - The onramp API, e.g. C(https://api.example.net).
      - Default from the environment variable E(ONRAMP_URL).
    type: str
  api_key:
    description:
      - The tenant's API key (C(onr_...)).
      - Default from the environment variable E(ONRAMP_KEY); keep it there or in a vault,
        never in the play.
    type: str
requirements:
  - The onramp-interconnect Python package (C(onramp.client)) in the interpreter that runs the
    module on the controller.
notes:
  - "The modules call the API from the controller; run them with C(delegate_to: localhost)
    or in a play on C(localhost) with C(connection: local)."
  - A resource is found by the name at the head of its description (C(@name text)), as
    C(onramp-client) keeps it; resources without one are never changed.
"""
