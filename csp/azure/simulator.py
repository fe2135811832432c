"""Azure ExpressRoute simulator, provider side: an ARM-shaped HTTP server that the
unmodified azure-mgmt-network client works against (`base_url` of this server, a dummy
token, HTTPS enforcement off for the local endpoint; see csp.azure.adapter.network).

What it serves (api-version required, a Bearer token required, JSON bodies, errors as
ARM's {"error": {"code", "message"}}):
- expressRouteCrossConnections: list (optionally `$filter=name eq '<service key>'`), get,
  and PUT to change `serviceProviderProvisioningState` (NotProvisioned -> Provisioning ->
  Provisioned; Deprovisioning -> NotProvisioned, refused while a peering exists),
- their peerings: list, get, PUT (AzurePrivatePeering only), DELETE,
- long-running operations the ARM way: PUT/DELETE answer with an `Azure-AsyncOperation`
  URL polled until "Succeeded" (after `Behaviour.provisioning_s`).

The customer's part on Azure comes first: they create the circuit and hand over its
service key (`create_circuit`, or POST /_sim/circuits); the cross-connection is named by
that key in resource group `CrossConnection-<location>`, with the S-tag Microsoft chose.
A private peering that is provisioned brings up both cloud-side BGP sessions in the lab
(primary and secondary ports, S-tag outer, the peering's vlanId inner); Behaviour's
`down_after_s` disables the peering later, as a customer (or an outage) would.

Our port pairs come from the inventory (`from_inventory`; without one, the repository's):
the primary and secondary ports of each Azure on-ramp, named by their `csp_connection`,
at the on-ramp's region (`csp_region`) and peering location (`csp_location`); a circuit is
ordered at one peering location. The partner subscription is config.yaml's
`csp.azure.account` when set.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Any
from urllib.parse import parse_qs, urlsplit

from onramp.core.errors import OnrampError
from onramp.csp.simulator import (
    Behaviour,
    Clock,
    CloudPeer,
    Faults,
    LabHook,
    ProviderPort,
    QuietHandler,
    default_ports,
    provider_ports,
    serve_http,
    steer,
)
from onramp.network.inventory import Backbone

PARTNER_SUBSCRIPTION = "5c0a1b7e-0000-4000-8000-0000000a2b1e"  # onramp's provider subscription
AZURE_ASN = 12076
RESERVED_ASNS = {12076, 65515, 65516, 65517, 65518, 65519, 65520}
BANDWIDTHS = (50, 100, 200, 500, 1000, 2000, 5000, 10000)
PROVIDER = "/providers/Microsoft.Network"
XC = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)(?:/resourceGroups/(?P<rg>[^/]+))?"
    r"/providers/Microsoft\.Network/expressRouteCrossConnections"
    r"(?:/(?P<name>[^/]+)(?P<peerings>/peerings(?:/(?P<peering>[^/]+))?)?)?$"
)
CIRCUIT = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Network/expressRouteCircuits/(?P<name>[^/]+)$"
)
PROVIDER_NAME = "onramp"  # our name in Azure's list of ExpressRoute service providers
OPERATION = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Network/locations/[^/]+"
    r"/operations/(?P<op>[^/]+)$"
)


class ArmError(Exception):
    """An ARM error answer: HTTP status, error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


@dataclass
class Answer:
    status: int
    body: dict[str, Any] | None
    operation: str | None = None  # an Azure-AsyncOperation id to poll
    location: str = ""  # the Azure region the operation runs in
    retry_after: int | None = None


@dataclass
class ExpressRoute:
    """The provider's view: one cross-connection per customer circuit on one of our port
    pairs."""

    clock: Clock = field(default_factory=Clock)
    behaviour: Behaviour = field(default_factory=Behaviour)
    faults: Faults = field(default_factory=Faults)
    hook: LabHook | None = None
    subscription: str = PARTNER_SUBSCRIPTION
    ports: tuple[ProviderPort, ...] = field(default_factory=lambda: default_ports("azure"))
    cross_connections: dict[str, dict[str, Any]] = field(default_factory=dict)  # by service key
    operations: dict[str, float] = field(default_factory=dict)  # operation id -> done at
    calls: list[str] = field(default_factory=list)  # "<METHOD> <what>" that did their work
    # a customer's bearer token -> its subscription (a delegation's service principal); any
    # other token is ours, the partner's
    customers: dict[str, str] = field(default_factory=dict)
    circuits: dict[str, dict[str, Any]] = field(default_factory=dict)  # by circuit id

    @property
    def account(self) -> str:
        """What config.yaml's `csp.azure.account` must say: our subscription."""
        return self.subscription

    def create_circuit(
        self, bandwidth_mbps: int = 100, s_tag: int | None = None, peering_location: str = ""
    ) -> str:
        """The customer orders a circuit through us at a peering location (unnamed: our
        first port pair's): returns its service key."""
        with self.clock.lock:
            return self._new_circuit(bandwidth_mbps, s_tag, peering_location)

    def _new_circuit(self, bandwidth_mbps: int, s_tag: int | None, peering_location: str) -> str:
        """Under the clock's lock (the caller's): the circuit's cross-connection, its key."""
        pairs = port_pairs(self.ports)
        at = [pair for pair in pairs if peering_location in ("", pair[0].location)]
        if not at:
            known = sorted({primary.location for primary, _ in pairs})
            raise ArmError(
                400,
                "InvalidPeeringLocation",
                f"no port pair of ours at {peering_location!r}; ours are at {known}",
            )
        primary, secondary = at[0]
        used = {
            x["properties"]["sTag"]
            for x in self.cross_connections.values()
            if x["properties"]["primaryAzurePort"] == primary.connection
        }  # an S-tag is unique per port pair
        if s_tag is None:
            s_tag = min(set(range(100, 4001)) - used)
        elif s_tag in used:
            raise ArmError(
                400,
                "InvalidSTag",
                f"S-tag {s_tag} is in use on {primary.connection}/{secondary.connection}",
            )
        key = str(uuid.uuid4())
        xc_id = (
            f"/subscriptions/{self.subscription}/resourceGroups/"
            f"CrossConnection-{primary.region}{PROVIDER}/expressRouteCrossConnections/{key}"
        )
        circuit = f"/subscriptions/{uuid.uuid4()}/resourceGroups/customer{PROVIDER}"
        self.cross_connections[key] = {
            "name": key,
            "id": xc_id,
            "type": "Microsoft.Network/expressRouteCrossConnections",
            "location": primary.region,
            "etag": _etag(),
            "properties": {
                "primaryAzurePort": primary.connection,
                "secondaryAzurePort": secondary.connection,
                "sTag": s_tag,
                "peeringLocation": primary.location,
                "bandwidthInMbps": bandwidth_mbps,
                "expressRouteCircuit": {"id": f"{circuit}/expressRouteCircuits/er-{key[:8]}"},
                "serviceProviderProvisioningState": "NotProvisioned",
                "serviceProviderNotes": "",
                "provisioningState": "Succeeded",
                "peerings": [],
            },
        }
        return key

    def customer(self, subscription: str, client_id: str) -> str:
        """Register a customer's service principal; returns the bearer token that acts as it."""
        token = f"sim-{client_id}"
        self.customers[token] = subscription
        return token

    def handle(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any], token: str = ""
    ) -> Answer:
        with self.clock.lock:
            self.clock.tick()
            if match := OPERATION.match(path):
                return self._operation(match["sub"], match["op"])
            caller = self.customers.get(token)  # None: the partner
            if match := CIRCUIT.match(path):
                if caller != match["sub"]:  # only the subscription's owner makes its circuits
                    raise ArmError(403, "AuthorizationFailed",
                                   f"the client has no access to subscription {match['sub']}")  # fmt: skip
                answer = self._circuit(method, match, body)
                if method != "GET":
                    self.calls.append(f"{method} circuit")
                return answer
            if caller is not None:  # a customer never touches our cross-connections
                raise ArmError(403, "AuthorizationFailed",
                               "the client has no access to the provider's cross-connections")  # fmt: skip
            match = XC.match(path)
            if match is None:
                raise ArmError(404, "InvalidResourceType", f"{method} {path} is not simulated")
            if match["sub"] != self.subscription:
                raise ArmError(404, "SubscriptionNotFound", f"subscription {match['sub']} unknown")
            match self.faults.before():
                case "throttle":
                    raise ArmError(429, "TooManyRequests", "Too many requests, retry later")
                case "fail":
                    raise ArmError(500, "InternalServerError", "internal error")
            answer = self._route(method, match, query, body)
            if method != "GET":
                self.calls.append(f"{method} {match['peering'] or 'crossConnection'}")
            if self.faults.after():
                raise ArmError(500, "InternalServerError", "internal error after the work was done")
            return answer

    def _route(
        self, method: str, match: re.Match[str], query: dict[str, str], body: dict[str, Any]
    ) -> Answer:
        name, peering = match["name"], match["peering"]
        if name is None and method == "GET":
            return Answer(200, {"value": self._list(match["rg"], query.get("$filter"))})
        xc = self._cross_connection(match["rg"], name)
        if match["peerings"] is None:
            if method == "GET":
                return Answer(200, xc)
            if method == "PUT":
                return self._provision(xc, body)
        elif peering is None:
            if method == "GET":
                return Answer(200, {"value": xc["properties"]["peerings"]})
        elif method == "GET":
            return Answer(200, self._peering(xc, peering))
        elif method == "PUT":
            return self._put_peering(xc, peering, body)
        elif method == "DELETE":
            return self._delete_peering(xc, peering)
        raise ArmError(405, "MethodNotAllowed", f"{method} is not simulated here")

    # cross-connections --------------------------------------------------
    def _list(self, rg: str | None, odata: str | None) -> list[dict[str, Any]]:
        wanted = re.fullmatch(r"name eq '([^']+)'", odata.strip()) if odata else None
        if odata and wanted is None:
            raise ArmError(400, "InvalidFilter", f"filter {odata!r}: only name eq '<key>'")
        return [
            x
            for key, x in self.cross_connections.items()
            if (rg is None or f"/resourceGroups/{rg}/" in x["id"])
            and (wanted is None or key == wanted[1])
        ]

    def _cross_connection(self, rg: str | None, name: str) -> dict[str, Any]:
        xc = self.cross_connections.get(name)
        if xc is None or f"/resourceGroups/{rg}/" not in xc["id"]:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Network/expressRouteCrossConnections/{name}' under "
                f"resource group '{rg}' was not found.",
            )
        return xc

    def _provision(self, xc: dict[str, Any], body: dict[str, Any]) -> Answer:
        props = xc["properties"]
        wanted = (body.get("properties") or {}).get("serviceProviderProvisioningState")
        current = props["serviceProviderProvisioningState"]
        if "serviceProviderNotes" in (body.get("properties") or {}):
            props["serviceProviderNotes"] = body["properties"]["serviceProviderNotes"]
        steps = {
            ("NotProvisioned", "Provisioned"): ("Provisioning", "Provisioned"),
            ("Provisioned", "NotProvisioned"): ("Deprovisioning", "NotProvisioned"),
        }
        on_its_way = {"Provisioning": "Provisioned", "Deprovisioning": "NotProvisioned"}
        if wanted in (None, current) or on_its_way.get(current) == wanted:
            return Answer(200, xc)  # already so, or on its way (a retried PUT): no new operation
        if (current, wanted) not in steps:
            raise ArmError(
                409, "AnotherOperationInProgress", f"{xc['name']} is {current}, not {wanted}"
            )
        if wanted == "NotProvisioned" and props["peerings"]:
            raise ArmError(
                400,
                "CrossConnectionHasPeerings",
                f"{xc['name']}: delete its peerings before de-provisioning",
            )
        transient, final = steps[(current, wanted)]
        props["serviceProviderProvisioningState"] = transient
        props["provisioningState"] = "Updating"

        def done() -> None:
            props["serviceProviderProvisioningState"] = final
            props["provisioningState"] = "Succeeded"
            xc["etag"] = _etag()

        return self._start(xc, done, xc["location"])

    # peerings ----------------------------------------------------------
    def _peering(self, xc: dict[str, Any], name: str) -> dict[str, Any]:
        for peering in xc["properties"]["peerings"]:
            if peering["name"] == name:
                return peering  # type: ignore[no-any-return]
        raise ArmError(404, "NotFound", f"peering {name} of {xc['name']} not found")

    def _put_peering(self, xc: dict[str, Any], name: str, body: dict[str, Any]) -> Answer:
        props = xc["properties"]
        if props["serviceProviderProvisioningState"] != "Provisioned":
            raise ArmError(
                400,
                "ServiceProviderNotProvisioned",
                f"{xc['name']} is {props['serviceProviderProvisioningState']}: set it "
                "Provisioned before configuring peerings",
            )
        given = body.get("properties") or {}
        _check_private_peering(name, given)
        existing = next((p for p in props["peerings"] if p["name"] == name), None)
        peering: dict[str, Any] = {
            "name": name,
            "id": f"{xc['id']}/peerings/{name}",
            "etag": _etag(),
            "properties": {
                "peeringType": name,
                "state": given.get("state", "Enabled"),
                "azureASN": AZURE_ASN,
                "peerASN": given["peerASN"],
                "primaryPeerAddressPrefix": given["primaryPeerAddressPrefix"],
                "secondaryPeerAddressPrefix": given["secondaryPeerAddressPrefix"],
                "primaryAzurePort": props["primaryAzurePort"],
                "secondaryAzurePort": props["secondaryAzurePort"],
                "vlanId": given["vlanId"],
                "provisioningState": "Updating",
                "gatewayManagerEtag": "",
                "lastModifiedBy": "ServiceProvider",
            },
        }
        if given.get("sharedKey"):
            peering["properties"]["sharedKey"] = given["sharedKey"]
        if existing is not None:
            if existing["properties"]["provisioningState"] == "Succeeded":
                self._links(xc, existing, up=False)
            props["peerings"].remove(existing)
        props["peerings"].append(peering)

        def done() -> None:
            peering["properties"]["provisioningState"] = "Succeeded"
            if peering["properties"]["state"] == "Enabled":
                self._links(xc, peering, up=True)
            if self.behaviour.down_after_s is not None:
                self.clock.timeline(peering["id"]).at(
                    self.clock.now() + self.behaviour.down_after_s,
                    lambda: self._disable(xc, peering),
                )

        answer = self._start(peering, done, xc["location"])
        answer.status = 200 if existing else 201
        return answer

    def _delete_peering(self, xc: dict[str, Any], name: str) -> Answer:
        try:
            peering = self._peering(xc, name)
        except ArmError:
            return Answer(204, None)  # ARM: deleting what is not there is done
        was_up = (
            peering["properties"]["provisioningState"] == "Succeeded"
            and peering["properties"]["state"] == "Enabled"
        )
        peering["properties"]["provisioningState"] = "Deleting"
        self.clock.timeline(peering["id"]).clear()

        def done() -> None:
            if peering in xc["properties"]["peerings"]:
                xc["properties"]["peerings"].remove(peering)
            if was_up:
                self._links(xc, peering, up=False)

        answer = self._start(peering, done, xc["location"])
        answer.status, answer.body = 202, None
        return answer

    def _disable(self, xc: dict[str, Any], peering: dict[str, Any]) -> None:
        if peering["properties"]["state"] == "Enabled" and peering in xc["properties"]["peerings"]:
            peering["properties"]["state"] = "Disabled"
            self._links(xc, peering, up=False)

    def _links(self, xc: dict[str, Any], peering: dict[str, Any], up: bool) -> None:
        if self.hook is None:
            return
        props = peering["properties"]
        for port, prefix in (
            (props["primaryAzurePort"], props["primaryPeerAddressPrefix"]),
            (props["secondaryAzurePort"], props["secondaryPeerAddressPrefix"]),
        ):
            net = IPv4Network(prefix)
            peer = CloudPeer(
                provider="azure",
                connection=port,
                vlan=xc["properties"]["sTag"],
                inner_vlan=props["vlanId"],
                address=f"{net[2]}/{net.prefixlen}",  # Microsoft's: the second usable
                neighbor=str(net[1]),  # the provider's: the first usable
                remote_as=props["peerASN"],
                password=props.get("sharedKey"),
            )
            (self.hook.up if up else self.hook.down)(peer)

    # long-running operations --------------------------------------------
    # the customer's circuits -------------------------------------------------
    def _circuit(self, method: str, match: re.Match[str], body: dict[str, Any]) -> Answer:
        cid = f"/subscriptions/{match['sub']}/resourceGroups/{match['rg']}{PROVIDER}/expressRouteCircuits/{match['name']}"
        found = self.circuits.get(cid)
        if method == "GET":
            if found is None:
                raise ArmError(404, "ResourceNotFound", f"circuit {match['name']} not found")
            return Answer(200, self._circuit_view(found))
        if method == "DELETE":
            if found is None:
                return Answer(204, None)
            xc = self.cross_connections[found["properties"]["serviceKey"]]
            if xc["properties"]["serviceProviderProvisioningState"] != "NotProvisioned":
                raise ArmError(400, "CircuitProvisioned", "the provider still has the circuit "
                               "provisioned: it must deprovision it first")  # fmt: skip
            del self.circuits[cid]
            del self.cross_connections[found["properties"]["serviceKey"]]
            return Answer(200, None)
        if method != "PUT":
            raise ArmError(405, "MethodNotAllowed", f"{method} is not simulated here")
        if found is None:  # a PUT again is the same circuit (ARM's idempotent create)
            spp = (body.get("properties") or {}).get("serviceProviderProperties") or {}
            if spp.get("serviceProviderName") != PROVIDER_NAME:
                raise ArmError(400, "InvalidServiceProviderName",
                               f"service provider {spp.get('serviceProviderName')!r} unknown")  # fmt: skip
            if spp.get("bandwidthInMbps") not in BANDWIDTHS:
                raise ArmError(400, "InvalidBandwidth", f"bandwidth {spp.get('bandwidthInMbps')}")
            key = self._new_circuit(
                int(spp["bandwidthInMbps"]), None, str(spp.get("peeringLocation", ""))
            )
            self.cross_connections[key]["properties"]["expressRouteCircuit"] = {"id": cid}
            found = {"id": cid, "name": match["name"], "type": "Microsoft.Network/expressRouteCircuits",
                     "location": body.get("location", ""), "etag": _etag(),
                     "sku": body.get("sku") or {"name": "Standard_MeteredData", "tier": "Standard",
                                                "family": "MeteredData"},
                     "properties": {"serviceKey": key, "serviceProviderProperties": spp,
                                    "circuitProvisioningState": "Enabled",
                                    "provisioningState": "Succeeded"}}  # fmt: skip
            self.circuits[cid] = found
        return Answer(200, self._circuit_view(found))

    def _circuit_view(self, circuit: dict[str, Any]) -> dict[str, Any]:
        xc = self.cross_connections[circuit["properties"]["serviceKey"]]
        state = xc["properties"]["serviceProviderProvisioningState"]
        return circuit | {"properties": circuit["properties"]
                          | {"serviceProviderProvisioningState": state}}  # fmt: skip

    def _start(self, resource: dict[str, Any], done: Callable[[], None], location: str) -> Answer:
        op = str(uuid.uuid4())
        due = self.clock.now() + self.behaviour.provisioning_s
        self.operations[op] = due
        self.clock.timeline(f"op-{op}").at(due, done)
        self.clock.tick()  # a zero delay is done before the answer, as ARM often is
        wait = math.ceil(max(0.0, due - self.clock.now()))
        return Answer(200, resource, operation=op, location=location, retry_after=wait or None)

    def _operation(self, sub: str, op: str) -> Answer:
        if sub != self.subscription or op not in self.operations:
            raise ArmError(404, "OperationNotFound", f"operation {op} not found")
        left = self.operations[op] - self.clock.now()
        if left > 0:
            return Answer(200, {"status": "InProgress"}, retry_after=math.ceil(left))
        return Answer(200, {"status": "Succeeded"})

    def snapshot(self) -> dict[str, Any]:
        with self.clock.lock:
            return {"cross_connections": self.cross_connections}


def _check_private_peering(name: str, given: dict[str, Any]) -> None:
    """ExpressRoute's rules for a private peering (../shared/design/CSP.md)."""
    if name != "AzurePrivatePeering" or given.get("peeringType", name) != name:
        raise ArmError(400, "InvalidPeeringType", f"{name}: only AzurePrivatePeering simulated")
    missing = [
        k
        for k in ("peerASN", "primaryPeerAddressPrefix", "secondaryPeerAddressPrefix", "vlanId")
        if given.get(k) in (None, "")
    ]
    if missing:
        raise ArmError(400, "InvalidRequestFormat", f"{name}: missing {', '.join(missing)}")
    vlan, asn = given["vlanId"], given["peerASN"]
    if not isinstance(vlan, int) or not 1 <= vlan <= 4094:
        raise ArmError(400, "InvalidVlanId", f"vlanId {vlan} is not between 1 and 4094")
    if not isinstance(asn, int) or not 1 <= asn <= 4294967295 or asn in RESERVED_ASNS:
        raise ArmError(400, "InvalidPeerAsn", f"peerASN {asn} is reserved or out of range")
    nets = []
    for key in ("primaryPeerAddressPrefix", "secondaryPeerAddressPrefix"):
        try:
            net = IPv4Network(given[key])
        except ValueError:
            raise ArmError(400, "InvalidPrefix", f"{key} {given[key]} is not a network") from None
        if net.prefixlen != 30:
            raise ArmError(400, "InvalidPrefix", f"{key} {net} must be a /30")
        nets.append(net)
    if nets[0].overlaps(nets[1]):
        raise ArmError(400, "InvalidPrefix", "primary and secondary prefixes overlap")
    key_ = given.get("sharedKey")
    if key_ is not None and not 6 <= len(key_) <= 80:
        raise ArmError(400, "InvalidSharedKey", "sharedKey must be 6 to 80 characters")


def _etag() -> str:
    return f'W/"{uuid.uuid4()}"'


def _handler(service: ExpressRoute) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self._arm("GET")

        def do_PUT(self) -> None:
            self._arm("PUT")

        def do_DELETE(self) -> None:
            self._arm("DELETE")

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            data = json.loads(self.body() or b"{}")
            out = steer(service, url.path.removeprefix("/_sim/"), data)
            if out is None and url.path == "/_sim/customers":
                token = service.customer(str(data["subscription"]), str(data["client_id"]))
                out = {"token": token}
            if out is None and url.path == "/_sim/circuits":
                try:
                    out = {"service_key": service.create_circuit(**data)}
                except ArmError as exc:
                    self._error(exc)
                    return
            if out is None:
                self.send(404, b"unknown route", "text/plain")
                return
            self.send(200, json.dumps(out).encode(), "application/json")

        def _arm(self, method: str) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            raw = self.body()
            if method == "GET" and url.path == "/_sim/state":
                self.send(200, json.dumps(service.snapshot()).encode(), "application/json")
                return
            try:
                if not self.headers.get("Authorization", "").startswith("Bearer "):
                    raise ArmError(401, "AuthenticationFailed", "a Bearer token is required")
                if "api-version" not in query:
                    raise ArmError(400, "MissingApiVersionParameter", "api-version is required")
                token = self.headers["Authorization"].removeprefix("Bearer ").strip()
                answer = service.handle(method, url.path, query, json.loads(raw or b"{}"), token)
            except ArmError as exc:
                self._error(exc)
                return
            headers = {"x-ms-request-id": str(uuid.uuid4())}
            if answer.operation:
                headers["Azure-AsyncOperation"] = (
                    f"http://{self.headers['Host']}/subscriptions/{service.subscription}"
                    f"{PROVIDER}/locations/{answer.location}/operations/{answer.operation}"
                    f"?api-version={query['api-version']}"
                )
            if answer.retry_after:
                headers["Retry-After"] = str(answer.retry_after)
            data = b"" if answer.body is None else json.dumps(answer.body).encode()
            self.send(answer.status, data, "application/json; charset=utf-8", headers)

        def _error(self, exc: ArmError) -> None:
            body = {"error": {"code": exc.code, "message": str(exc)}}
            headers = {"x-ms-request-id": str(uuid.uuid4())}
            self.send(exc.status, json.dumps(body).encode(), "application/json", headers)

    return Handler


def port_pairs(ports: Sequence[ProviderPort]) -> list[tuple[ProviderPort, ProviderPort]]:
    """(primary, secondary) of each on-ramp, in inventory order: ExpressRoute is always a
    pair (ONR-INV-010 for an on-ramp that lacks one of them)."""
    pairs = []
    for onramp in dict.fromkeys(p.onramp for p in ports):
        roles = {p.role: p.connection for p in ports if p.onramp == onramp}
        if sorted(str(role) for role in roles) != ["primary", "secondary"]:
            raise OnrampError(
                "ONR-INV-010",
                f"Azure on-ramp {onramp} has ports {roles}, not one primary and one secondary",
                field=f"onramps.{onramp}",
            )
        by_role = {p.role: p for p in ports if p.onramp == onramp}
        pairs.append((by_role["primary"], by_role["secondary"]))
    return pairs


def from_inventory(bb: Backbone, account: str | None = None) -> ExpressRoute:
    """The service for our Azure port pairs in `bb`, in subscription `account` (config.yaml's
    `csp.azure.account`; None: `PARTNER_SUBSCRIPTION`)."""
    ports = provider_ports(bb, "azure")
    port_pairs(ports)  # refused now rather than at the first circuit
    return ExpressRoute(subscription=account or PARTNER_SUBSCRIPTION, ports=ports)


@contextmanager
def serve(service: ExpressRoute | None = None, port: int = 0) -> Iterator[tuple[str, ExpressRoute]]:
    """Run the simulator in this process on 127.0.0.1; yields (endpoint URL, state)."""
    service = service or ExpressRoute()
    with serve_http(_handler(service), service, port) as url:
        yield url, service
