"""The Partner Interconnect simulator through the unmodified google-cloud-compute client:
insert, get, list, delete and their operations, Google's rules, and every answer checked
against the SDK's own message types strictly (the SDK would otherwise drop a misspelt
field silently)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.request import Request, urlopen

import pytest
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1

from onramp.csp.gcp.simulator import API, PARTNER_PROJECT, Compute, serve
from onramp.csp.simulator import Behaviour, Customer
from tests.csp.conftest import RecordingHook

REGION = "europe-west3"
INTERCONNECT = f"{API}projects/{PARTNER_PROJECT}/global/interconnects/onramp-fra-ic1"
KINDS: dict[str, Any] = {  # each JSON kind Compute answers with, and the SDK type it parses into
    "compute#interconnectAttachment": compute_v1.InterconnectAttachment,
    "compute#interconnectAttachmentList": compute_v1.InterconnectAttachmentList,
    "compute#operation": compute_v1.Operation,
}


@dataclass
class RecordingCompute(Compute):
    """Keeps every answer the service gives, as (HTTP status, JSON text)."""

    answers: list[tuple[int, str]] = field(default_factory=list)

    def dispatch(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, out = super().dispatch(method, path, body)
        self.answers.append((status, json.dumps(out)))
        return status, out


@dataclass
class Sim:
    attachments: compute_v1.InterconnectAttachmentsClient
    operations: compute_v1.RegionOperationsClient
    state: RecordingCompute

    def insert(
        self, name: str = "acme-c1", vlan: int = 101, **extra: Any
    ) -> compute_v1.InterconnectAttachment:
        """Insert, wait for the operation, and return the attachment."""
        fields: dict[str, Any] = {
            "name": name,
            "type_": "PARTNER_PROVIDER",
            "pairing_key": self.state.customer_attachment(REGION),
            "interconnect": INTERCONNECT,
            "vlan_tag8021q": vlan,
            "bandwidth": "BPS_100M",
            "mtu": 1500,
            "partner_asn": 65000,
            "partner_metadata": {
                "partner_name": "onramp",
                "interconnect_name": "onramp-fra-ic1",
                "portal_url": "https://onramp.example.net/",
            },
            "candidate_subnets": ["169.254.128.0/29"],
        }
        resource = compute_v1.InterconnectAttachment(fields | extra)
        operation = self.attachments.insert_unary(
            project=PARTNER_PROJECT, region=REGION, interconnect_attachment_resource=resource
        )
        assert operation.operation_type == "insert" and operation.target_link.endswith(name)
        done = self.operations.wait(
            project=PARTNER_PROJECT, region=REGION, operation=operation.name
        )
        assert done.status == compute_v1.Operation.Status.DONE and done.progress == 100
        return self.get(name)

    def get(self, name: str) -> compute_v1.InterconnectAttachment:
        return self.attachments.get(
            project=PARTNER_PROJECT, region=REGION, interconnect_attachment=name
        )


@pytest.fixture
def sim(hook: RecordingHook) -> Iterator[Sim]:
    """The simulated customer never activates on its own unless a test says so."""
    state = RecordingCompute(hook=hook, behaviour=Behaviour(customer=Customer.NEVER))
    with serve(state) as (url, _):
        options = ClientOptions(api_endpoint=url)
        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
        yield Sim(
            compute_v1.InterconnectAttachmentsClient(
                credentials=credentials, transport="rest", client_options=options
            ),
            compute_v1.RegionOperationsClient(
                credentials=credentials, transport="rest", client_options=options
            ),
            state,
        )


def test_insert_get_list_delete(sim: Sim) -> None:
    made = sim.insert()
    assert (made.state, made.type_, made.vlan_tag8021q) == (
        "PENDING_CUSTOMER", "PARTNER_PROVIDER", 101)  # fmt: skip
    assert made.cloud_router_ip_address == "169.254.128.1/29"  # Google: first usable
    assert made.customer_router_ip_address == "169.254.128.2/29"  # the partner: second
    assert (made.partner_asn, made.bandwidth, made.interconnect) == (
        65000, "BPS_100M", INTERCONNECT)  # fmt: skip
    assert "pairing_key" not in made  # input only for PARTNER_PROVIDER
    (listed,) = sim.attachments.list(project=PARTNER_PROJECT, region=REGION)
    assert listed.name == "acme-c1"
    assert list(sim.attachments.list(project=PARTNER_PROJECT, region="us-east4")) == []
    operation = sim.attachments.delete_unary(
        project=PARTNER_PROJECT, region=REGION, interconnect_attachment="acme-c1"
    )
    assert operation.operation_type == "delete"
    with pytest.raises(exceptions.NotFound):
        sim.get("acme-c1")
    with pytest.raises(exceptions.NotFound):
        sim.attachments.delete_unary(
            project=PARTNER_PROJECT, region=REGION, interconnect_attachment="acme-c1"
        )
    assert sim.state.attachments == {}


def test_customer_activates_then_active(sim: Sim) -> None:
    sim.state.behaviour = Behaviour(provisioning_s=0.1)
    sim.insert()
    sim.state.clock.timelines["europe-west3/acme-c1"].run(sim.state.clock.now() + 1)
    active = sim.get("acme-c1")
    assert (active.state, active.operational_status) == ("ACTIVE", "OS_ACTIVE")


def label(sim: Sim, fingerprint: str, **labels: str) -> compute_v1.Operation:
    request = compute_v1.RegionSetLabelsRequest(label_fingerprint=fingerprint, labels=labels)
    return sim.attachments.set_labels_unary(
        project=PARTNER_PROJECT, region=REGION, resource="acme-c1",
        region_set_labels_request_resource=request,
    )  # fmt: skip


def test_labels_are_set_whole_against_their_fingerprint(sim: Sim) -> None:
    made = sim.insert()
    assert dict(made.labels) == {} and made.label_fingerprint
    assert label(sim, made.label_fingerprint, team="noc").operation_type == "setLabels"
    labelled = sim.get("acme-c1")
    assert dict(labelled.labels) == {"team": "noc"}
    assert labelled.label_fingerprint != made.label_fingerprint
    with pytest.raises(exceptions.PreconditionFailed):  # changed since that fingerprint
        label(sim, made.label_fingerprint, team="ops")
    with pytest.raises(exceptions.BadRequest, match=r"resource\.labels"):
        label(sim, labelled.label_fingerprint, Team="ops")
    assert dict(sim.get("acme-c1").labels) == {"team": "noc"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"vlan_tag8021q": 1}, "range 2-4093"),
        ({"vlan_tag8021q": 4094}, "range 2-4093"),
        ({"bandwidth": "BPS_150M"}, "resource.bandwidth"),
        ({"mtu": 9000}, "resource.mtu"),
        ({"name": "Acme_1"}, "resource.name"),
        ({"interconnect": "elsewhere"}, "resource.interconnect"),
        ({"candidate_subnets": ["10.0.0.0/29"]}, "169.254.0.0/16"),
        ({"pairing_key": "00000000-0000-0000-0000-000000000000/europe-west3/1"}, "not found"),
    ],
)
def test_rules_are_enforced(sim: Sim, extra: dict[str, Any], message: str) -> None:
    with pytest.raises(exceptions.BadRequest) as refused:
        sim.insert(**extra)
    assert message in refused.value.message
    assert refused.value.errors[0]["reason"] == "invalid"
    assert sim.state.attachments == {}


def test_the_pairing_key_names_the_region(sim: Sim) -> None:
    key = sim.state.customer_attachment("us-east4")
    with pytest.raises(exceptions.BadRequest, match="for region us-east4, not europe-west3"):
        sim.insert(pairing_key=key)


def test_names_are_unique_and_vlans_unique_per_interconnect(sim: Sim) -> None:
    sim.insert(vlan=200)
    with pytest.raises(exceptions.Conflict) as duplicate:
        sim.insert(vlan=201)
    assert duplicate.value.errors[0]["reason"] == "alreadyExists"
    with pytest.raises(exceptions.BadRequest, match="already in use"):
        sim.insert("acme-c2", vlan=200)
    with pytest.raises(exceptions.BadRequest, match="in use"):  # the only candidate /29
        sim.insert("acme-c2", vlan=201)
    second = sim.insert("acme-c2", vlan=201, candidate_subnets=["169.254.128.0/28"])
    assert second.cloud_router_ip_address == "169.254.128.9/29"
    sim.attachments.delete_unary(
        project=PARTNER_PROJECT, region=REGION, interconnect_attachment="acme-c1"
    )
    assert sim.insert("acme-c3", vlan=200).vlan_tag8021q == 200


def test_without_candidates_google_picks_a_link_local_29(sim: Sim) -> None:
    made = sim.insert(candidate_subnets=[])
    assert made.cloud_router_ip_address.startswith("169.254.")
    assert made.cloud_router_ip_address.endswith("/29")


def test_a_pairing_key_is_used_once(sim: Sim) -> None:
    key = sim.state.customer_attachment(REGION)
    sim.insert(pairing_key=key)
    with pytest.raises(exceptions.BadRequest, match="already used"):
        sim.insert("acme-c2", vlan=102, pairing_key=key)


@pytest.mark.parametrize(
    ("fault", "error"),
    [("throttle_next", exceptions.TooManyRequests), ("fail_next", exceptions.ServiceUnavailable)],
)
def test_faults_answer_as_google_does(sim: Sim, fault: str, error: type[Exception]) -> None:
    setattr(sim.state.faults, fault, 1)
    with pytest.raises(error):  # without the SDK's default retry of get on 503
        sim.attachments.get(
            project=PARTNER_PROJECT, region=REGION, interconnect_attachment="x", retry=None
        )


def test_every_answer_parses_strictly_into_the_sdk_types(sim: Sim) -> None:
    sim.state.behaviour = Behaviour()
    sim.insert()
    sim.insert("acme-c2", vlan=102, candidate_subnets=[])
    list(sim.attachments.list(project=PARTNER_PROJECT, region=REGION))
    list(sim.attachments.list(project=PARTNER_PROJECT, region="us-east4"))
    with pytest.raises(exceptions.Conflict):
        sim.insert()
    label(sim, sim.get("acme-c1").label_fingerprint, team="noc")
    sim.get("acme-c1")
    sim.attachments.delete_unary(
        project=PARTNER_PROJECT, region=REGION, interconnect_attachment="acme-c1"
    )
    kinds = set()
    for status, text in sim.state.answers:
        payload = json.loads(text)
        if status != 200:
            error = payload["error"]
            assert error["code"] == status and error["errors"][0]["reason"] and error["message"]
            continue
        kinds.add(payload["kind"])
        KINDS[payload["kind"]].from_json(text, ignore_unknown_fields=False)
    assert kinds == set(KINDS)


def test_admin_routes_drive_a_simulator_in_another_process() -> None:
    with serve() as (url, state):
        post = Request(f"{url}/_sim/pairing-keys", method="POST",
                       data=json.dumps({"region": "us-east4", "edge_availability_domain": 2}).encode())  # fmt: skip
        with urlopen(post) as answer:
            key = json.load(answer)["pairing_key"]
        assert key.endswith("/us-east4/2") and state.customers[key]["state"] == "PENDING_PARTNER"
        with urlopen(f"{url}/_sim/state") as answer:
            assert key in json.load(answer)["customer_attachments"]
