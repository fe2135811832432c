"""IBM Cloud Direct Link Connect simulator: the provider API (`/provider/v2/gateways`,
`/ports`) and the IAM token endpoint it authenticates with, so the unmodified
DirectLinkProviderV2 client (ibm-cloud-networking-services) works against it with an
`IAMAuthenticator(apikey, url=<here>)` and `set_service_url(<here>/provider/v2)`.

IBM's rules, from the SDK's own models: every call carries `?version=YYYY-MM-DD` and a
bearer token the IAM endpoint issued; a gateway's `operational_status` is one of
ProviderGateway.OperationalStatusEnum (create_pending -> configuring -> provisioned, or
create_rejected; delete_pending while the customer approves a delete) and `bgp_status` one
of BgpStatusEnum; errors are `{"errors": [{"code", "message", "more_info"}], "trace"}`.
The provider creates a gateway in the customer's account; the customer approves it
(`Behaviour`); a provisioned gateway's delete also waits for the customer's approval.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import IPv4Interface, IPv4Network
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import jwt

from onramp.csp.simulator import (
    Behaviour,
    Clock,
    CloudPeer,
    Faults,
    LabHook,
    ProviderPort,
    QuietHandler,
    by_connection,
    customer_timeline,
    default_ports,
    provider_ports,
    serve_http,
    steer,
)

if TYPE_CHECKING:
    from onramp.network.inventory import Backbone

PARTNER_APIKEY = "onramp-partner-apikey"
PARTNER_ACCOUNT = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"  # our (the provider's) IBM Cloud account
IBM_ASN = 13884
SIGNING_KEY = "onramp-simulator-iam-signing-key-0001"  # the SDK reads the JWT unverified
VLANS = range(2, 3968)
NAME = re.compile(r"^([a-zA-Z]|[a-zA-Z][-_a-zA-Z0-9]*[a-zA-Z0-9])$")
VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CIDR_SPACES = tuple(
    IPv4Network(n) for n in ("10.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")
)
GATEWAY = re.compile(r"^/provider/v2/gateways/(?P<id>[^/?]+)$")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return {
            "errors": [
                {"code": self.code, "message": self.message,
                 "more_info": "https://cloud.ibm.com/docs/dl?topic=dl-troubleshoot"}
            ],
            "trace": uuid.uuid4().hex,
        }  # fmt: skip


def asn_allowed(asn: int) -> bool:
    """create_provider_gateway's bgp_asn: 1-64495, 64999, 131072-4199999999, 4201000000-4201064511."""
    return (
        1 <= asn <= 64495
        or asn == 64999
        or 131072 <= asn <= 4199999999
        or 4201000000 <= asn <= 4201064511
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class DirectLink:
    """The provider API's state: our ports (by id: the inventory's csp_connection), the
    customer accounts that exist, the gateways made in them."""

    ports: dict[str, ProviderPort] = field(default_factory=dict)
    hook: LabHook | None = None
    behaviour: Behaviour = field(default_factory=Behaviour)
    faults: Faults = field(default_factory=Faults)
    clock: Clock = field(default_factory=Clock)
    gateways: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)  # operation ids done, in order
    _edged: set[str] = field(default_factory=set)  # gateways whose cloud edge the hook configured

    def __post_init__(self) -> None:
        if not self.ports:
            self.ports = {p.connection: p for p in default_ports("ibm")}

    @property
    def account(self) -> str:
        """What config.yaml's `csp.ibm.account` says: nothing, IBM knows the provider by
        its API key (`onramp sim` prints no account to configure)."""
        return ""

    def customer(self) -> str:
        """A new customer account (IBM Cloud account ids are 32 hex digits)."""
        with self.clock.lock:
            account = uuid.uuid4().hex
            self.customers.add(account)
            return account

    # IAM ----------------------------------------------------------------
    def token(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") != ["urn:ibm:params:oauth:grant-type:apikey"]:
            return 400, {"errorCode": "BXNIM0109E", "errorMessage": "Property missing or empty"}
        if form.get("apikey") != [PARTNER_APIKEY]:
            return 400, {
                "errorCode": "BXNIM0415E",
                "errorMessage": "Provided API key could not be found",
            }
        now = int(time.time())
        access = jwt.encode(
            {
                "iat": now,
                "exp": now + 3600,
                "account": {"bss": PARTNER_ACCOUNT},
                "jti": uuid.uuid4().hex,
            },
            SIGNING_KEY,
            algorithm="HS256",
        )
        with self.clock.lock:
            self.tokens.add(access)
        return 200, {
            "access_token": access, "refresh_token": "not_supported", "token_type": "Bearer",
            "expires_in": 3600, "expiration": now + 3600,
        }  # fmt: skip

    # the provider API -----------------------------------------------------
    def dispatch(
        self, method: str, url: str, headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        """One API call: auth, version, faults, then the operation."""
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        path = parts.path.rstrip("/")
        self.clock.tick()
        try:
            bearer = headers.get("authorization", "")
            if not bearer.startswith("Bearer ") or bearer[7:] not in self.tokens:
                raise ApiError(401, "not_authorized", "The request is not authorized")
            if not VERSION.fullmatch((query.get("version") or [""])[0]):
                raise ApiError(400, "missing_version", "version query parameter is required")
            op, args = self._route(method, path)
            refused = self.faults.before()
            if refused == "throttle":
                raise ApiError(429, "too_many_requests", "Rate limit exceeded")
            if refused == "fail":
                raise ApiError(503, "service_unavailable", "The service is temporarily unavailable")
            with self.clock.lock:
                status, out = getattr(self, op)(*args, body)
                self.calls.append(op)  # what the provider did: a refused call changed nothing
            if self.faults.after():
                raise ApiError(500, "internal_error", "Internal error")
            return status, out
        except ApiError as exc:
            return exc.status, exc.body()

    def _route(self, method: str, path: str) -> tuple[str, tuple[str, ...]]:
        if path == "/provider/v2/gateways":
            if method in ("GET", "POST"):
                return (
                    "list_provider_gateways" if method == "GET" else "create_provider_gateway"
                ), ()
        elif path == "/provider/v2/ports" and method == "GET":
            return "list_provider_ports", ()
        elif (found := GATEWAY.fullmatch(path)) and method in ("GET", "DELETE"):
            op = "get_provider_gateway" if method == "GET" else "delete_provider_gateway"
            return op, (found.group("id"),)
        raise ApiError(404, "not_found", f"No route for {method} {path}")

    def list_provider_ports(self, _: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        ports = [
            {"id": p.connection, "label": p.connection, "location_name": p.location,
             "location_display_name": p.region, "provider_name": "ONRAMP",
             "supported_link_speeds": [50, 100, 200, 500, 1000, 2000, 5000, 10000]}
            for p in self.ports.values()
        ]  # fmt: skip
        return 200, {"ports": ports, "limit": 50, "total_count": len(ports),
                     "first": {"href": "/provider/v2/ports?limit=50"}}  # fmt: skip

    def list_provider_gateways(self, _: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        found = [dict(g) for g in self.gateways.values()]
        return 200, {"gateways": found, "limit": 50, "total_count": len(found),
                     "first": {"href": "/provider/v2/gateways?limit=50"}}  # fmt: skip

    def get_provider_gateway(self, gid: str, _: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, dict(self._gateway(gid))

    def create_provider_gateway(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        for required in ("bgp_asn", "customer_account_id", "name", "port", "speed_mbps"):
            if required not in body:
                raise ApiError(400, "missing_field", f"{required} is required")
        name = str(body["name"])
        if not NAME.fullmatch(name) or len(name) > 63:
            raise ApiError(400, "invalid_name", f"name {name!r} is not valid")
        if any(g["name"] == name for g in self.gateways.values()):
            raise ApiError(409, "conflict", f"A gateway with name {name} already exists")
        if body["customer_account_id"] not in self.customers:
            raise ApiError(400, "invalid_customer_account_id",
                           f"customer_account_id {body['customer_account_id']} was not found")  # fmt: skip
        asn = body["bgp_asn"]
        if not isinstance(asn, int) or not asn_allowed(asn):
            raise ApiError(400, "invalid_bgp_asn", f"bgp_asn {asn} is not in an allowed range")
        port = self.ports.get(str((body["port"] or {}).get("id")))
        if port is None:
            raise ApiError(404, "port_not_found", f"port {body['port']} was not found")
        if body["speed_mbps"] not in (50, 100, 200, 500, 1000, 2000, 5000, 10000):
            raise ApiError(
                400,
                "invalid_speed",
                f"speed_mbps {body['speed_mbps']} is not supported on this port",
            )
        vlan = body.get("vlan")
        if vlan is not None:
            if vlan not in VLANS:
                raise ApiError(
                    400, "invalid_vlan", f"vlan {vlan}: VLAN must be in the range 2 to 3967"
                )
            if any(g["port"]["id"] == port.connection and g.get("vlan") == vlan
                   for g in self.gateways.values()):  # fmt: skip
                raise ApiError(
                    409, "vlan_in_use", f"vlan {vlan} is already in use on port {port.connection}"
                )
        cer, ibm = self._cidrs(body.get("bgp_cer_cidr"), body.get("bgp_ibm_cidr"))
        gid = str(uuid.uuid4())
        gateway: dict[str, Any] = {
            "id": gid,
            "name": name,
            "crn": f"crn:v1:bluemix:public:directlink:dal03:a/{body['customer_account_id']}::connect:{gid}",
            "created_at": _now(),
            "customer_account_id": body["customer_account_id"],
            "bgp_asn": asn,
            "bgp_ibm_asn": IBM_ASN,
            "bgp_cer_cidr": cer,
            "bgp_ibm_cidr": ibm,
            "bgp_status": "idle",
            "operational_status": "create_pending",
            "change_request": {"type": "create_gateway"},
            "port": {"id": port.connection},
            "provider_api_managed": True,
            "speed_mbps": body["speed_mbps"],
            "type": "connect",
        }
        if vlan is not None:
            gateway["vlan"] = vlan
        self.gateways[gid] = gateway
        customer_timeline(
            self.clock, gid, self.behaviour,
            accepted=lambda: self._approved(gateway),
            rejected=lambda: self._rejected(gateway),
            ready=lambda: self._provisioned(gateway),
            down=lambda: self._bgp_down(gateway),
        )  # fmt: skip
        return 201, dict(gateway)

    def delete_provider_gateway(
        self, gid: str, _: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        """Not yet provisioned: gone at once (204). Provisioned: delete_pending until the
        customer approves (202), as IBM asks the account owner."""
        gateway = self._gateway(gid)
        if gateway["operational_status"] == "delete_pending":
            raise ApiError(409, "conflict", f"gateway {gid} has a pending delete request")
        self.clock.timeline(gid).clear()
        if gateway["operational_status"] != "provisioned":
            del self.gateways[gid]
            return 204, None
        gateway.update(
            operational_status="delete_pending", change_request={"type": "delete_gateway"}
        )
        self.clock.timeline(gid).at(self.clock.now() + self.behaviour.accept_after_s,
                                    lambda: self._deleted(gid))  # fmt: skip
        return 202, dict(gateway)

    # the customer and IBM ---------------------------------------------------
    def _approved(self, gateway: dict[str, Any]) -> None:
        if gateway["operational_status"] == "create_pending":
            gateway.pop("change_request", None)
            gateway["operational_status"] = "configuring"

    def _rejected(self, gateway: dict[str, Any]) -> None:
        if gateway["operational_status"] == "create_pending":
            gateway.pop("change_request", None)
            gateway["operational_status"] = "create_rejected"

    def _provisioned(self, gateway: dict[str, Any]) -> None:
        """IBM's side provisioned: its edge configured; its BGP `established`, or (the
        Behaviour's bgp_down, as IBM shows a gateway whose other side is not up yet) `idle`."""
        if gateway["operational_status"] == "configuring":
            bgp = "idle" if self.behaviour.bgp_down else "established"
            gateway.update(operational_status="provisioned", bgp_status=bgp)
            if self.hook is not None:
                self.hook.up(self._peer(gateway))
                self._edged.add(gateway["id"])

    def _bgp_down(self, gateway: dict[str, Any]) -> None:
        """The customer's side goes away: IBM's BGP session drops to idle."""
        if gateway["operational_status"] == "provisioned":
            gateway["bgp_status"] = "idle"
            self._unedge(gateway)

    def _deleted(self, gid: str) -> None:
        gateway = self.gateways.pop(gid, None)
        if gateway is not None:
            self._unedge(gateway)

    def _unedge(self, gateway: dict[str, Any]) -> None:
        """Its cloud edge unconfigured, if the hook configured it."""
        if gateway["id"] in self._edged and self.hook is not None:
            self._edged.discard(gateway["id"])
            self.hook.down(self._peer(gateway))

    def _cidrs(self, cer: Any, ibm: Any) -> tuple[str, str]:
        """Both or none (IBM's auto-assignment: a free /30 of 169.254.0.0/16), same subnet."""
        if (cer is None) != (ibm is None):
            raise ApiError(
                400, "invalid_cidr", "bgp_cer_cidr and bgp_ibm_cidr must be given together"
            )
        used = {IPv4Interface(g["bgp_ibm_cidr"]).network for g in self.gateways.values()}
        if cer is None:
            while True:
                net = IPv4Network(
                    f"169.254.{secrets.randbelow(256)}.{secrets.randbelow(64) * 4}/30"
                )
                if net not in used:
                    hosts = list(net.hosts())
                    return f"{hosts[1]}/30", f"{hosts[0]}/30"
        try:
            ours, theirs = IPv4Interface(str(cer)), IPv4Interface(str(ibm))
        except ValueError as exc:
            raise ApiError(400, "invalid_cidr", str(exc)) from None
        if ours.network != theirs.network or ours.ip == theirs.ip:
            raise ApiError(400, "invalid_cidr",
                           "bgp_cer_cidr and bgp_ibm_cidr must have matching network and subnet mask values")  # fmt: skip
        if not any(ours.network.subnet_of(space) for space in CIDR_SPACES):
            raise ApiError(400, "invalid_cidr", f"{cer} is not in an allowed range")
        if ours.network in used:
            raise ApiError(409, "cidr_in_use", f"{ours.network} is already in use")
        return str(ours), str(theirs)

    def _gateway(self, gid: str) -> dict[str, Any]:
        gateway = self.gateways.get(gid)
        if gateway is None:
            raise ApiError(404, "not_found", f"Gateway {gid} not found")
        return gateway

    def _peer(self, gateway: dict[str, Any]) -> CloudPeer:
        return CloudPeer(
            provider="ibm",
            connection=gateway["port"]["id"],
            vlan=int(gateway.get("vlan", 0)),
            inner_vlan=None,
            address=gateway["bgp_ibm_cidr"],
            neighbor=str(IPv4Interface(gateway["bgp_cer_cidr"]).ip),
            remote_as=int(gateway["bgp_asn"]),
            password=None,
        )

    def snapshot(self) -> dict[str, Any]:
        with self.clock.lock:
            return {"gateways": self.gateways, "customers": sorted(self.customers)}


def _handler(service: DirectLink) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            if self.path == "/_sim/state":
                self.send(200, json.dumps(service.snapshot()).encode(), "application/json")
            else:
                self._api()

        def do_DELETE(self) -> None:
            self._api()

        def do_POST(self) -> None:
            if self.path == "/identity/token":
                status, out = service.token(parse_qs(self.body().decode()))
                self.send(status, json.dumps(out).encode(), "application/json")
            elif self.path.startswith("/_sim/"):
                self._admin(self.path.removeprefix("/_sim/"), json.loads(self.body() or b"{}"))
            else:
                self._api()

        def _api(self) -> None:
            raw = self.body()
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, out = service.dispatch(self.command, self.path, headers,
                                           json.loads(raw) if raw else {})  # fmt: skip
            if out is None:
                self.send(status, b"", "application/json")
            else:
                self.send(status, json.dumps(out).encode(), "application/json")

        def _admin(self, what: str, data: dict[str, Any]) -> None:
            out = steer(service, what, data)
            if out is None and what == "customers":
                out = {"account": service.customer()}
            self.admin(out)

    return Handler


def from_inventory(bb: Backbone, account: str | None = None) -> DirectLink:
    """The service for our Direct Link Connect ports in `bb` (their csp_connection ids)."""
    return DirectLink(ports=by_connection(provider_ports(bb, "ibm")))


@contextmanager
def serve(service: DirectLink | None = None, port: int = 0) -> Iterator[tuple[str, DirectLink]]:
    """Run the simulator in this process on 127.0.0.1; yields (endpoint URL, state)."""
    service = service or DirectLink()
    with serve_http(_handler(service), service, port) as url:
        yield url, service
