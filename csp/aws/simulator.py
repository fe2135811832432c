"""AWS Direct Connect simulator: the partner's and the customer's operations onramp calls,
over the wire protocols botocore speaks, so the unmodified boto3 client works against it.

botocore 1.44's Direct Connect model lists smithy-rpc-v2-cbor first (`POST
/service/OvertureService/operation/<Op>`, CBOR bodies), JSON 1.1 second (`POST /`,
`X-Amz-Target: OvertureService.<Op>`); both are answered, anything else is refused with
a message naming the protocol. The caller's account comes from the SigV4 access key
(`accounts`), as AWS does it: the partner allocates, only the owner account confirms.

AWS's rules (csp/aws/constraints.yaml, ../shared/design/CSP.md): VLAN 1-4094 unique per
interconnect, MTU 1500 or 8500, MD5 key 6-80 characters; hosted VIF confirming ->
pending -> available (-> down); hosted connection ordering -> pending -> available.
The simulated customer (csp.simulator.Behaviour) confirms, rejects, or never answers;
a VIF becoming available brings the cloud side of its BGP session up in the lab.

Our interconnects, their region and location come from the inventory (`from_inventory`;
without one, the repository's): each AWS on-ramp port's `csp_connection` is a dxcon id.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Interface, IPv4Network
from typing import Any

import cbor2

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
from onramp.network.inventory import Backbone

CBOR_PREFIX = "/service/OvertureService/operation/"
JSON_TARGET = "OvertureService."
PARTNER_KEY = "onramp-partner"  # the access key the simulator knows as the partner's
PARTNER_ACCOUNT = "111111111111"
BANDWIDTHS = ("50Mbps", "100Mbps", "200Mbps", "300Mbps", "400Mbps", "500Mbps", "1Gbps",
              "2Gbps", "5Gbps", "10Gbps", "25Gbps")  # fmt: skip
CREDENTIAL = re.compile(r"Credential=([^/]+)/")


class ClientError(Exception):
    """An error AWS answers with HTTP 400 and the exception's name."""

    def __init__(self, message: str, kind: str = "DirectConnectClientException") -> None:
        super().__init__(message)
        self.kind = kind


class ServerError(ClientError):
    """An error AWS answers with HTTP 500."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "DirectConnectServerException")


@dataclass
class DirectConnect:
    """The service's state: our interconnects, the hosted connections and VIFs on them."""

    clock: Clock = field(default_factory=Clock)
    behaviour: Behaviour = field(default_factory=Behaviour)
    faults: Faults = field(default_factory=Faults)
    hook: LabHook | None = None
    # our interconnects: dxcon id -> where AWS has it (region, Direct Connect location)
    interconnects: dict[str, ProviderPort] = field(
        default_factory=lambda: by_connection(default_ports("aws"))
    )
    accounts: dict[str, str] = field(default_factory=lambda: {PARTNER_KEY: PARTNER_ACCOUNT})
    hosted: dict[str, dict[str, Any]] = field(default_factory=dict)  # hosted connections
    _parents: dict[str, str] = field(default_factory=dict)  # hosted connection -> interconnect
    vifs: dict[str, dict[str, Any]] = field(default_factory=dict)
    _edged: set[str] = field(default_factory=set)  # VIFs whose cloud edge the hook configured
    protocols: list[str] = field(default_factory=list)  # the wire protocol of each call
    calls: list[str] = field(default_factory=list)  # operations that did their work

    @property
    def account(self) -> str:
        """What config.yaml's `csp.aws.account` says: nothing, AWS knows the partner by
        its access key (`PARTNER_KEY`)."""
        return ""

    def customer(self, account: str) -> str:
        """Register a customer account; returns the access key that acts as it."""
        key = f"cust-{account}"
        self.accounts[key] = account
        return key

    def call(self, op: str, body: dict[str, Any], access_key: str) -> dict[str, Any]:
        handler: Callable[[dict[str, Any], str], dict[str, Any]] | None = getattr(
            self, f"op_{op}", None
        )
        if handler is None:
            raise ClientError(f"operation {op} is not simulated", "UnsupportedOperation")
        account = self.accounts.get(access_key)
        if account is None:
            raise ClientError(
                "The security token included in the request is invalid",
                "UnrecognizedClientException",
            )
        with self.clock.lock:
            self.clock.tick()
            match self.faults.before():
                case "throttle":
                    raise ClientError("Rate exceeded", "ThrottlingException")
                case "fail":
                    raise ServerError("internal error")
            out = handler(body, account)
            self.calls.append(op)
            if self.faults.after():
                raise ServerError("internal error after the work was done")
            late = self.faults.late(op)
        time.sleep(late)  # a slow answer: the caller waits, the simulator does not
        return out

    # the partner's operations -------------------------------------------
    def op_AllocatePrivateVirtualInterface(
        self, body: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        self._partner(caller)
        conn = body.get("connectionId", "")
        if conn not in self.interconnects:
            raise ClientError(f"Connection {conn} does not exist")
        new = body.get("newPrivateVirtualInterfaceAllocation") or {}
        vif = self._new_vif(conn, body.get("ownerAccount", ""), new)
        customer_timeline(
            self.clock,
            vif["virtualInterfaceId"],
            self.behaviour,
            accepted=lambda: self._move(vif, "confirming", "pending"),
            rejected=lambda: self._move(vif, "confirming", "rejected"),
            ready=lambda: self._available(vif),
            down=lambda: self._down(vif),
        )
        return dict(vif)

    def op_AllocateHostedConnection(self, body: dict[str, Any], caller: str) -> dict[str, Any]:
        self._partner(caller)
        parent = body.get("connectionId", "")
        if parent not in self.interconnects:
            raise ClientError(f"Connection {parent} does not exist")
        vlan = int(body.get("vlan", 0))
        self._vlan_free(parent, vlan)
        if body.get("bandwidth") not in BANDWIDTHS:
            raise ClientError(f"bandwidth {body.get('bandwidth')} is not one of {BANDWIDTHS}")
        conn_id = f"dxcon-{secrets.token_hex(4)}"
        conn = {
            "ownerAccount": body.get("ownerAccount", ""),
            "connectionId": conn_id,
            "connectionName": body.get("connectionName", ""),
            "connectionState": "ordering",
            "region": self.interconnects[parent].region,
            "location": self.interconnects[parent].location,
            "bandwidth": body.get("bandwidth", ""),
            "vlan": vlan,
            "partnerName": "onramp",
            "jumboFrameCapable": True,
            "tags": body.get("tags", []),
        }
        self.hosted[conn_id] = conn
        self._parents[conn_id] = parent
        customer_timeline(
            self.clock,
            conn_id,
            self.behaviour,
            accepted=lambda: self._move(conn, "ordering", "pending", key="connectionState"),
            rejected=lambda: self._move(conn, "ordering", "rejected", key="connectionState"),
            ready=lambda: self._move(conn, "pending", "available", key="connectionState"),
        )
        return dict(conn)

    def op_DescribeHostedConnections(self, body: dict[str, Any], caller: str) -> dict[str, Any]:
        self._partner(caller)
        parent = body.get("connectionId", "")
        if parent not in self.interconnects:
            raise ClientError(f"Connection {parent} does not exist")
        return {
            "connections": [
                dict(c) for cid, c in self.hosted.items() if self._parents[cid] == parent
            ]
        }

    def op_DescribeConnections(self, body: dict[str, Any], caller: str) -> dict[str, Any]:
        wanted = body.get("connectionId")
        found = [
            dict(c)
            for c in self.hosted.values()
            if (wanted is None or c["connectionId"] == wanted)
            and caller in (c["ownerAccount"], PARTNER_ACCOUNT)
        ]
        if wanted and not found:
            raise ClientError(f"Connection {wanted} does not exist")
        return {"connections": found}

    def op_DeleteConnection(self, body: dict[str, Any], caller: str) -> dict[str, Any]:
        conn = self._hosted(body, caller)
        if any(
            v["connectionId"] == conn["connectionId"] and v["virtualInterfaceState"] != "deleted"
            for v in self.vifs.values()
        ):
            raise ClientError(f"Connection {conn['connectionId']} still has virtual interfaces")
        conn["connectionState"] = "deleted"
        self.clock.timeline(conn["connectionId"]).clear()
        return dict(conn)

    def op_DescribeVirtualInterfaces(self, body: dict[str, Any], caller: str) -> dict[str, Any]:
        wanted = body.get("virtualInterfaceId")
        conn = body.get("connectionId")
        found = [
            dict(v)
            for v in self.vifs.values()
            if (wanted is None or v["virtualInterfaceId"] == wanted)
            and (conn is None or v["connectionId"] == conn)
            and caller in (v["ownerAccount"], PARTNER_ACCOUNT)
        ]
        if wanted and not found:
            raise ClientError(f"Virtual interface {wanted} does not exist")
        return {"virtualInterfaces": found}

    def op_DeleteVirtualInterface(self, body: dict[str, Any], caller: str) -> dict[str, Any]:
        vif = self._vif(body, caller)
        vif["virtualInterfaceState"] = "deleted"
        self.clock.timeline(vif["virtualInterfaceId"]).clear()
        self._unedge(vif)
        return {"virtualInterfaceState": "deleting"}

    # the customer's operations ------------------------------------------
    def op_ConfirmPrivateVirtualInterface(
        self, body: dict[str, Any], caller: str
    ) -> dict[str, Any]:
        vif = self._vif(body, caller, owner=True)
        if vif["virtualInterfaceState"] != "confirming":
            raise ClientError(
                f"{vif['virtualInterfaceId']} is {vif['virtualInterfaceState']}, not confirming"
            )
        if not (body.get("virtualGatewayId") or body.get("directConnectGatewayId")):
            raise ClientError("a virtual private gateway or a Direct Connect gateway is required")
        for gateway in ("virtualGatewayId", "directConnectGatewayId"):
            if body.get(gateway):
                vif[gateway] = body[gateway]
        vif["virtualInterfaceState"] = "pending"
        self._schedule_ready(vif)
        return {"virtualInterfaceState": "pending"}

    def op_ConfirmConnection(self, body: dict[str, Any], caller: str) -> dict[str, Any]:
        conn = self._hosted(body, caller, owner=True)
        if conn["connectionState"] != "ordering":
            raise ClientError(f"{conn['connectionId']} is {conn['connectionState']}, not ordering")
        conn["connectionState"] = "pending"
        line = self.clock.timeline(conn["connectionId"])
        line.clear()
        line.at(
            self.clock.now() + self.behaviour.provisioning_s,
            lambda: self._move(conn, "pending", "available", key="connectionState"),
        )
        return {"connectionState": "pending"}

    def op_CreatePrivateVirtualInterface(self, body: dict[str, Any], caller: str) -> dict[str, Any]:
        conn = self._hosted(body, caller, owner=True)
        if conn["connectionState"] != "available":
            raise ClientError(f"{conn['connectionId']} is {conn['connectionState']}, not available")
        new = dict(body.get("newPrivateVirtualInterface") or {})
        if not (new.get("virtualGatewayId") or new.get("directConnectGatewayId")):
            raise ClientError("a virtual private gateway or a Direct Connect gateway is required")
        if int(new.get("vlan", 0)) != conn["vlan"]:
            raise ClientError(f"the VLAN of a hosted connection's VIF must be {conn['vlan']}")
        vif = self._new_vif(conn["connectionId"], caller, new, same_vlan_ok=True)
        vif["virtualInterfaceState"] = "pending"
        self._schedule_ready(vif)
        return dict(vif)

    # state ------------------------------------------------------------
    def _new_vif(
        self, conn: str, owner: str, new: dict[str, Any], same_vlan_ok: bool = False
    ) -> dict[str, Any]:
        vlan, mtu = int(new.get("vlan", 0)), int(new.get("mtu", 1500))
        if not same_vlan_ok:
            self._vlan_free(conn, vlan)
        if mtu not in (1500, 8500):
            raise ClientError(f"MTU {mtu} is not 1500 or 8500")
        key = new.get("authKey") or secrets.token_hex(12)
        if not 6 <= len(key) <= 80:
            raise ClientError("BGP authentication key must be 6 to 80 characters")
        vif_id = f"dxvif-{secrets.token_hex(4)}"
        where = self.interconnects[self._parents.get(conn, conn)]
        asn = int(new.get("asn", 0))
        if not new.get("amazonAddress"):  # AWS picks a pair from 169.254.0.0/16 when none is given
            net = IPv4Network(f"169.254.{secrets.randbelow(255)}.{secrets.randbelow(63) * 4}/30")
            new = new | {"customerAddress": f"{net[1]}/30", "amazonAddress": f"{net[2]}/30"}
        peer = {
            "bgpPeerId": f"dxpeer-{secrets.token_hex(4)}",
            "asn": asn,
            "authKey": key,
            "addressFamily": new.get("addressFamily", "ipv4"),
            "amazonAddress": new.get("amazonAddress"),
            "customerAddress": new.get("customerAddress"),
            "bgpPeerState": "pending",
            "bgpStatus": "down",
        }
        vif: dict[str, Any] = {
            "ownerAccount": owner,
            "virtualInterfaceId": vif_id,
            "location": where.location,
            "connectionId": conn,
            "virtualInterfaceType": "private",
            "virtualInterfaceName": new.get("virtualInterfaceName", ""),
            "vlan": vlan,
            "asn": asn,
            "amazonSideAsn": 64512,
            "authKey": key,
            "amazonAddress": new.get("amazonAddress"),
            "customerAddress": new.get("customerAddress"),
            "addressFamily": new.get("addressFamily", "ipv4"),
            "virtualInterfaceState": "confirming",
            "mtu": mtu,
            "jumboFrameCapable": mtu == 8500,
            "bgpPeers": [peer],
            "region": where.region,
        }
        for gateway in ("virtualGatewayId", "directConnectGatewayId"):
            if new.get(gateway):
                vif[gateway] = new[gateway]
        self.vifs[vif_id] = vif
        return vif

    def _vlan_free(self, conn: str, vlan: int) -> None:
        if not 1 <= vlan <= 4094:
            raise ClientError(f"VLAN {vlan} is not between 1 and 4094")
        live_vifs = [
            v["vlan"]
            for v in self.vifs.values()
            if v["connectionId"] == conn and v["virtualInterfaceState"] != "deleted"
        ]
        live_hosted = [
            c["vlan"]
            for cid, c in self.hosted.items()
            if self._parents[cid] == conn and c["connectionState"] != "deleted"
        ]
        if vlan in live_vifs + live_hosted:
            raise ClientError(f"VLAN {vlan} is already in use on {conn}")

    def _schedule_ready(self, vif: dict[str, Any]) -> None:
        line = self.clock.timeline(vif["virtualInterfaceId"])
        line.clear()
        ready = self.clock.now() + self.behaviour.provisioning_s
        line.at(ready, lambda: self._available(vif))
        if self.behaviour.down_after_s is not None:
            line.at(ready + self.behaviour.down_after_s, lambda: self._down(vif))

    @staticmethod
    def _move(item: dict[str, Any], was: str, now: str, key: str = "virtualInterfaceState") -> None:
        if item[key] == was:  # a change the customer or a delete made meanwhile wins
            item[key] = now

    def _available(self, vif: dict[str, Any]) -> None:
        """AWS's side provisioned: its edge configured; `available` with BGP up, or (the
        Behaviour's bgp_down, as AWS shows a VIF whose other side is not up yet) `down`."""
        if vif["virtualInterfaceState"] != "pending":
            return
        bgp = "down" if self.behaviour.bgp_down else "up"
        vif["virtualInterfaceState"] = "down" if self.behaviour.bgp_down else "available"
        vif["bgpPeers"][0].update(bgpPeerState="available", bgpStatus=bgp)
        if self.hook is not None:
            self.hook.up(self._peer(vif))
            self._edged.add(vif["virtualInterfaceId"])

    def _down(self, vif: dict[str, Any]) -> None:
        if vif["virtualInterfaceState"] != "available":
            return
        vif["virtualInterfaceState"] = "down"
        vif["bgpPeers"][0]["bgpStatus"] = "down"
        self._unedge(vif)

    def _unedge(self, vif: dict[str, Any]) -> None:
        """Its cloud edge unconfigured, if the hook configured it."""
        if vif["virtualInterfaceId"] in self._edged and self.hook is not None:
            self._edged.discard(vif["virtualInterfaceId"])
            self.hook.down(self._peer(vif))

    def _peer(self, vif: dict[str, Any]) -> CloudPeer:
        conn = vif["connectionId"]
        return CloudPeer(
            provider="aws",
            connection=self._parents.get(conn, conn),  # a hosted connection's interconnect
            vlan=vif["vlan"],
            inner_vlan=None,
            address=vif["amazonAddress"],
            neighbor=str(IPv4Interface(vif["customerAddress"]).ip),
            remote_as=vif["asn"],
            password=vif["authKey"],
        )

    def _partner(self, caller: str) -> None:
        if caller != PARTNER_ACCOUNT:
            raise ClientError("only the interconnect's owner may do this", "AccessDeniedException")

    def _vif(self, body: dict[str, Any], caller: str, owner: bool = False) -> dict[str, Any]:
        vif = self.vifs.get(body.get("virtualInterfaceId", ""))
        allowed = {vif["ownerAccount"]} | (set() if owner else {PARTNER_ACCOUNT}) if vif else set()
        if vif is None or vif["virtualInterfaceState"] == "deleted" or caller not in allowed:
            raise ClientError(f"Virtual interface {body.get('virtualInterfaceId')} does not exist")
        return vif

    def _hosted(self, body: dict[str, Any], caller: str, owner: bool = False) -> dict[str, Any]:
        conn = self.hosted.get(body.get("connectionId", ""))
        allowed = (
            {conn["ownerAccount"]} | (set() if owner else {PARTNER_ACCOUNT}) if conn else set()
        )
        if conn is None or conn["connectionState"] == "deleted" or caller not in allowed:
            raise ClientError(f"Connection {body.get('connectionId')} does not exist")
        return conn

    def snapshot(self) -> dict[str, Any]:
        with self.clock.lock:
            return {"hosted_connections": self.hosted, "virtual_interfaces": self.vifs}


def _handler(service: DirectConnect) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            if self.path == "/_sim/state":
                self.send(200, json.dumps(service.snapshot()).encode(), "application/json")
            else:
                self.send(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            raw = self.body()
            if self.path.startswith("/_sim/"):
                self._admin(self.path.removeprefix("/_sim/"), json.loads(raw or b"{}"))
                return
            if self.path.startswith(CBOR_PREFIX):
                op, cbor = self.path.removeprefix(CBOR_PREFIX), True
                body = cbor2.loads(raw) if raw else {}
            elif self.headers.get("X-Amz-Target", "").startswith(JSON_TARGET):
                op, cbor = self.headers["X-Amz-Target"].removeprefix(JSON_TARGET), False
                body = json.loads(raw or b"{}")
            else:
                self.send(
                    400, b"expected smithy-rpc-v2-cbor or JSON 1.1 (X-Amz-Target)", "text/plain"
                )
                return
            service.protocols.append("smithy-rpc-v2-cbor" if cbor else "json")
            key = CREDENTIAL.search(self.headers.get("Authorization", ""))
            try:
                status, out = 200, service.call(op, body, key.group(1) if key else "")
            except ClientError as exc:
                status = 500 if isinstance(exc, ServerError) else 400
                out = {"__type": exc.kind, "message": str(exc)}
            headers = {"x-amzn-RequestId": secrets.token_hex(8)}
            if cbor:
                headers["smithy-protocol"] = "rpc-v2-cbor"
                self.send(status, cbor2.dumps(out), "application/cbor", headers)
            else:
                self.send(status, json.dumps(out).encode(), "application/x-amz-json-1.1", headers)

        def _admin(self, what: str, data: dict[str, Any]) -> None:
            """Drive a simulator in another process: the customer's behaviour, faults, and
            customer accounts (POST /_sim/customers {"account"} -> {"access_key"})."""
            out = steer(service, what, data)
            if out is None and what == "customers":
                out = {"access_key": service.customer(str(data["account"]))}
            self.admin(out)

    return Handler


def from_inventory(bb: Backbone, account: str | None = None) -> DirectConnect:
    """The service for our AWS ports in `bb`. `account` is unused: AWS knows the partner by
    its access key (`PARTNER_KEY`), not by an account onramp is configured with."""
    return DirectConnect(interconnects=by_connection(provider_ports(bb, "aws")))


@contextmanager
def serve(
    service: DirectConnect | None = None, port: int = 0
) -> Iterator[tuple[str, DirectConnect]]:
    """Run the simulator in this process on 127.0.0.1; yields (endpoint URL, state)."""
    service = service or DirectConnect()
    with serve_http(_handler(service), service, port) as url:
        yield url, service
