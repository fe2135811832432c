"""How each provider plays the adapter contract (test_contract.py), as napalm's drivers
each feed `BaseTestGetters`: its real simulator served over HTTP (the real SDK talks to
it), its adapter built with the constructor csp.registry uses, a valid request, and the
simulator's own controls for the customer's side, the provider's time and the faults.

What a provider can be asked to do is data (`can`); a scenario runs for the cases that
can, and never names a provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from sqlalchemy import select

from onramp.core.secrets import Vault
from onramp.core.store import Store, TicketRow
from onramp.csp.adapter import Adapter, CspResource, CspState, PeeringRequest, Session
from onramp.csp.alibaba import simulator as alibaba_sim
from onramp.csp.alibaba.adapter import AlibabaAdapter
from onramp.csp.alibaba.adapter import client as alibaba_client
from onramp.csp.aws import simulator as aws_sim
from onramp.csp.aws.adapter import AwsAdapter, AwsHostedConnectionAdapter, Delegation
from onramp.csp.aws.adapter import client as aws_client
from onramp.csp.azure import simulator as azure_sim
from onramp.csp.azure.adapter import AzureAdapter, network
from onramp.csp.gcp import simulator as gcp_sim
from onramp.csp.gcp.adapter import GcpAdapter, retrying
from onramp.csp.gcp.adapter import client as gcp_client
from onramp.csp.ibm import simulator as ibm_sim
from onramp.csp.ibm.adapter import IbmAdapter
from onramp.csp.ibm.adapter import client as ibm_client
from onramp.csp.manual.adapter import ManualAdapter, answer
from onramp.csp.simulator import Behaviour, CloudPeer, Customer, Steerable
from tests.csp.conftest import RecordingHook

Capability = Literal[
    "customer",  # the other side answers after our request: accepts, rejects or never answers
    "faults",  # throttling, 5xx and lost answers can be switched on
    "lab",  # the provider's side of the BGP session comes up (and goes down) in the lab
    "refuses",  # the provider refuses by its own rules; our port must be one it knows
    "accounts",  # the customer's account exists at the provider before our request
    "bgp",  # a provisioned resource can report its BGP down, waiting for our side
]
NEVER = Behaviour(customer=Customer.NEVER)


class Case(Protocol):
    """One provider in the contract; the class attributes are what it answers, in its
    own words."""

    can: ClassVar[frozenset[Capability]]
    first: ClassVar[tuple[CspState, str]]  # the answer to `req` nobody has answered yet
    slow: ClassVar[tuple[CspState, str]]  # ... when the other side answers (or is done) later
    transient: ClassVar[tuple[str, ...]]  # the words between `slow` and ready
    ready: ClassVar[str]
    ready_details: ClassVar[dict[str, Any]]
    rejected: ClassVar[str]  # in the reason of a wait the customer's refusal ended
    unknown_id: ClassVar[str]  # a resource id the provider never made
    not_found: ClassVar[str | None]  # the code that id gets; None: it reads as deleted

    req: PeeringRequest  # valid, for a customer who has done their part before ours
    details: dict[str, Any]  # what the first answer's details hold, at least

    def adapter(self) -> Adapter:
        """A new adapter object on the same provider (a restarted worker's)."""
        ...

    def customer(
        self,
        answer: Customer,
        after_s: float = 0.0,
        provisioning_s: float = 0.0,
        down_after_s: float | None = None,
        bgp_down: bool = False,
    ) -> None:
        """What the other side does with the requests made from now on."""
        ...

    def meanwhile(self, resource: CspResource) -> None:
        """The other side's answer where a person gives it (the simulated customers answer
        on their own clock)."""
        ...

    def made(self) -> list[str]:
        """The adapter's resource ids of the attachments the provider holds, not deleted."""
        ...

    def writes(self) -> list[str]:
        """Every change the provider was asked to make, in order."""
        ...


class Simulated(Case, Protocol):
    """A provider played by a simulator: faults, refusals, the lab, its clock."""

    throttled: ClassVar[str]  # in the reason of a request throttled beyond the retries
    lose: ClassVar[int]  # answers to lose so that the one of the call that makes it is lost
    down: ClassVar[str]
    down_state: ClassVar[CspState]  # what the adapter reads `down` as
    down_details: ClassVar[dict[str, Any]]
    peers: ClassVar[tuple[CloudPeer, ...]]  # the cloud side of `req` as the lab sees it
    unknown_accounts: ClassVar[tuple[str, ...]]  # customer accounts the provider refuses
    sim: Steerable

    def refused(self) -> tuple[PeeringRequest, str]:
        """Another request the provider refuses (after `req` was made), and its word."""
        ...

    def time_passes(self, seconds: float) -> None:
        """The simulator's pending state changes due within `seconds` happen now."""
        ...


class SimulatorControls:
    """The controls every simulator has (csp.simulator): the customer, the clock, faults."""

    sim: Steerable

    def customer(
        self,
        answer: Customer,
        after_s: float = 0.0,
        provisioning_s: float = 0.0,
        down_after_s: float | None = None,
        bgp_down: bool = False,
    ) -> None:
        self.sim.behaviour = Behaviour(answer, after_s, provisioning_s, down_after_s, bgp_down)

    def meanwhile(self, resource: CspResource) -> None:
        return None

    def time_passes(self, seconds: float) -> None:
        with self.sim.clock.lock:
            for line in list(self.sim.clock.timelines.values()):
                line.run(self.sim.clock.now() + seconds)


# AWS: a hosted VIF on our interconnect; the customer confirms it -------------------
AWS_PORT = "pe1-par:eth3"
AWS_ACCOUNT = "123456789012"
AWS_KEY = "Abcdefghijkmnopq23456789"
AWS_REQ = PeeringRequest(
    idempotency_key="c0ffee00:csp",
    customer_account=AWS_ACCOUNT,
    sessions=(Session(AWS_PORT, 101, None, "169.254.64.1/30", "169.254.64.2/30"),),
    local_asn=65000,
    md5_key=AWS_KEY,
)


def dx(url: str, key: str = aws_sim.PARTNER_KEY) -> Any:
    return aws_client(url, attempts=4, region_name="eu-west-3",
                      aws_access_key_id=key, aws_secret_access_key="t")  # fmt: skip


class AwsCase(SimulatorControls):
    sim: aws_sim.DirectConnect
    can = frozenset({"customer", "faults", "lab", "refuses", "bgp"})
    first = slow = (CspState.AWAITING_CUSTOMER, "confirming")
    transient = ("pending",)
    ready = "available"
    ready_details: ClassVar[dict[str, Any]] = {"bgp_status": "up"}
    rejected = "rejected"
    down = "down"
    down_state = CspState.BGP_DOWN
    down_details: ClassVar[dict[str, Any]] = {"bgp_status": "down"}
    throttled = "ThrottlingException"
    lose = 2  # the describe before the allocate, and the allocate itself
    unknown_id = "dxvif-nothere"
    not_found = "ONR-CSP-003"
    unknown_accounts = ()  # AWS allocates to any account; the owner alone sees it
    peers = (CloudPeer("aws", "dxcon-onramp01", 101, None, "169.254.64.2/30", "169.254.64.1",
                       65000, AWS_KEY),)  # fmt: skip

    def __init__(self, url: str, sim: aws_sim.DirectConnect) -> None:
        self.url, self.sim = url, sim
        self.req = AWS_REQ
        self.details = {"vlan": 101, "asn": 65000, "connection": "dxcon-onramp01"}

    @classmethod
    @contextmanager
    def start(cls, hook: RecordingHook, _: Path) -> Iterator[AwsCase]:
        with aws_sim.serve(aws_sim.DirectConnect(hook=hook, behaviour=NEVER)) as (url, sim):
            yield cls(url, sim)

    def adapter(self) -> Adapter:
        return AwsAdapter(dx(self.url), {AWS_PORT: "dxcon-onramp01"})

    def refused(self) -> tuple[PeeringRequest, str]:
        return replace(self.req, idempotency_key="other:csp"), "already in use"  # its VLAN

    def made(self) -> list[str]:
        return [i for i, v in self.sim.vifs.items() if v["virtualInterfaceState"] != "deleted"]

    def writes(self) -> list[str]:
        return [op for op in self.sim.calls if not op.startswith("Describe")]


# AWS: a hosted connection in the customer's account; the customer accepts it and makes
# the VIF on it with the parameters onramp gives ---------------------------------------
def vif_parameters(req: PeeringRequest) -> dict[str, Any]:
    """What `connector customer-step --reveal` gives the customer for `req`."""
    (leg,) = req.sessions
    return {"virtualInterfaceName": req.idempotency_key, "vlan": leg.vlan, "asn": req.local_asn,
            "mtu": req.mtu, "authKey": req.md5_key, "amazonAddress": leg.peer_address,
            "customerAddress": leg.local_address, "addressFamily": "ipv4"}  # fmt: skip


class AwsHostedCase(AwsCase):
    first = slow = (CspState.AWAITING_CUSTOMER, "ordering")
    transient = ("available/pending",)  # the customer's VIF, being made
    ready = "available/available"
    ready_details: ClassVar[dict[str, Any]] = {"vlan": 101, "bandwidth": "100Mbps"}
    down = "available/down"
    down_state = CspState.BGP_DOWN
    down_details: ClassVar[dict[str, Any]] = {}
    lose = 2  # the describe of our hosted connections, and the allocate
    unknown_id = "dxcon-nothere"

    def __init__(self, url: str, sim: aws_sim.DirectConnect) -> None:
        super().__init__(url, sim)
        self.details = {"vlan": 101, "bandwidth": "100Mbps", "vif": None}
        self.customer_dx = dx(url, sim.customer(AWS_ACCOUNT))

    def adapter(self) -> Adapter:
        return AwsHostedConnectionAdapter(dx(self.url), {AWS_PORT: "dxcon-onramp01"})

    def meanwhile(self, resource: CspResource) -> None:
        """The accepting customer: AWS makes the connection available, then the customer
        creates the VIF on it with onramp's parameters."""
        if self.sim.behaviour.customer != Customer.ACCEPT:
            return
        self.time_passes(60)
        self.customer_dx.create_private_virtual_interface(
            connectionId=resource.resource_id,
            newPrivateVirtualInterface=vif_parameters(self.req) | {"virtualGatewayId": "vgw-1"},
        )

    def made(self) -> list[str]:
        return [i for i, c in self.sim.hosted.items() if c["connectionState"] != "deleted"]


class AwsHostedDelegatedCase(AwsHostedCase):
    """The customer delegated: onramp accepts the connection and makes the VIF on it."""

    can = frozenset({"faults", "refuses"})
    first = (CspState.READY, "available/available")  # AWS at once: nothing is waited for
    slow = (CspState.PROVISIONING, "pending")  # accepted by us; AWS still provisioning

    def customer(
        self,
        answer: Customer,
        after_s: float = 0.0,
        provisioning_s: float = 0.0,
        down_after_s: float | None = None,
        bgp_down: bool = False,
    ) -> None:
        """Nobody answers but AWS: the customer's part is ours."""
        slow = after_s + provisioning_s
        self.sim.behaviour = Behaviour(Customer.NEVER, 0.0, slow, down_after_s, bgp_down)

    def adapter(self) -> Adapter:
        ours = Delegation(self.customer_dx, virtual_gateway_id="vgw-1")
        return AwsHostedConnectionAdapter(dx(self.url), {AWS_PORT: "dxcon-onramp01"},
                                          {AWS_ACCOUNT: ours})  # fmt: skip

    def __init__(self, url: str, sim: aws_sim.DirectConnect) -> None:
        super().__init__(url, sim)
        self.details = {"vlan": 101, "bandwidth": "100Mbps"}  # and the VIF we made on it

    def meanwhile(self, resource: CspResource) -> None:
        return None


# Azure: the customer's circuit first; we provision it and its private peering -------
AZURE_PORTS = {"pe1-lon:eth3": "onramp-lon-er-pri", "pe2-lon:eth3": "onramp-lon-er-sec"}
AZURE_KEY = "Abcdefgh2345"


def azure_request(service_key: str, s_tag: int = 300) -> PeeringRequest:
    return PeeringRequest(
        idempotency_key="c0ffee01:csp",
        customer_account=service_key,
        sessions=(
            Session("pe1-lon:eth3", s_tag, 10, "169.254.192.1/30", "169.254.192.2/30"),
            Session("pe2-lon:eth3", s_tag, 10, "169.254.192.5/30", "169.254.192.6/30"),
        ),
        local_asn=65000,
        md5_key=AZURE_KEY,
    )


class AzureCase(SimulatorControls):
    sim: azure_sim.ExpressRoute
    can = frozenset({"faults", "lab", "refuses", "accounts"})
    first = (CspState.READY, "Provisioned/Succeeded/Enabled")
    slow = (CspState.PROVISIONING, "Provisioning")
    transient = ("Provisioned/Updating/Enabled",)  # the peering's own operation, awaited too
    ready = "Provisioned/Succeeded/Enabled"
    ready_details: ClassVar[dict[str, Any]] = {}
    rejected = ""
    down = "Provisioned/Succeeded/Disabled"
    down_state = CspState.DOWN
    down_details: ClassVar[dict[str, Any]] = {}
    throttled = "TooManyRequests"
    lose = 2
    unknown_id = (f"/subscriptions/{azure_sim.PARTNER_SUBSCRIPTION}/resourceGroups/"
                  "CrossConnection-uksouth/providers/Microsoft.Network/"
                  "expressRouteCrossConnections/6a1f0000-0000-4000-8000-000000000000")  # fmt: skip
    not_found = None  # the customer may delete their circuit: gone reads as deleted
    unknown_accounts = ("6a1f0000-0000-4000-8000-000000000000",)
    peers = (
        CloudPeer("azure", "onramp-lon-er-pri", 300, 10, "169.254.192.2/30", "169.254.192.1",
                  65000, AZURE_KEY),
        CloudPeer("azure", "onramp-lon-er-sec", 300, 10, "169.254.192.6/30", "169.254.192.5",
                  65000, AZURE_KEY),
    )  # fmt: skip

    def __init__(self, url: str, sim: azure_sim.ExpressRoute) -> None:
        self.url, self.sim = url, sim
        key = sim.create_circuit(s_tag=300)
        self.req = azure_request(key)
        self.details = {
            "s_tag": 300, "service_key": key, "vlan_id": 10, "peer_asn": 65000,
            "primary_prefix": "169.254.192.0/30", "secondary_prefix": "169.254.192.4/30",
        }  # fmt: skip
        self.lro_timeout_s = 5.0

    @classmethod
    @contextmanager
    def start(cls, hook: RecordingHook, _: Path) -> Iterator[AzureCase]:
        with azure_sim.serve(azure_sim.ExpressRoute(hook=hook)) as (url, sim):
            yield cls(url, sim)

    def adapter(self) -> Adapter:
        client = network(azure_sim.PARTNER_SUBSCRIPTION, self.url, attempts=4, backoff_s=0,
                         polling_interval_s=0.05)  # fmt: skip
        return AzureAdapter(client, AZURE_PORTS, lro_timeout_s=self.lro_timeout_s)

    def customer(
        self,
        answer: Customer,
        after_s: float = 0.0,
        provisioning_s: float = 0.0,
        down_after_s: float | None = None,
        bgp_down: bool = False,
    ) -> None:
        """The customer answered first (their circuit): what is left is the provider's time;
        an adapter then gives up waiting on each operation and `status` picks it up."""
        slow = after_s + provisioning_s
        self.sim.behaviour = Behaviour(provisioning_s=slow, down_after_s=down_after_s)
        self.lro_timeout_s = 0.05 if slow else 5.0

    def refused(self) -> tuple[PeeringRequest, str]:
        other = azure_request(self.sim.create_circuit(s_tag=301), s_tag=301)
        return replace(other, local_asn=65515), "InvalidPeerAsn"  # an ASN Azure keeps

    def made(self) -> list[str]:
        xcs = self.sim.cross_connections.values()
        return [x["id"] for x in xcs if x["properties"]["peerings"]]

    def writes(self) -> list[str]:
        return list(self.sim.calls)


# GCP: the customer's pairing key first; we make our partner attachment --------------
GCP_PORT = "pe1-fra:eth3"


def gcp_request(pairing_key: str) -> PeeringRequest:
    """Our /29 is offered; Google picks it (Cloud Router the first address)."""
    return PeeringRequest(
        idempotency_key="c0ffee00:csp",
        customer_account=pairing_key,
        sessions=(Session(GCP_PORT, 101, None, "169.254.128.2/29", "169.254.128.1/29"),),
        local_asn=65000,
        md5_key=None,
    )


class GcpCase(SimulatorControls):
    sim: gcp_sim.Compute
    can = frozenset({"customer", "faults", "lab", "refuses", "accounts"})
    first = slow = (CspState.AWAITING_CUSTOMER, "PENDING_CUSTOMER")
    transient = ("UNPROVISIONED",)
    ready = "ACTIVE"
    ready_details: ClassVar[dict[str, Any]] = {}
    rejected = "DEFUNCT"
    down = "DEFUNCT"
    down_state = CspState.DOWN
    down_details: ClassVar[dict[str, Any]] = {}
    throttled = "429"
    lose = 1  # the get before answers 404 (no answer to lose): the insert's is lost
    unknown_id = "europe-west3/onr-nothere"
    not_found = "ONR-CSP-003"
    unknown_accounts = ("00000000-0000-0000-0000-000000000000/europe-west3/1", "not-a-key")
    peers = (CloudPeer("gcp", "onramp-fra-ic1", 101, None, "169.254.128.1/29", "169.254.128.2",
                       65000, None),)  # fmt: skip

    def __init__(self, url: str, sim: gcp_sim.Compute) -> None:
        self.url, self.sim = url, sim
        self.req = gcp_request(sim.customer_attachment("europe-west3"))
        self.details = {
            "vlan": 101,
            "cloud_router_ip": "169.254.128.1/29",
            "customer_router_ip": "169.254.128.2/29",
            "pairing_key": self.req.customer_account,
            "interconnect": "onramp-fra-ic1",
            "bandwidth": "BPS_100M",
            "partner_asn": 65000,
        }

    @classmethod
    @contextmanager
    def start(cls, hook: RecordingHook, _: Path) -> Iterator[GcpCase]:
        with gcp_sim.serve(gcp_sim.Compute(hook=hook, behaviour=NEVER)) as (url, sim):
            yield cls(url, sim)

    def adapter(self) -> Adapter:
        return GcpAdapter(gcp_client(self.url), gcp_sim.PARTNER_PROJECT,
                          {GCP_PORT: "onramp-fra-ic1"},
                          retry=retrying(initial_s=0.01, maximum_s=0.05, timeout_s=1.0))  # fmt: skip

    def refused(self) -> tuple[PeeringRequest, str]:
        another = gcp_request(self.sim.customer_attachment("europe-west3"))
        return replace(another, idempotency_key="other:csp"), "already in use"  # its VLAN

    def made(self) -> list[str]:
        return list(self.sim.attachments)

    def writes(self) -> list[str]:
        reads = ("get", "list", "get_operation", "wait_operation")
        return [op for op in self.sim.calls if op not in reads]


# IBM: a Direct Link Connect gateway in the customer's account; they approve it -------
IBM_PORT = "pe1-fra:eth5"
IBM_PORT_ID = "3a6d2c4e-8b1f-4d7a-9c0e-5f2b7a1d9e01"


def ibm_request(account: str, key: str = "c0ffee02:csp", vlan: int = 201) -> PeeringRequest:
    return PeeringRequest(
        idempotency_key=key,
        customer_account=account,
        sessions=(Session(IBM_PORT, vlan, None, "10.254.0.2/30", "10.254.0.1/30"),),
        local_asn=4201000017,
        md5_key=None,
        bandwidth_mbps=500,
    )


class IbmCase(SimulatorControls):
    sim: ibm_sim.DirectLink
    can = frozenset({"customer", "faults", "lab", "refuses", "accounts", "bgp"})
    first = slow = (CspState.AWAITING_CUSTOMER, "create_pending")
    transient = ("configuring",)
    ready = "provisioned"
    ready_details: ClassVar[dict[str, Any]] = {"bgp_status": "established"}
    rejected = "create_rejected"
    down = "provisioned/bgp idle"
    down_state = CspState.BGP_DOWN
    down_details: ClassVar[dict[str, Any]] = {"bgp_status": "idle"}
    throttled = "429"
    lose = 1  # the list before the create: retried by the SDK (test_ibm_simulator: the create's)
    unknown_id = "00000000-0000-4000-8000-000000000000"
    not_found = "ONR-CSP-003"
    unknown_accounts = ("ffffffffffffffffffffffffffffffff",)
    peers = (CloudPeer("ibm", IBM_PORT_ID, 201, None, "10.254.0.1/30", "10.254.0.2",
                       4201000017, None),)  # fmt: skip

    def __init__(self, url: str, sim: ibm_sim.DirectLink) -> None:
        self.url, self.sim = url, sim
        self.req = ibm_request(sim.customer())
        self.details = {"vlan": 201, "asn": 4201000017, "connection": IBM_PORT_ID,
                        "customer_address": "10.254.0.2/30", "cloud_address": "10.254.0.1/30",
                        "customer_account": self.req.customer_account}  # fmt: skip

    @classmethod
    @contextmanager
    def start(cls, hook: RecordingHook, _: Path) -> Iterator[IbmCase]:
        with ibm_sim.serve(ibm_sim.DirectLink(hook=hook, behaviour=NEVER)) as (url, sim):
            yield cls(url, sim)

    def adapter(self) -> Adapter:
        return IbmAdapter(ibm_client(self.url, retries=3, backoff_s=0), {IBM_PORT: IBM_PORT_ID})

    def refused(self) -> tuple[PeeringRequest, str]:
        return ibm_request(self.req.customer_account, "other:csp"), "already in use"  # its VLAN

    def made(self) -> list[str]:
        return list(self.sim.gateways)

    def writes(self) -> list[str]:
        return [op for op in self.sim.calls if not op.startswith(("get_", "list_"))]


# Alibaba: a hosted connection for the tenant's account; they confirm it, then their VBR
ALIBABA_PORT = "pe2-lon:eth5"
ALIBABA_PC = "pc-gw8onramplon0001"


def alibaba_request(uid: str, key: str = "c0ffee03:csp", vlan: int = 301) -> PeeringRequest:
    return PeeringRequest(
        idempotency_key=key,
        customer_account=uid,
        sessions=(Session(ALIBABA_PORT, vlan, None, "10.254.128.2/30", "10.254.128.1/30"),),
        local_asn=65000,
        md5_key=None,
        bandwidth_mbps=500,
    )


class AlibabaCase(SimulatorControls):
    sim: alibaba_sim.ExpressConnect
    can = frozenset({"customer", "faults", "lab", "refuses", "accounts"})
    first = slow = (CspState.AWAITING_CUSTOMER, "UnConfirmed/Confirmed")
    transient = ("Confirmed/Allocated",)
    ready = "Confirmed/Enabled"
    ready_details: ClassVar[dict[str, Any]] = {}
    rejected = "Rejected"
    down = "Confirmed/Enabled/FinancialLocked"
    down_state = CspState.DOWN
    down_details: ClassVar[dict[str, Any]] = {}
    throttled = "Throttling.User"
    lose = 1  # the list before the create (test_alibaba_simulator: the create's, by its Token)
    unknown_id = "pc-nothere"
    not_found = "ONR-CSP-003"
    unknown_accounts = ("9999999999999999",)
    peers = (CloudPeer("alibaba", ALIBABA_PC, 301, None, "10.254.128.1/30", "10.254.128.2",
                       65000, None),)  # fmt: skip

    def __init__(self, url: str, sim: alibaba_sim.ExpressConnect) -> None:
        self.url, self.sim = url, sim
        self.req = alibaba_request(sim.tenant())
        self.details = {"vlan": 301, "connection": ALIBABA_PC, "bandwidth": "500M",
                        "customer_account": self.req.customer_account}  # fmt: skip

    @classmethod
    @contextmanager
    def start(cls, hook: RecordingHook, _: Path) -> Iterator[AlibabaCase]:
        service = alibaba_sim.ExpressConnect(hook=hook, behaviour=NEVER)
        with alibaba_sim.serve(service) as (url, sim):
            yield cls(url, sim)

    def adapter(self) -> Adapter:
        api = alibaba_client(self.url, "eu-west-1", attempts=3, backoff_ms=1)
        return AlibabaAdapter(api, "eu-west-1", {ALIBABA_PORT: ALIBABA_PC})

    def refused(self) -> tuple[PeeringRequest, str]:
        return alibaba_request(self.req.customer_account, "other:csp"), "already in use"

    def made(self) -> list[str]:
        return list(self.sim.vpconns)

    def writes(self) -> list[str]:
        return list(self.sim.calls)


# A provider that takes tickets: an engineer records its answer ----------------------
MANUAL_REQ = PeeringRequest(
    idempotency_key="feed0001:csp",
    customer_account="ibm-account-4411",
    sessions=(Session("pe1-fra:eth4", 812, None, "169.254.64.1/30", "169.254.64.2/30"),),
    local_asn=4200000017,
    md5_key="Tq7kPz2mWc9xRb4n",
    bandwidth_mbps=500,
    peer_asn=64999,
)


class ManualCase:
    can = frozenset({"customer"})
    first = slow = (CspState.AWAITING_TICKET, "ticket open")
    transient = ()
    ready = "ticket ready"
    ready_details: ClassVar[dict[str, Any]] = {"provider_ref": "DL-CASE-1"}
    rejected = "ticket rejected"
    unknown_id = "0000dead"
    not_found = "ONR-CSP-007"

    def __init__(self, store: Store, vault: Vault) -> None:
        self.store, self.vault = store, vault
        self.req = MANUAL_REQ
        self.details: dict[str, Any] = {}
        self.answer = Customer.NEVER

    @classmethod
    @contextmanager
    def start(cls, _: RecordingHook, tmp_path: Path) -> Iterator[ManualCase]:
        store = Store(f"sqlite:///{tmp_path / 'onramp.db'}")
        store.migrate()
        yield cls(store, Vault(tmp_path / "secret.key"))

    def adapter(self) -> Adapter:
        return ManualAdapter("ibm", self.store, self.vault, {"pe1-fra:eth4": "DL-7"})

    def customer(
        self,
        answer: Customer,
        after_s: float = 0.0,
        provisioning_s: float = 0.0,
        down_after_s: float | None = None,
        bgp_down: bool = False,
    ) -> None:
        self.answer = answer  # the engineer answers when the scenario lets time pass

    def meanwhile(self, resource: CspResource) -> None:
        if self.answer != Customer.NEVER and resource.state == CspState.AWAITING_TICKET:
            answer(self.store, resource.resource_id, self.answer == Customer.ACCEPT,
                   "DL-CASE-1", "", "engineer")  # fmt: skip

    def made(self) -> list[str]:
        return [t.split()[0] for t in self.writes() if not t.endswith(" deleted")]

    def writes(self) -> list[str]:
        with self.store.session() as db:
            rows = db.scalars(select(TicketRow).order_by(TicketRow.created_at))
            return [f"{t.id} {t.updated_at} {t.state}" for t in rows]


CASES: dict[str, Any] = {
    "alibaba": AlibabaCase,
    "aws": AwsCase,
    "aws-hosted": AwsHostedCase,
    "aws-hosted-delegated": AwsHostedDelegatedCase,
    "azure": AzureCase,
    "gcp": GcpCase,
    "ibm": IbmCase,
    "manual": ManualCase,
}


def having(*needs: Capability) -> list[str]:
    """The cases that can do all of `needs`, by name (the scenarios' parameters)."""
    return [name for name, case in CASES.items() if set(needs) <= case.can]
