"""Error catalogue: every onramp error has a code, a one-line reason and what to do next.

The catalogue is data so that the CLI, the API and the docs show the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Every code of the catalogue below, as a type: mypy refuses a code that is not in it.
# tests/store/test_errors.py holds the two equal (it prints this list when they differ).
# fmt: off
Code = Literal[
    "ONR-ALLOC-001", "ONR-ALLOC-002", "ONR-ALLOC-003", "ONR-ALLOC-004", "ONR-ALLOC-005", "ONR-ALLOC-006",
    "ONR-API-001", "ONR-API-002", "ONR-API-003", "ONR-API-004", "ONR-API-005", "ONR-API-006", "ONR-API-007", "ONR-API-008", "ONR-API-009",
    "ONR-CFG-001",
    "ONR-CHG-001", "ONR-CHG-002", "ONR-CHG-003", "ONR-CHG-004", "ONR-CHG-005", "ONR-CHG-006", "ONR-CHG-007",
    "ONR-CFG-002",
    "ONR-CFG-003",
    "ONR-COMP-001", "ONR-COMP-002", "ONR-COMP-003",
    "ONR-CSP-001", "ONR-CSP-002", "ONR-CSP-003", "ONR-CSP-004", "ONR-CSP-005", "ONR-CSP-006", "ONR-CSP-007", "ONR-CSP-008",
    "ONR-DELEG-001", "ONR-DELEG-002",
    "ONR-HOOK-001", "ONR-HOOK-002",
    "ONR-DEPLOY-001", "ONR-DEPLOY-002", "ONR-DEPLOY-003", "ONR-DEPLOY-004", "ONR-DEPLOY-005", "ONR-DEPLOY-006",
    "ONR-INV-000", "ONR-INV-001", "ONR-INV-002", "ONR-INV-003", "ONR-INV-004", "ONR-INV-005", "ONR-INV-006", "ONR-INV-007", "ONR-INV-008", "ONR-INV-009", "ONR-INV-010", "ONR-INV-011", "ONR-INV-012", "ONR-INV-013", "ONR-INV-014",
    "ONR-LAB-001", "ONR-LAB-002", "ONR-LAB-003", "ONR-LAB-004", "ONR-LAB-005", "ONR-LAB-006", "ONR-LAB-007",
    "ONR-PLAN-001", "ONR-PLAN-002", "ONR-PLAN-003", "ONR-PLAN-004", "ONR-PLAN-005",
    "ONR-PLAT-001",
    "ONR-REQ-001", "ONR-REQ-002", "ONR-REQ-003", "ONR-REQ-004", "ONR-REQ-005", "ONR-REQ-006", "ONR-REQ-007", "ONR-REQ-008", "ONR-REQ-009", "ONR-REQ-010", "ONR-REQ-011", "ONR-REQ-012", "ONR-REQ-013", "ONR-REQ-014", "ONR-REQ-015", "ONR-REQ-016",
    "ONR-SSH-001", "ONR-SSH-002",
    "ONR-STATE-001",
    "ONR-STATE-002",
    "ONR-STORE-001",
    "ONR-TOPO-001", "ONR-TOPO-002",
    "ONR-TPL-001",
    "ONR-VAL-001", "ONR-VAL-002", "ONR-VAL-003", "ONR-VAL-004",
]
# fmt: on


@dataclass(frozen=True)
class ErrorSpec:
    code: Code
    title: str
    hint: str


# fmt: off
_SPECS = [  # code, title, what to do
    ErrorSpec("ONR-INV-000", "inventory file unreadable", "fix the YAML syntax or the path in config.yaml"),
    ErrorSpec("ONR-INV-001", "field invalid or missing", "correct the field as the message says"),
    ErrorSpec("ONR-INV-002", "duplicate loopback", "give every router its own /32 loopback"),
    ErrorSpec("ONR-INV-003", "duplicate IS-IS NET", "give every router its own system-id in its NET"),
    ErrorSpec("ONR-INV-004", "core link ends disagree", "make both ends name each other and share one /31 or /30"),
    ErrorSpec("ONR-INV-005", "port used twice", "use each interface once: a core link or one on-ramp port"),
    ErrorSpec("ONR-INV-006", "unknown platform", "use one of the supported platforms"),
    ErrorSpec("ONR-INV-007", "VLAN range outside 1-4094", "set vlan_range to [low, high] with 1 <= low <= high <= 4094"),
    ErrorSpec("ONR-INV-008", "unknown reference", "add the referenced PoP/on-ramp to backbone.yaml or fix the name"),
    ErrorSpec("ONR-INV-009", "duplicate management address", "give every router its own management address"),
    ErrorSpec("ONR-INV-010", "on-ramp redundancy broken", "put the primary and secondary ports of a redundant on-ramp on two different PEs"),
    ErrorSpec("ONR-INV-011", "on-ramp port on a P router", "attach on-ramp ports to PE routers only"),
    ErrorSpec("ONR-INV-012", "key written twice in a YAML mapping", "keep one of the two (YAML would silently use the last): merge them or rename one"),
    ErrorSpec("ONR-INV-013", "inventory source unreachable or refused the request", "check the Nautobot URL, that it answers, and the API token ($NAUTOBOT_TOKEN) and its permissions"),
    ErrorSpec("ONR-INV-014", "no iBGP route reflector", "set route_reflector: true on one or two P routers (unset, a P router is one): every other router peers only with them"),
    ErrorSpec("ONR-LAB-001", "lab needs root and network namespaces", "run as root on Linux (sudo), or use the offline checks"),
    ErrorSpec("ONR-LAB-002", "FRR or sshd not installed", "run 'make deps' (installs frr, openssh-server, iproute2, nftables)"),
    ErrorSpec("ONR-LAB-003", "lab build failed", "read the command and its error above; the lab was removed again"),
    ErrorSpec("ONR-LAB-004", "lab did not converge in time", "check 'onramp lab status' for the adjacency or session that stays down"),
    ErrorSpec("ONR-LAB-005", "lab already running", "run 'onramp lab down' first, or set another lab.name in config.yaml"),
    ErrorSpec("ONR-LAB-006", "lab address plan clash", "use a management subnet that no other lab or interface on this machine uses"),
    ErrorSpec("ONR-REQ-001", "unknown on-ramp", "pick an on-ramp from 'onramp catalogue'"),
    ErrorSpec("ONR-REQ-002", "kind not offered at this on-ramp", "use a kind the on-ramp's provider offers"),
    ErrorSpec("ONR-REQ-003", "missing customer information", "give the field the provider needs"),
    ErrorSpec("ONR-REQ-004", "bandwidth not available", "use one of the provider's bandwidth steps that the on-ramp can carry"),
    ErrorSpec("ONR-REQ-005", "customer ASN refused", "use your own public ASN or a private one (64512-65534, 4200000000-4294967294) that is not the provider's or ours"),
    ErrorSpec("ONR-REQ-006", "VLAN out of range", "pick a VLAN inside the provider's and the port's range, or let onramp choose"),
    ErrorSpec("ONR-REQ-007", "peering subnet size refused", "use a prefix length the provider accepts, or let onramp choose"),
    ErrorSpec("ONR-REQ-008", "field invalid", "correct the field; text that reaches a router may hold letters, digits, spaces and _.,:/()+@=- only"),
    ErrorSpec("ONR-REQ-009", "MTU refused", "use one of the provider's MTUs"),
    ErrorSpec("ONR-REQ-010", "Connectors of another tenant", "link two Connectors of the same tenant"),
    ErrorSpec("ONR-REQ-011", "unknown or unusable Connector or Link", "check the id ('onramp connector list', 'onramp link list') and that it is not deleted"),
    ErrorSpec("ONR-REQ-012", "customer prefixes refused", "announce unicast IPv4 prefixes of /31 or shorter, not a default route or our peering space, within the provider's limit"),
    ErrorSpec("ONR-REQ-013", "unknown tenant", "create it first: onramp tenant add ID NAME"),
    ErrorSpec("ONR-REQ-014", "no router of the customer's to configure for this Connector", "the provider configures its own side (through its API or a ticket): customer-config is for Connectors whose peer is the customer's router (enterprise)"),
    ErrorSpec("ONR-REQ-015", "Connector still in live Links", "delete its Links first ('onramp link delete ID'), then the Connector"),
    ErrorSpec("ONR-REQ-016", "Connector is being taken away or is gone", "link Connectors that are live; order a new Connector if this one is going"),
    ErrorSpec("ONR-ALLOC-001", "no usable port on the on-ramp", "undrain a router, free capacity, or add a port to the on-ramp"),
    ErrorSpec("ONR-ALLOC-002", "no free VLAN on the port", "release a Connector on the port or add a port"),
    ErrorSpec("ONR-ALLOC-003", "no free peering subnet", "release a Connector on the router or widen the provider's pool"),
    ErrorSpec("ONR-ALLOC-004", "taken by a concurrent request", "retry: the next attempt sees what the other request took"),
    ErrorSpec("ONR-ALLOC-005", "no free number in the pool", "release unused Connectors or Links, or widen the pool"),
    ErrorSpec("ONR-ALLOC-006", "requested VLAN already taken", "pick another VLAN, or let onramp choose one"),
    ErrorSpec("ONR-API-001", "missing or unknown API key", "send 'Authorization: Bearer <key>' with a key from 'onramp apikey create'"),
    ErrorSpec("ONR-API-002", "not allowed with this key", "use a key of the tenant that owns the resource"),
    ErrorSpec("ONR-API-003", "too many requests with this key", "slow down: retry after the seconds in Retry-After"),
    ErrorSpec("ONR-API-004", "request body too large", "send at most the size the message names"),
    ErrorSpec("ONR-API-005", "the API server did not start", "read the log above; another process may hold the port"),
    ErrorSpec("ONR-API-006", "no such route or method", "see the API's routes at /v1/docs"),
    ErrorSpec("ONR-API-008", "request unreadable", "send the body as UTF-8 JSON with 'Content-Type: application/json'"),
    ErrorSpec("ONR-API-009", "Idempotency-Key already used for another request", "send the first request's body again to see what it made, or a new Idempotency-Key for a new request"),
    ErrorSpec("ONR-VAL-001", "a validation tool is missing", "install it (make deps installs FRR)"),
    ErrorSpec("ONR-VAL-002", "FRR refuses the rendered config", "fix the template or the intent data the line comes from"),
    ErrorSpec("ONR-VAL-003", "a rendered feature parses back to other intent", "fix the template or its TTP parse-back template so both say the same"),
    ErrorSpec("ONR-VAL-004", "a golden file differs from what the templates render", "review the change, then UPDATE_GOLDEN=1 .venv/bin/pytest tests/templates"),
    ErrorSpec("ONR-COMP-002", "no compliance report yet", "run 'onramp compliance run' (the workers run one every compliance.interval_s)"),
    ErrorSpec("ONR-COMP-003", "no such router", "name routers of the inventory ('onramp inventory show')"),
    ErrorSpec("ONR-COMP-001", "no compliance rules for the platform", "add validation/compliance/<platform>.yaml (features and their line patterns)"),
    ErrorSpec("ONR-API-007", "internal error", "retry (a create with the same Idempotency-Key makes nothing twice); if it persists, tell the operators the time and the route"),
    ErrorSpec("ONR-STATE-001", "state change not allowed", "a Connector or Link moves only along its lifecycle (onramp.core.model.TRANSITIONS): decommission an active one, order a failed one again"),
    ErrorSpec("ONR-STATE-002", "lease lost: another worker took this Connector or Link over", "nothing to do: the worker that holds it now carries on ('onramp worker status' shows who)"),
    ErrorSpec("ONR-TOPO-001", "no topology read yet", "run 'onramp topology show --fresh', or set topology.source and let the workers read it every topology.refresh_s"),
    ErrorSpec("ONR-TOPO-002", "no route reflector speaks BGP-LS", "set topology.source to isis-ssh, or run a route reflector of a platform with BGP-LS (iosxr, junos) configured from templates/bgp_ls/<platform>.j2"),
    ErrorSpec("ONR-STORE-001", "database unavailable", "check store_url in config.yaml and that the database is running"),
    ErrorSpec("ONR-CFG-001", "config file unreadable", "fix config.yaml or point ONRAMP_CONFIG at a valid file"),
    ErrorSpec("ONR-CFG-002", "no config.yaml found", "run 'onramp init' (here) or 'onramp init DIR' and work inside DIR, or pass --config FILE (or set ONRAMP_CONFIG)"),
    ErrorSpec("ONR-CFG-003", "the folder already has files 'onramp init' would write", "choose a new folder, or move the named files away, then run 'onramp init' again"),
    ErrorSpec("ONR-PLAN-001", "plan not found", "list plans with 'onramp plan list'"),
    ErrorSpec("ONR-PLAN-002", "network changed since the plan was made", "make a new plan ('onramp plan connector|link ID') and review its diff"),
    ErrorSpec("ONR-PLAN-003", "plan already applied or superseded", "make a new plan"),
    ErrorSpec("ONR-PLAN-004", "nothing to plan", "the Connector or Link must be allocated (not failed or deleted)"),
    ErrorSpec("ONR-PLAN-005", "confirm timer shorter than the check", "give --revert-in at least the check timeout + 10 s"),
    ErrorSpec("ONR-PLAT-001", "the router's platform cannot take a safe deploy", "order at an on-ramp with ports on another platform, or give the platform what is missing in onramp/network/platforms.py (a NAPALM driver with commit-confirm, a gate parser in validation/parsers/)"),
    ErrorSpec("ONR-TPL-001", "template failed to render", "a template needs a value the intent does not give: fix templates/<feature>/<platform>.j2 or onramp/intent.py"),
    ErrorSpec("ONR-CSP-001", "request refused by the provider", "read the provider's message: fix the request or the allocation it came from"),
    ErrorSpec("ONR-CSP-002", "provider unavailable or throttling after retries", "retry later: the step is idempotent and will find what an earlier attempt made"),
    ErrorSpec("ONR-CSP-003", "provider resource not found", "check the resource id; it may have been deleted on the provider's side"),
    ErrorSpec("ONR-CSP-004", "timed out waiting for the customer or the provider", "ask the customer to accept (or the provider to answer the ticket), then resume: the step is idempotent"),
    ErrorSpec("ONR-CSP-005", "attachment rejected or deleted on the provider's side", "ask the customer why; order again or decommission the Connector"),
    ErrorSpec("ONR-CSP-006", "customer information not found at the provider", "check the service key / pairing key / account with the customer"),
    ErrorSpec("ONR-CSP-007", "ticket not found or already answered", "see 'onramp ticket list' for the open tickets"),
    ErrorSpec("ONR-CSP-008", "provider description invalid", "fix csp/<provider>/constraints.yaml: its adapter package must exist under csp/ and export build(context)"),
    ErrorSpec("ONR-DELEG-001", "no delegation of that provider for this tenant", "register one: onramp tenant delegate PROVIDER (or PUT /v1/tenants/me/delegations/PROVIDER)"),
    ErrorSpec("ONR-DELEG-002", "that account is delegated by another tenant", "an account's credentials belong to one tenant: the other tenant revokes its delegation first"),
    ErrorSpec("ONR-HOOK-001", "webhook URL refused", "give an https:// URL whose host resolves to public addresses only (no loopback, private, link-local or metadata address: the workers would call into our own network)"),
    ErrorSpec("ONR-HOOK-002", "no such webhook for this tenant", "list the tenant's webhooks (GET /v1/webhooks, 'onramp webhook list')"),
    ErrorSpec("ONR-DEPLOY-001", "device unreachable", "check the router's management address and SSH access ('onramp lab status' in the lab)"),
    ErrorSpec("ONR-DEPLOY-002", "commit refused by the device; nothing changed", "read the device's message: fix the template or intent data"),
    ErrorSpec("ONR-DEPLOY-003", "post-commit check failed; rolled back", "the router is as before: check the other side (CSP, customer) and apply a new plan"),
    ErrorSpec("ONR-DEPLOY-005", "no BGP parser for this platform: the gate cannot judge it", "add a parser in validation/parsers/<platform>.py (Genie's shape) or use Genie's own"),
    ErrorSpec("ONR-DEPLOY-006", "a router is busy with another change", "nothing to do: the change goes on when the router is free (or when the other change's lease runs out)"),
    ErrorSpec("ONR-SSH-001", "router's SSH host key unknown", "compare its fingerprint with the router's own out of band, then add it to the known_hosts the inventory names (ssh-keyscan HOST >> FILE), or allow first contact with host_key_policy: accept-new"),
    ErrorSpec("ONR-SSH-002", "router's SSH host key changed", "a reinstalled router or a man in the middle: check the key out of band; only if it is the router's, remove the old line (ssh-keygen -R HOST -f FILE) and add the new one"),
    ErrorSpec("ONR-CHG-001", "the provider does not change this kind's bandwidth in place", "order a new Connector at the new bandwidth, move the Links to it, then delete this one"),
    ErrorSpec("ONR-CHG-002", "bandwidth step not offered for a change", "pick one of the provider's steps the message names (Azure: a circuit is raised in place, never lowered)"),
    ErrorSpec("ONR-CHG-003", "a Link would be faster than one of its Connectors", "raise the Connector first, or lower its Links first (a Link carries at most its slower end's bandwidth)"),
    ErrorSpec("ONR-CHG-004", "not enough capacity left on the port for the new bandwidth", "choose a lower bandwidth, free capacity on the port, or order a Connector on another on-ramp"),
    ErrorSpec("ONR-CHG-005", "only an active Connector or Link changes its bandwidth", "wait until it is active (a change in progress: 'onramp connector show ID'), then ask again"),
    ErrorSpec("ONR-CHG-006", "changed since you read it (If-Match)", "read it again (GET gives its ETag), check the change still makes sense, and send it with the new ETag"),
    ErrorSpec("ONR-CHG-007", "this router's driver cannot read a shaped rate back: the change's gate cannot judge it", "only napalm_frr reads rates (tc, through netdev); on other platforms read the policy-map counters by hand"),
    ErrorSpec("ONR-LAB-007", "no traffic between the clouds' hosts", "check the Link's routes ('show bgp vrf all' on its PEs) and the lab ('onramp lab status')"),
    ErrorSpec("ONR-DEPLOY-004", "rollback did not restore the previous config", "compare the router with 'onramp plan' output and fix by hand: the router differs from both plan and backup"),
]
# fmt: on

CATALOGUE: dict[Code, ErrorSpec] = {s.code: s for s in _SPECS}


class OnrampError(Exception):
    """An error a user can act on: `ONR-XXX-NNN: reason -> what to do`."""

    def __init__(
        self, code: Code, reason: str, hint: str | None = None, field: str | None = None
    ) -> None:
        spec = CATALOGUE[code]
        self.code = code
        self.reason = reason
        self.hint = hint or spec.hint
        self.field = field
        where = f" [{field}]" if field else ""
        super().__init__(f"{code}{where}: {reason} -> {self.hint}")

    def __reduce__(self) -> tuple[type[OnrampError], tuple[Code, str, str, str | None]]:
        # picklable, so it crosses process boundaries (Celery) as itself
        return (OnrampError, (self.code, self.reason, self.hint, self.field))

    def as_dict(self) -> dict[str, str]:
        out = {"code": self.code, "reason": self.reason, "hint": self.hint}
        return {**out, "field": self.field} if self.field else out
