"""AWS Direct Connect simulator: the partner-side operations onramp calls, over the wire
protocols botocore speaks, so the unmodified boto3 client works against it.

botocore 1.44's Direct Connect model lists smithy-rpc-v2-cbor first (`POST
/service/OvertureService/operation/<Op>`, CBOR bodies), JSON 1.1 second (`POST /`,
`X-Amz-Target: OvertureService.<Op>`); both are answered, anything else is refused with
a message naming the protocol. State is in memory; the rules are AWS's (csp/aws/
constraints.yaml, ../shared/design/CSP.md): VLAN 1-4094 unique per connection, MTU 1500
or 8500, MD5 key 6-80 characters, VIF states confirming -> pending -> available.

Issue 6 groundwork: partner operations, the customer's confirmation, throttling / 5xx /
lost-response faults. Still to come: hosted connections, customer behaviours, lab attachment.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cbor2

CBOR_PREFIX = "/service/OvertureService/operation/"
JSON_TARGET = "OvertureService."
LOCATION = "EqPA2"  # an AWS Direct Connect location code (Equinix PA2, Paris)


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
    """The service's state: our interconnects (connections) and the VIFs on them."""

    owner: str = "111111111111"  # our (the partner's) account
    connections: set[str] = field(default_factory=lambda: {"dxcon-onramp01"})
    vifs: dict[str, dict[str, Any]] = field(default_factory=dict)
    protocols: list[str] = field(default_factory=list)  # the wire protocol of each call
    # faults, switchable per test: answer the next N calls with throttling / a 5xx, or do
    # the next call's work and then answer 5xx (a response lost on the way back)
    throttle_next: int = 0
    fail_next: int = 0
    lose_next_response: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, op: str, body: dict[str, Any]) -> dict[str, Any]:
        handler: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(self, f"op_{op}", None)
        if handler is None:
            raise ClientError(f"operation {op} is not simulated", "UnsupportedOperation")
        with self.lock:
            if self.throttle_next:
                self.throttle_next -= 1
                raise ClientError("Rate exceeded", "ThrottlingException")
            if self.fail_next:
                self.fail_next -= 1
                raise ServerError("internal error")
            out = handler(body)
            if self.lose_next_response:
                self.lose_next_response -= 1
                raise ServerError("internal error after the work was done")
            return out

    # partner operations -------------------------------------------------
    def op_AllocatePrivateVirtualInterface(self, body: dict[str, Any]) -> dict[str, Any]:
        conn = body.get("connectionId", "")
        if conn not in self.connections:
            raise ClientError(f"Connection {conn} does not exist")
        new = body.get("newPrivateVirtualInterfaceAllocation") or {}
        vlan, mtu = int(new.get("vlan", 0)), int(new.get("mtu", 1500))
        if not 1 <= vlan <= 4094:
            raise ClientError(f"VLAN {vlan} is not between 1 and 4094")
        if any(
            v["connectionId"] == conn
            and v["vlan"] == vlan
            and v["virtualInterfaceState"] != "deleted"
            for v in self.vifs.values()
        ):
            raise ClientError(f"VLAN {vlan} is already in use on {conn}")
        if mtu not in (1500, 8500):
            raise ClientError(f"MTU {mtu} is not 1500 or 8500")
        key = new.get("authKey") or secrets.token_hex(12)
        if not 6 <= len(key) <= 80:
            raise ClientError("BGP authentication key must be 6 to 80 characters")
        vif_id = f"dxvif-{secrets.token_hex(4)}"
        peer = {
            "bgpPeerId": f"dxpeer-{secrets.token_hex(4)}",
            "asn": int(new.get("asn", 0)),
            "authKey": key,
            "addressFamily": new.get("addressFamily", "ipv4"),
            "amazonAddress": new.get("amazonAddress"),
            "customerAddress": new.get("customerAddress"),
            "bgpPeerState": "pending",
            "bgpStatus": "down",
        }
        self.vifs[vif_id] = {
            "ownerAccount": body.get("ownerAccount"),
            "virtualInterfaceId": vif_id,
            "location": LOCATION,
            "connectionId": conn,
            "virtualInterfaceType": "private",
            "virtualInterfaceName": new.get("virtualInterfaceName", ""),
            "vlan": vlan,
            "asn": int(new.get("asn", 0)),
            "amazonSideAsn": 64512,
            "authKey": key,
            "amazonAddress": new.get("amazonAddress"),
            "customerAddress": new.get("customerAddress"),
            "addressFamily": new.get("addressFamily", "ipv4"),
            "virtualInterfaceState": "confirming",
            "mtu": mtu,
            "jumboFrameCapable": mtu == 8500,
            "bgpPeers": [peer],
            "region": "eu-west-3",
        }
        return dict(self.vifs[vif_id])

    def op_DescribeVirtualInterfaces(self, body: dict[str, Any]) -> dict[str, Any]:
        wanted = body.get("virtualInterfaceId")
        conn = body.get("connectionId")
        found = [
            dict(v)
            for v in self.vifs.values()
            if (wanted is None or v["virtualInterfaceId"] == wanted)
            and (conn is None or v["connectionId"] == conn)
        ]
        if wanted and not found:
            raise ClientError(f"Virtual interface {wanted} does not exist")
        return {"virtualInterfaces": found}

    def op_DeleteVirtualInterface(self, body: dict[str, Any]) -> dict[str, Any]:
        vif = self._vif(body)
        vif["virtualInterfaceState"] = "deleted"
        return {"virtualInterfaceState": "deleting"}

    # the customer's side ------------------------------------------------
    def op_ConfirmPrivateVirtualInterface(self, body: dict[str, Any]) -> dict[str, Any]:
        vif = self._vif(body)
        if vif["virtualInterfaceState"] != "confirming":
            raise ClientError(
                f"{vif['virtualInterfaceId']} is {vif['virtualInterfaceState']}, not confirming"
            )
        if not (body.get("virtualGatewayId") or body.get("directConnectGatewayId")):
            raise ClientError("a virtual private gateway or a Direct Connect gateway is required")
        vif["virtualInterfaceState"] = "pending"
        return {"virtualInterfaceState": "pending"}

    def _vif(self, body: dict[str, Any]) -> dict[str, Any]:
        vif = self.vifs.get(body.get("virtualInterfaceId", ""))
        if vif is None or vif["virtualInterfaceState"] == "deleted":
            raise ClientError(f"Virtual interface {body.get('virtualInterfaceId')} does not exist")
        return vif


def _handler(service: DirectConnect) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet: tests read results, not logs
            return None

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith(CBOR_PREFIX):
                op, cbor = self.path.removeprefix(CBOR_PREFIX), True
                body = cbor2.loads(raw) if raw else {}
            elif self.headers.get("X-Amz-Target", "").startswith(JSON_TARGET):
                op, cbor = self.headers["X-Amz-Target"].removeprefix(JSON_TARGET), False
                body = json.loads(raw or b"{}")
            else:
                self._send(
                    400, b"expected smithy-rpc-v2-cbor or JSON 1.1 (X-Amz-Target)", "text/plain"
                )
                return
            service.protocols.append("smithy-rpc-v2-cbor" if cbor else "json")
            try:
                status, out = 200, service.call(op, body)
            except ClientError as exc:
                status = 500 if isinstance(exc, ServerError) else 400
                out = {"__type": exc.kind, "message": str(exc)}
            if cbor:
                self._send(
                    status, cbor2.dumps(out), "application/cbor", {"smithy-protocol": "rpc-v2-cbor"}
                )
            else:
                self._send(status, json.dumps(out).encode(), "application/x-amz-json-1.1")

        def _send(
            self, status: int, data: bytes, ctype: str, extra: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", secrets.token_hex(8))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def serve(
    service: DirectConnect | None = None, port: int = 0
) -> Iterator[tuple[str, DirectConnect]]:
    """Run the simulator in this process on 127.0.0.1; yields (endpoint URL, state)."""
    service = service or DirectConnect()
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(service))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", service
    finally:
        server.shutdown()
        server.server_close()
