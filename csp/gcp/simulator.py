"""Google Cloud Partner Interconnect simulator: the Compute Engine REST calls a partner makes
for partner attachments, so the unmodified google-cloud-compute client works against it
(`transport="rest"`, `AnonymousCredentials`, `api_endpoint` pointing here).

Routes (all under /compute/v1/projects/<project>/regions/<region>/): interconnectAttachments
insert, list, get, delete, setLabels, and the regional operations they return (get, wait).
Mutations
answer with a compute Operation that is RUNNING and DONE from the next read on, as Compute's
are: a client that skips polling would not notice anything missing here either.

Google's rules (csp/gcp/constraints.yaml, the InterconnectAttachment reference): the customer
makes a PARTNER attachment and gives us its pairing key `<uuid>/<region>/<domain>`
(`customer_attachment`); we make a PARTNER_PROVIDER attachment on our interconnect naming
that key, in the key's region; names are RFC 1035 and unique per region; VLAN 2-4093, unique
per interconnect among existing attachments; bandwidth one of Google's BPS_* values; Google
picks the /29 from `candidateSubnets` (else from all of 169.254.0.0/16): Cloud Router takes
the first usable address, the partner's router the second.

States, as the reference defines them: ours is PARTNER_REQUEST_RECEIVED while the insert
runs, then PENDING_CUSTOMER (waiting for the customer to activate it); the customer
activates -> UNPROVISIONED (turn-up not complete) for `provisioning_s` -> ACTIVE, which
brings Cloud Router's BGP session up in the lab. The customer rejecting is the customer
deleting their attachment: ours becomes DEFUNCT ("the other side of a Partner attachment
was deleted"); `down_after_s` is the same thing after ACTIVE, and takes the lab session down.
There is no MD5 key on a partner attachment, so the lab peer has no password.

Our interconnects come from the inventory (`from_inventory`; without one, the
repository's): each Google on-ramp port's `csp_connection` is an interconnect, serving the
on-ramp's region (`csp_region`): an attachment in another region is refused, and a pairing
key is made in the first interconnect's region unless one is asked for. Our project is
config.yaml's `csp.gcp.account` when set.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import IPv4Interface, IPv4Network
from typing import Any
from urllib.parse import urlsplit

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

PARTNER_PROJECT = "onramp-partner"
CUSTOMER_PROJECT = "customer-project"  # where the simulated customers' attachments live
API = "https://www.googleapis.com/compute/v1/"  # the prefix of every URL Compute returns
ROUTE = re.compile(
    r"/compute/v1/projects/(?P<project>[^/]+)/regions/(?P<region>[^/]+)/"
    r"(?P<collection>interconnectAttachments|operations)(?:/(?P<name>[^/]+))?"
    r"(?:/(?P<verb>wait|setLabels))?"
)
NAME = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
PAIRING_KEY = re.compile(r"[0-9a-f-]{36}/(?P<region>[a-z]+-[a-z]+[0-9]+)/(?P<domain>[12])")
BANDWIDTHS = ("BPS_50M", "BPS_100M", "BPS_200M", "BPS_300M", "BPS_400M", "BPS_500M",
              "BPS_1G", "BPS_2G", "BPS_5G", "BPS_10G", "BPS_20G", "BPS_50G", "BPS_100G",
              "BPS_400G")  # fmt: skip
MTUS = (1440, 1460, 1500, 8896)
LINK_LOCAL = IPv4Network("169.254.0.0/16")
STATUS = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 409: "ALREADY_EXISTS",
          412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}  # fmt: skip
LABEL_KEY = re.compile(r"[a-z][-_a-z0-9]{0,62}")
LABEL_VALUE = re.compile(r"[-_a-z0-9]{0,63}")


class ApiError(Exception):
    """An error Compute answers with this HTTP status and its JSON error body."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason

    def body(self) -> dict[str, Any]:
        message = str(self)
        return {
            "error": {
                "code": self.code,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": self.reason}],
                "status": STATUS.get(self.code, "UNKNOWN"),
            }
        }


def invalid(field_name: str, value: Any, why: str) -> ApiError:
    """Compute's words for a refused field of the request's resource."""
    return ApiError(
        400, "invalid", f"Invalid value for field 'resource.{field_name}': '{value}'. {why}"
    )


def _timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _fingerprint() -> str:
    """Compute's label fingerprints: a hash of the labels, 8 bytes in base64."""
    return base64.b64encode(secrets.token_bytes(8)).decode()


def _labels(given: dict[str, Any]) -> dict[str, str]:
    """Compute's label rules: at most 64; keys and values short, lowercase, plain."""
    fine = all(
        LABEL_KEY.fullmatch(k) and isinstance(v, str) and LABEL_VALUE.fullmatch(v)
        for k, v in given.items()
    )
    if not fine or len(given) > 64:
        raise invalid("labels", given, "Keys: [a-z][-_a-z0-9]{0,62}, values [-_a-z0-9]{0,63}.")
    return dict(given)


def _numeric_id() -> str:
    """Compute's resource ids: unsigned 64-bit numbers, as strings in JSON."""
    return str(secrets.randbits(63))


@dataclass
class Compute:
    """The service's state: our interconnects, the customers' pairing keys, our attachments
    (as Compute returns them) and the operations that made or deleted them."""

    clock: Clock = field(default_factory=Clock)
    behaviour: Behaviour = field(default_factory=Behaviour)
    faults: Faults = field(default_factory=Faults)
    hook: LabHook | None = None
    project: str = PARTNER_PROJECT
    # our interconnects: name -> where Google has it (the region its attachments are in)
    interconnects: dict[str, ProviderPort] = field(
        default_factory=lambda: by_connection(default_ports("gcp"))
    )
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)  # pairing key -> theirs
    attachments: dict[str, dict[str, Any]] = field(default_factory=dict)  # "<region>/<name>"
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)  # "<region>/<name>"
    _keys: dict[str, str] = field(default_factory=dict)  # attachment -> pairing key (input only)
    calls: list[str] = field(default_factory=list)  # operations that did their work

    @property
    def account(self) -> str:
        """What config.yaml's `csp.gcp.account` must say: our project."""
        return self.project

    def customer_attachment(self, region: str = "", edge_availability_domain: int = 1) -> str:
        """The customer makes a PARTNER attachment in their project (in `region`; unnamed:
        our first interconnect's); returns its pairing key."""
        region = region or next(iter(self.interconnects.values())).region
        key = f"{uuid.uuid4()}/{region}/{edge_availability_domain}"
        name = f"customer-{secrets.token_hex(4)}"
        with self.clock.lock:
            self.customers[key] = {
                "name": name,
                "selfLink": f"{API}projects/{CUSTOMER_PROJECT}/regions/{region}/interconnectAttachments/{name}",
                "type": "PARTNER",
                "state": "PENDING_PARTNER",
                "pairingKey": key,
                "edgeAvailabilityDomain": f"AVAILABILITY_DOMAIN_{edge_availability_domain}",
            }
        return key

    def dispatch(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one API call: (HTTP status, JSON body), errors in Compute's error shape."""
        try:
            return 200, self.call(method, path, body)
        except ApiError as exc:
            return exc.code, exc.body()

    def call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        route = ROUTE.fullmatch(path)
        if route is None:
            raise ApiError(404, "notFound", f"The requested URL {path} was not found")
        project, region, collection, name, verb = route.group(
            "project", "region", "collection", "name", "verb"
        )
        if project != self.project:
            raise ApiError(404, "notFound", f"The resource 'projects/{project}' was not found")
        handler = self._handler(method, collection, name, verb)
        with self.clock.lock:
            self.clock.tick()
            match self.faults.before():
                case "throttle":
                    raise ApiError(429, "rateLimitExceeded", "Rate Limit Exceeded")
                case "fail":
                    raise ApiError(503, "backendError", "The service is currently unavailable")
            out = handler(region, name or "", body)
            self.calls.append(handler.__name__.removeprefix("op_"))
            if self.faults.after():
                raise ApiError(503, "backendError", "The service is currently unavailable")
            return out

    def _handler(
        self, method: str, collection: str, name: str | None, verb: str | None
    ) -> Callable[[str, str, dict[str, Any]], dict[str, Any]]:
        routes: dict[
            tuple[str, str, bool, str | None],
            Callable[[str, str, dict[str, Any]], dict[str, Any]],
        ] = {
            ("POST", "interconnectAttachments", False, None): self.op_insert,
            ("GET", "interconnectAttachments", False, None): self.op_list,
            ("GET", "interconnectAttachments", True, None): self.op_get,
            ("DELETE", "interconnectAttachments", True, None): self.op_delete,
            ("POST", "interconnectAttachments", True, "setLabels"): self.op_set_labels,
            ("GET", "operations", True, None): self.op_get_operation,
            ("POST", "operations", True, "wait"): self.op_wait_operation,
        }
        handler = routes.get((method, collection, name is not None, verb))
        if handler is None:
            raise ApiError(
                405, "httpMethodNotAllowed", f"{method} is not simulated on {collection}"
            )
        return handler

    # interconnectAttachments ------------------------------------------
    def op_insert(self, region: str, _: str, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("name", ""))
        if not NAME.fullmatch(name):
            raise invalid("name", name, "Must be a match of regex '[a-z]([-a-z0-9]*[a-z0-9])?'")
        if f"{region}/{name}" in self.attachments:
            raise ApiError(
                409, "alreadyExists", f"The resource '{self._path(region, name)}' already exists"
            )
        if body.get("type") != "PARTNER_PROVIDER":
            raise invalid(
                "type", body.get("type"), "A partner's project makes PARTNER_PROVIDER attachments."
            )
        key = self._pairing_key(str(body.get("pairingKey", "")), region)
        interconnect = self._interconnect(str(body.get("interconnect", "")))
        if self.interconnects[interconnect].region != region:
            raise invalid(
                "interconnect",
                body.get("interconnect"),
                f"Interconnect {interconnect} serves region "
                f"{self.interconnects[interconnect].region}, not {region}.",
            )
        vlan = int(body.get("vlanTag8021q", 0))
        self._vlan_free(interconnect, vlan)
        if body.get("bandwidth") not in BANDWIDTHS:
            raise invalid(
                "bandwidth", body.get("bandwidth"), f"Must be one of {', '.join(BANDWIDTHS)}."
            )
        mtu = int(body.get("mtu", 1440))
        if mtu not in MTUS:
            raise invalid("mtu", mtu, f"Must be one of {MTUS}.")
        metadata = body.get("partnerMetadata") or {}
        if not all(metadata.get(k) for k in ("partnerName", "interconnectName", "portalUrl")):
            raise invalid(
                "partnerMetadata",
                metadata,
                "partnerName, interconnectName and portalUrl are required.",
            )
        labels = _labels(body.get("labels") or {})
        subnet = self._subnet(list(body.get("candidateSubnets") or []))
        hosts = list(subnet.hosts())
        attachment: dict[str, Any] = {
            "kind": "compute#interconnectAttachment",
            "id": _numeric_id(),
            "creationTimestamp": _timestamp(),
            "name": name,
            "description": str(body.get("description", "")),
            "selfLink": f"{API}{self._path(region, name)}",
            "region": f"{API}projects/{self.project}/regions/{region}",
            "interconnect": f"{API}projects/{self.project}/global/interconnects/{interconnect}",
            "type": "PARTNER_PROVIDER",
            "state": "PARTNER_REQUEST_RECEIVED",
            "operationalStatus": "OS_UNPROVISIONED",
            "vlanTag8021q": vlan,
            "bandwidth": body["bandwidth"],
            "mtu": mtu,
            "partnerAsn": str(int(body.get("partnerAsn", 0))),
            "partnerMetadata": metadata,
            "cloudRouterIpAddress": f"{hosts[0]}/{subnet.prefixlen}",
            "customerRouterIpAddress": f"{hosts[1]}/{subnet.prefixlen}",
            "googleReferenceId": _numeric_id(),
            "dataplaneVersion": 2,
            "stackType": "IPV4_ONLY",
            "labelFingerprint": _fingerprint(),
        }
        if labels:  # Compute leaves out an empty map
            attachment["labels"] = labels
        where = f"{region}/{name}"
        self.attachments[where] = attachment
        self._keys[where] = key
        self.customers[key]["state"] = "PARTNER_REQUEST_RECEIVED"
        operation = self._operation(region, "insert", attachment)
        line = self.clock.timeline(where)
        line.at(self.clock.now(), lambda: self._provisioned(attachment, key))
        customer_timeline(
            self.clock,
            where,
            self.behaviour,
            accepted=lambda: self._activated(attachment, key),
            rejected=lambda: self._customer_deleted(where),
            ready=lambda: self._active(attachment, key),
            down=lambda: self._customer_deleted(where),
        )
        return operation

    def op_list(self, region: str, _: str, __: dict[str, Any]) -> dict[str, Any]:
        items = [dict(a) for where, a in self.attachments.items() if where.startswith(f"{region}/")]
        path = f"projects/{self.project}/regions/{region}/interconnectAttachments"
        out = {"kind": "compute#interconnectAttachmentList", "id": path, "selfLink": f"{API}{path}"}
        return out | ({"items": items} if items else {})  # Compute leaves out an empty list

    def op_get(self, region: str, name: str, _: dict[str, Any]) -> dict[str, Any]:
        return dict(self._attachment(region, name))

    def op_set_labels(self, region: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """All the labels at once, given the fingerprint of the ones they replace."""
        attachment = self._attachment(region, name)
        if body.get("labelFingerprint") != attachment["labelFingerprint"]:
            raise ApiError(
                412,
                "conditionNotMet",
                "Labels fingerprint either invalid or resource labels have changed",
            )
        labels = _labels(body.get("labels") or {})
        attachment.pop("labels", None)
        attachment.update({"labels": labels} if labels else {}, labelFingerprint=_fingerprint())
        return self._operation(region, "setLabels", attachment)

    def op_delete(self, region: str, name: str, _: dict[str, Any]) -> dict[str, Any]:
        attachment = self._attachment(region, name)
        where = f"{region}/{name}"
        del self.attachments[where]
        self.clock.timeline(where).clear()
        customer = self.customers.get(self._keys.pop(where))
        if customer is not None:  # the other side of their Partner attachment is gone
            customer["state"] = "DEFUNCT"
        if attachment["state"] == "ACTIVE" and self.hook is not None:
            self.hook.down(self._peer(attachment))
        return self._operation(region, "delete", attachment)

    # operations -------------------------------------------------------
    def op_get_operation(self, region: str, name: str, _: dict[str, Any]) -> dict[str, Any]:
        operation = self.operations.get(f"{region}/{name}")
        if operation is None:
            raise ApiError(
                404,
                "notFound",
                f"The resource 'projects/{self.project}/regions/{region}/operations/{name}' was not found",
            )
        return dict(operation)

    def op_wait_operation(self, region: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Compute's wait returns when the operation is done or after a while; here every
        operation is done by the time anyone asks again."""
        return self.op_get_operation(region, name, body)

    # state ------------------------------------------------------------
    def _operation(self, region: str, kind: str, target: dict[str, Any]) -> dict[str, Any]:
        name = f"operation-{int(time.time() * 1000)}-{secrets.token_hex(6)}"
        now = _timestamp()
        operation: dict[str, Any] = {
            "kind": "compute#operation",
            "id": _numeric_id(),
            "name": name,
            "operationType": kind,
            "targetLink": target["selfLink"],
            "targetId": target["id"],
            "status": "RUNNING",
            "user": f"onramp@{self.project}.iam.gserviceaccount.com",
            "progress": 0,
            "insertTime": now,
            "startTime": now,
            "selfLink": f"{API}projects/{self.project}/regions/{region}/operations/{name}",
            "region": f"{API}projects/{self.project}/regions/{region}",
        }
        self.operations[f"{region}/{name}"] = operation

        def done() -> None:
            operation.update(status="DONE", progress=100, endTime=_timestamp())

        self.clock.timeline(f"{region}/{name}").at(self.clock.now(), done)
        return dict(operation)

    def _provisioned(self, attachment: dict[str, Any], key: str) -> None:
        """Google has taken our request: both sides wait for the customer to activate."""
        if attachment["state"] == "PARTNER_REQUEST_RECEIVED":
            attachment["state"] = self.customers[key]["state"] = "PENDING_CUSTOMER"

    def _activated(self, attachment: dict[str, Any], key: str) -> None:
        if attachment["state"] == "PENDING_CUSTOMER":
            attachment["state"] = self.customers[key]["state"] = "UNPROVISIONED"

    def _active(self, attachment: dict[str, Any], key: str) -> None:
        if attachment["state"] != "UNPROVISIONED":
            return
        attachment.update(state="ACTIVE", operationalStatus="OS_ACTIVE")
        self.customers[key]["state"] = "ACTIVE"
        if self.hook is not None:
            self.hook.up(self._peer(attachment))

    def _customer_deleted(self, where: str) -> None:
        """The customer deletes their PARTNER attachment (instead of activating it, or
        later): ours stays, DEFUNCT, until we delete it."""
        attachment = self.attachments[where]
        self.customers.pop(self._keys[where], None)
        was = attachment["state"]
        attachment.update(state="DEFUNCT", operationalStatus="OS_UNPROVISIONED")
        if was == "ACTIVE" and self.hook is not None:
            self.hook.down(self._peer(attachment))

    def _pairing_key(self, key: str, region: str) -> str:
        shape = PAIRING_KEY.fullmatch(key)
        if shape is None:
            raise invalid("pairingKey", key, "Expected <uuid>/<region>/<1|2>.")
        customer = self.customers.get(key)
        if customer is None or customer["state"] == "DEFUNCT":
            raise invalid("pairingKey", key, "The pairing key was not found.")
        if shape.group("region") != region:
            raise invalid(
                "pairingKey",
                key,
                f"The pairing key is for region {shape.group('region')}, not {region}.",
            )
        used = [where for where, k in self._keys.items() if k == key]
        if used:
            raise invalid("pairingKey", key, f"The pairing key is already used by {used[0]}.")
        return key

    def _interconnect(self, given: str) -> str:
        """Our interconnect, named by its URL (as Compute returns it) or by its name."""
        name = given.rsplit("/", 1)[-1]
        if given not in (name, f"{API}projects/{self.project}/global/interconnects/{name}") or (
            name not in self.interconnects
        ):
            raise invalid(
                "interconnect", given, f"No interconnect of project {self.project} has this name."
            )
        return name

    def _vlan_free(self, interconnect: str, vlan: int) -> None:
        if not 2 <= vlan <= 4093:
            raise invalid("vlanTag8021q", vlan, "VLAN tag must be in the range 2-4093.")
        if any(
            a["vlanTag8021q"] == vlan and a["interconnect"].endswith(f"/{interconnect}")
            for a in self.attachments.values()
        ):
            raise invalid(
                "vlanTag8021q",
                vlan,
                f"VLAN tag {vlan} is already in use on interconnect {interconnect}.",
            )

    def _subnet(self, candidates: list[str]) -> IPv4Network:
        """The first unused /29 of the candidates, in their order; any unused one without."""
        used = {IPv4Interface(a["cloudRouterIpAddress"]).network for a in self.attachments.values()}
        if len(candidates) > 16:
            raise invalid("candidateSubnets", candidates, "At most 16 candidate subnets.")
        try:
            nets = [IPv4Network(c) for c in candidates]
        except ValueError as exc:
            raise invalid("candidateSubnets", candidates, str(exc)) from None
        if any(not n.subnet_of(LINK_LOCAL) or n.prefixlen > 29 for n in nets):
            raise invalid(
                "candidateSubnets", candidates, "Each must be a /29 or shorter in 169.254.0.0/16."
            )
        for net in nets:
            free = next((s for s in net.subnets(new_prefix=29) if s not in used), None)
            if free is not None:
                return free
        if nets:
            raise invalid(
                "candidateSubnets", candidates, "All /29 subnets in the candidates are in use."
            )
        while True:  # 8192 /29s: a random pick is free almost always
            pick = IPv4Network(f"169.254.{secrets.randbelow(256)}.{secrets.randbelow(32) * 8}/29")
            if pick not in used:
                return pick

    def _attachment(self, region: str, name: str) -> dict[str, Any]:
        attachment = self.attachments.get(f"{region}/{name}")
        if attachment is None:
            raise ApiError(
                404, "notFound", f"The resource '{self._path(region, name)}' was not found"
            )
        return attachment

    def _path(self, region: str, name: str) -> str:
        return f"projects/{self.project}/regions/{region}/interconnectAttachments/{name}"

    def _peer(self, attachment: dict[str, Any]) -> CloudPeer:
        return CloudPeer(
            provider="gcp",
            connection=attachment["interconnect"].rsplit("/", 1)[-1],
            vlan=attachment["vlanTag8021q"],
            inner_vlan=None,
            address=attachment["cloudRouterIpAddress"],
            neighbor=str(IPv4Interface(attachment["customerRouterIpAddress"]).ip),
            remote_as=int(attachment["partnerAsn"]),
            password=None,
        )

    def snapshot(self) -> dict[str, Any]:
        with self.clock.lock:
            return {"attachments": self.attachments, "customer_attachments": self.customers}


def _handler(service: Compute) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            if self.path == "/_sim/state":
                self.send(200, json.dumps(service.snapshot()).encode(), "application/json")
            else:
                self._api()

        def do_DELETE(self) -> None:
            self._api()

        def do_POST(self) -> None:
            if self.path.startswith("/_sim/"):
                self._admin(self.path.removeprefix("/_sim/"), json.loads(self.body() or b"{}"))
            else:
                self._api()

        def _api(self) -> None:
            raw = self.body()
            status, out = service.dispatch(
                self.command, urlsplit(self.path).path, json.loads(raw) if raw else {}
            )
            self.send(status, json.dumps(out).encode(), "application/json; charset=UTF-8")

        def _admin(self, what: str, data: dict[str, Any]) -> None:
            """Drive a simulator in another process: the customer's behaviour, faults, and
            customers' pairing keys (POST /_sim/pairing-keys {"region",
            "edge_availability_domain"} -> {"pairing_key"})."""
            out = steer(service, what, data)
            if out is None and what == "pairing-keys":
                out = {"pairing_key": service.customer_attachment(**data)}
            self.admin(out)

    return Handler


def from_inventory(bb: Backbone, account: str | None = None) -> Compute:
    """The service for our Google interconnects in `bb`, in project `account` (config.yaml's
    `csp.gcp.account`; None: `PARTNER_PROJECT`)."""
    ports = provider_ports(bb, "gcp")
    return Compute(project=account or PARTNER_PROJECT, interconnects=by_connection(ports))


@contextmanager
def serve(service: Compute | None = None, port: int = 0) -> Iterator[tuple[str, Compute]]:
    """Run the simulator in this process on 127.0.0.1; yields (endpoint URL, state)."""
    service = service or Compute()
    with serve_http(_handler(service), service, port) as url:
        yield url, service
