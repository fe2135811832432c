"""Alibaba Cloud Express Connect simulator: the VPC API's (2016-04-28) RPC calls a partner
makes for hosted connections, so the unmodified alibabacloud-vpc20160428 client works
against it (`Config(endpoint=<here>, protocol="http")`, the partner's AccessKey).

The wire is the SDK's: POST / with the parameters in the query, `x-acs-action` and
`x-acs-version` headers, an `Authorization: ACS3-HMAC-SHA256 Credential=<ak>,
SignedHeaders=...,Signature=...` checked here against the key's secret, JSON answers with
a RequestId, errors `{"RequestId", "HostId", "Code", "Message", "Recommend"}`.

The partner creates a hosted (shared, "virtual") physical connection on its physical
connection for the tenant's account (CreateVirtualPhysicalConnection, idempotent by its
client Token); the tenant confirms it and pays, then makes its virtual border router (VBR)
and BGP peer on it with what the partner told it (the connection's Description); the
partner terminates and deletes. State words are the SDK model's: Status (Confirmed ->
Allocated -> Enabled, Rejected, Terminated), VirtualPhysicalConnectionStatus
(UnConfirmed, Confirmed), BusinessStatus (Normal, FinancialLocked).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import IPv4Interface
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlsplit

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

PARTNER_KEY = ("onramp-partner-ak", "onramp-partner-secret")  # AccessKey id, secret
PARTNER_UID = "1234567890123456"
VERSION = "2016-04-28"
ALIBABA_ASN = 45104
SPECS = ("50M", "100M", "200M", "300M", "400M", "500M", "1G", "2G", "5G", "8G", "10G")
AUTH = re.compile(r"^ACS3-HMAC-SHA256 Credential=(?P<ak>[^,]+),SignedHeaders=(?P<signed>[^,]+),"
                  r"Signature=(?P<signature>[0-9a-f]{64})$")  # fmt: skip
# what the partner tells the tenant in the hosted connection's description (the adapter
# writes it; the simulated tenant makes its VBR from it, as a person would read it)
TOLD = re.compile(r"VBR LocalGatewayIp (?P<local>\S+) PeerGatewayIp (?P<peer>\S+) "
                  r"PeeringSubnetMask (?P<mask>\S+) PeerAsn (?P<asn>\d+)")  # fmt: skip


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_query(query: dict[str, str]) -> str:
    return "&".join(f"{k}={quote(query[k], safe='~')}" for k in sorted(query))


@dataclass
class ExpressConnect:
    """Our physical connections (by id: the inventory's csp_connection), the tenants that
    exist (UID -> their VBRs), the hosted connections made for them."""

    ports: dict[str, ProviderPort] = field(default_factory=dict)
    hook: LabHook | None = None
    behaviour: Behaviour = field(default_factory=Behaviour)
    faults: Faults = field(default_factory=Faults)
    clock: Clock = field(default_factory=Clock)
    vpconns: dict[str, dict[str, Any]] = field(default_factory=dict)
    tenants: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # UID -> VBRs
    bgp_peers: dict[str, dict[str, Any]] = field(default_factory=dict)  # VBR id -> its BGP peer
    tokens: dict[str, str] = field(default_factory=dict)  # client token -> vpconn id
    keys: dict[str, str] = field(default_factory=lambda: {PARTNER_KEY[0]: PARTNER_KEY[1]})
    calls: list[str] = field(default_factory=list)  # the actions that changed something, in order

    def __post_init__(self) -> None:
        if not self.ports:
            self.ports = {p.connection: p for p in default_ports("alibaba")}

    @property
    def account(self) -> str:
        """What config.yaml's `csp.alibaba.account` says: nothing, Alibaba knows the partner
        by its AccessKey (`onramp sim` prints no account to configure)."""
        return ""

    def tenant(self) -> str:
        """A new tenant account (Alibaba Cloud UIDs are 16 digits)."""
        with self.clock.lock:
            uid = str(uuid.uuid4().int)[:16].rjust(16, "1")
            self.tenants[uid] = []
            return uid

    # the wire -------------------------------------------------------------
    def dispatch(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        request_id = str(uuid.uuid4()).upper()
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.clock.tick()
        try:
            self._authenticate(method, parts.path or "/", query, headers, body)
            if headers.get("x-acs-version") != VERSION:
                raise ApiError(400, "InvalidVersion", f"Specified version is not valid: {headers.get('x-acs-version')}")  # fmt: skip
            action = headers.get("x-acs-action", "")
            op = getattr(self, f"op_{action}", None)
            if op is None:
                raise ApiError(
                    404, "InvalidAction.NotFound", f"Specified api is not found: {action}"
                )
            refused = self.faults.before()
            if refused == "throttle":
                raise ApiError(
                    400, "Throttling.User", "Request was denied due to user flow control."
                )
            if refused == "fail":
                raise ApiError(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")  # fmt: skip
            with self.clock.lock:
                out: dict[str, Any] = op(query)
            if self.faults.after():
                raise ApiError(500, "InternalError", "The request processing has failed due to some unknown error.")  # fmt: skip
            return 200, {"RequestId": request_id} | out
        except ApiError as exc:
            return exc.status, {
                "RequestId": request_id, "HostId": "vpc.aliyuncs.com", "Code": exc.code,
                "Message": exc.message, "Recommend": f"https://api.aliyun.com/troubleshoot?q={exc.code}",
            }  # fmt: skip

    def _authenticate(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> None:
        """ACS3-HMAC-SHA256: the signature over the canonical request, with the key's secret."""
        shape = AUTH.fullmatch(headers.get("authorization", ""))
        if shape is None:
            raise ApiError(
                400, "MissingAuthorization", "Authorization is mandatory for this request."
            )
        secret = self.keys.get(shape.group("ak"))
        if secret is None:
            raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if headers.get("x-acs-content-sha256") != hashlib.sha256(body).hexdigest():
            raise ApiError(400, "IncompleteSignature", "The request payload hash does not match.")
        signed = shape.group("signed").split(";")
        canonical = "\n".join([
            method, path, canonical_query(query),
            "".join(f"{h}:{headers.get(h, '').strip()}\n" for h in signed),
            ";".join(signed), headers["x-acs-content-sha256"],
        ])  # fmt: skip
        to_sign = f"ACS3-HMAC-SHA256\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        expected = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, shape.group("signature")):
            raise ApiError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")  # fmt: skip

    # the partner's actions --------------------------------------------------
    def op_CreateVirtualPhysicalConnection(self, q: dict[str, str]) -> dict[str, Any]:
        for required in (
            "RegionId",
            "PhysicalConnectionId",
            "VpconnAliUid",
            "VlanId",
            "Spec",
            "OrderMode",
        ):
            if not q.get(required):
                raise ApiError(400, f"MissingParameter.{required}", f"{required} is mandatory for this action.")  # fmt: skip
        token = q.get("Token")
        if token and token in self.tokens:
            return {"VirtualPhysicalConnection": self.tokens[token]}  # the same request again
        parent = self.ports.get(q["PhysicalConnectionId"])
        if parent is None:
            raise ApiError(404, "ResourceNotFound.PhysicalConnectionId", f"The specified PhysicalConnectionId {q['PhysicalConnectionId']} is not found.")  # fmt: skip
        if q["RegionId"] != parent.region:
            raise ApiError(400, "InvalidRegionId", f"The physical connection is in {parent.region}, not {q['RegionId']}.")  # fmt: skip
        if q["VpconnAliUid"] not in self.tenants:
            raise ApiError(400, "IllegalParam.VpconnAliUid", f"The specified VpconnAliUid {q['VpconnAliUid']} is not found.")  # fmt: skip
        if q["Spec"] not in SPECS:
            raise ApiError(400, "IllegalParam.Spec", f"Spec must be one of {', '.join(SPECS)}.")
        if q["OrderMode"] not in (
            "PayByPhysicalConnectionOwner",
            "PayByVirtualPhysicalConnectionOwner",
        ):
            raise ApiError(400, "IllegalParam.OrderMode", "OrderMode is not valid.")
        vlan = int(q["VlanId"])
        if not 0 <= vlan <= 2999:
            raise ApiError(400, "IllegalParam.VlanId", "VlanId must be in the range 0 to 2999.")
        if any(v["ParentPhysicalConnectionId"] == parent.connection and v["VlanId"] == str(vlan)
               for v in self.vpconns.values()):  # fmt: skip
            raise ApiError(400, "IllegalParam.VlanId", f"The VlanId {vlan} is already in use on {parent.connection}.")  # fmt: skip
        vid = f"pc-{uuid.uuid4().hex[:20]}"
        vpconn: dict[str, Any] = {
            "PhysicalConnectionId": vid,
            "ParentPhysicalConnectionId": parent.connection,
            "ParentPhysicalConnectionAliUid": PARTNER_UID,
            "AliUid": q["VpconnAliUid"],
            "Name": q.get("Name", ""),
            "Description": q.get("Description", ""),
            "VlanId": str(vlan),
            "Spec": q["Spec"],
            "OrderMode": q["OrderMode"],
            "ProductType": "VirtualPhysicalConnection",
            "Status": "Confirmed",  # waiting for the tenant's confirmation
            "VirtualPhysicalConnectionStatus": "UnConfirmed",
            "BusinessStatus": "Normal",
            "AccessPointId": parent.location,
            "PeerLocation": parent.location,
            "LineOperator": "Other",
            "PortType": "10GBase-LR",
            "CreationTime": _now(),
            "ChargeType": "Prepaid",
            "Type": "VPC",
            "Tags": [],
        }
        self.vpconns[vid] = vpconn
        self.calls.append("CreateVirtualPhysicalConnection")
        if token:
            self.tokens[token] = vid
        customer_timeline(
            self.clock, vid, self.behaviour,
            accepted=lambda: self._confirmed(vpconn),
            rejected=lambda: self._rejected(vpconn),
            ready=lambda: self._enabled(vpconn),
            down=lambda: self._locked(vpconn),
        )  # fmt: skip
        return {"VirtualPhysicalConnection": vid}

    def op_ListVirtualPhysicalConnections(self, q: dict[str, str]) -> dict[str, Any]:
        if not q.get("RegionId"):
            raise ApiError(
                400, "MissingParameter.RegionId", "RegionId is mandatory for this action."
            )
        ids = {v for k, v in q.items() if k.startswith("VirtualPhysicalConnectionIds.")}
        found = [
            dict(v) for v in self.vpconns.values()
            if (not q.get("PhysicalConnectionId") or v["ParentPhysicalConnectionId"] == q["PhysicalConnectionId"])
            and (not ids or v["PhysicalConnectionId"] in ids)
            and self.ports[v["ParentPhysicalConnectionId"]].region == q["RegionId"]
        ]  # fmt: skip
        size = int(q.get("MaxResults") or 20)
        start = int(q.get("NextToken") or 0)
        page = found[start : start + size]
        more = start + size < len(found)
        return {"Count": len(page), "TotalCount": len(found), "NextToken": str(start + size) if more else "",
                "VirtualPhysicalConnections": page}  # fmt: skip

    def op_TerminatePhysicalConnection(self, q: dict[str, str]) -> dict[str, Any]:
        vpconn = self._vpconn(q)
        if vpconn["Status"] != "Enabled":
            raise ApiError(400, "IncorrectStatus.PhysicalConnection", f"The status of {vpconn['PhysicalConnectionId']} is {vpconn['Status']}, not Enabled.")  # fmt: skip
        self.clock.timeline(vpconn["PhysicalConnectionId"]).clear()
        was_up = vpconn["BusinessStatus"] == "Normal"
        vpconn["Status"] = "Terminated"
        self.calls.append("TerminatePhysicalConnection")
        self._tenant_vbr_gone(vpconn, was_up)
        return {}

    def op_DeletePhysicalConnection(self, q: dict[str, str]) -> dict[str, Any]:
        vpconn = self._vpconn(q)
        if vpconn["Status"] == "Enabled":
            raise ApiError(400, "IncorrectStatus.PhysicalConnection", f"{vpconn['PhysicalConnectionId']} is Enabled: terminate it first.")  # fmt: skip
        self.clock.timeline(vpconn["PhysicalConnectionId"]).clear()
        del self.vpconns[vpconn["PhysicalConnectionId"]]
        self.calls.append("DeletePhysicalConnection")
        return {}

    # the tenant's, with its own AccessKey -------------------------------------
    def op_DescribeVirtualBorderRouters(self, q: dict[str, str]) -> dict[str, Any]:
        vbrs = [dict(v) for vbrs in self.tenants.values() for v in vbrs]
        return {"PageNumber": 1, "PageSize": 10, "TotalCount": len(vbrs),
                "VirtualBorderRouterSet": {"VirtualBorderRouterType": vbrs}}  # fmt: skip

    # the tenant and Alibaba -----------------------------------------------------
    def _confirmed(self, vpconn: dict[str, Any]) -> None:
        if (
            vpconn["VirtualPhysicalConnectionStatus"] == "UnConfirmed"
            and vpconn["Status"] == "Confirmed"
        ):
            vpconn.update(VirtualPhysicalConnectionStatus="Confirmed", Status="Allocated")

    def _rejected(self, vpconn: dict[str, Any]) -> None:
        if vpconn["Status"] == "Confirmed":
            vpconn["Status"] = "Rejected"

    def _enabled(self, vpconn: dict[str, Any]) -> None:
        """Paid and up; the tenant makes its VBR and BGP peer from what it was told."""
        if vpconn["Status"] != "Allocated":
            return
        vpconn.update(Status="Enabled", EnabledTime=_now())
        told = TOLD.search(vpconn["Description"])
        if told is None:
            return  # nothing to make a VBR from: the session never comes up
        vbr = {
            "VbrId": f"vbr-{uuid.uuid4().hex[:20]}", "PhysicalConnectionId": vpconn["PhysicalConnectionId"],
            "PhysicalConnectionOwnerUid": PARTNER_UID, "VlanId": int(vpconn["VlanId"]),
            "LocalGatewayIp": told["local"], "PeerGatewayIp": told["peer"],
            "PeeringSubnetMask": told["mask"], "Status": "active", "CreationTime": _now(),
            "Name": vpconn["Name"], "Type": "pconnVBR",
        }  # fmt: skip
        self.tenants.setdefault(vpconn["AliUid"], []).append(vbr)
        self.bgp_peers[vbr["VbrId"]] = {"PeerAsn": int(told["asn"]), "PeerIpAddress": told["peer"]}
        if self.hook is not None:
            self.hook.up(self._peer(vpconn))

    def _locked(self, vpconn: dict[str, Any]) -> None:
        """The tenant does not pay: the connection is locked and its traffic stops."""
        if vpconn["Status"] == "Enabled" and vpconn["BusinessStatus"] == "Normal":
            vpconn["BusinessStatus"] = "FinancialLocked"
            if self.hook is not None and TOLD.search(vpconn["Description"]):
                self.hook.down(self._peer(vpconn))

    def _tenant_vbr_gone(self, vpconn: dict[str, Any], was_up: bool) -> None:
        vbrs = self.tenants.get(vpconn["AliUid"], [])
        mine = [v for v in vbrs if v["PhysicalConnectionId"] == vpconn["PhysicalConnectionId"]]
        for vbr in mine:
            vbrs.remove(vbr)
            self.bgp_peers.pop(vbr["VbrId"], None)
        if mine and was_up and self.hook is not None:
            self.hook.down(self._peer(vpconn))

    def _vpconn(self, q: dict[str, str]) -> dict[str, Any]:
        vpconn = self.vpconns.get(q.get("PhysicalConnectionId", ""))
        if vpconn is None:
            raise ApiError(404, "ResourceNotFound.PhysicalConnectionId", f"The specified PhysicalConnectionId {q.get('PhysicalConnectionId')} is not found.")  # fmt: skip
        return vpconn

    def _peer(self, vpconn: dict[str, Any]) -> CloudPeer:
        told = TOLD.search(vpconn["Description"])
        assert told is not None
        prefix = IPv4Interface(f"{told['local']}/{told['mask']}").network.prefixlen
        return CloudPeer(
            provider="alibaba",
            connection=vpconn["ParentPhysicalConnectionId"],
            vlan=int(vpconn["VlanId"]),
            inner_vlan=None,
            address=f"{told['local']}/{prefix}",
            neighbor=told["peer"],
            remote_as=int(told["asn"]),
            password=None,
        )

    def snapshot(self) -> dict[str, Any]:
        with self.clock.lock:
            return {"virtual_physical_connections": self.vpconns, "tenants": self.tenants,
                    "bgp_peers": self.bgp_peers}  # fmt: skip


def _handler(service: ExpressConnect) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            if self.path == "/_sim/state":
                self.send(200, json.dumps(service.snapshot()).encode(), "application/json")
            else:
                self._api()

        def do_POST(self) -> None:
            if self.path.startswith("/_sim/"):
                self._admin(self.path.removeprefix("/_sim/"), json.loads(self.body() or b"{}"))
            else:
                self._api()

        def _api(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, out = service.dispatch(self.command, self.path, headers, self.body())
            self.send(status, json.dumps(out).encode(), "application/json;charset=utf-8")

        def _admin(self, what: str, data: dict[str, Any]) -> None:
            out = steer(service, what, data)
            if out is None and what == "tenants":
                out = {"uid": service.tenant()}
            self.admin(out)

    return Handler


def from_inventory(bb: Backbone, account: str | None = None) -> ExpressConnect:
    """The service for our Express Connect physical connections in `bb`."""
    return ExpressConnect(ports=by_connection(provider_ports(bb, "alibaba")))


@contextmanager
def serve(
    service: ExpressConnect | None = None, port: int = 0
) -> Iterator[tuple[str, ExpressConnect]]:
    """Run the simulator in this process on 127.0.0.1; yields (endpoint URL, state)."""
    service = service or ExpressConnect()
    with serve_http(_handler(service), service, port) as url:
        yield url, service
