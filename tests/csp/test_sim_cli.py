"""`onramp sim <provider>` as an engineer runs it: a process of its own, driven over HTTP
by the SDKs and by its admin routes, stopped by SIGTERM."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from onramp.csp.adapter import Adapter, CspState, PeeringRequest, Session
from onramp.csp.aws.adapter import AwsAdapter, client
from onramp.csp.aws.simulator import PARTNER_KEY
from onramp.csp.azure.adapter import AzureAdapter, network
from onramp.csp.azure.simulator import PARTNER_SUBSCRIPTION


@pytest.fixture
def simulator(request: pytest.FixtureRequest) -> Iterator[str]:
    """`onramp sim <param>`: the provider, then any options of the test's own."""
    provider, *options = request.param.split()
    proc = subprocess.Popen(
        [sys.executable, "-m", "onramp.cli", "sim", provider, "--json",
         "--accept-after", "0", "--provisioning", "0", *options],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["provider"] == provider
        yield str(ready["url"])
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0  # SIGTERM is a clean stop


def post(url: str, data: dict[str, Any]) -> dict[str, Any]:
    asked = urllib.request.Request(url, data=json.dumps(data).encode(), method="POST")
    with urllib.request.urlopen(asked) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


@pytest.mark.parametrize("simulator", ["aws"], indirect=True)
def test_aws_simulator_process(simulator: str) -> None:
    assert post(simulator + "/_sim/behaviour", {"customer": "never"})["customer"] == "never"
    dx = client(simulator, region_name="eu-west-3", aws_access_key_id=PARTNER_KEY,
                aws_secret_access_key="-")  # fmt: skip
    adapter = AwsAdapter(dx, {"pe1-par:eth3": "dxcon-onramp01"})
    req = PeeringRequest("cafe0001:csp", "123456789012",
                         (Session("pe1-par:eth3", 77, None, "169.254.9.1/30", "169.254.9.2/30"),),
                         65000, "Abcdef123456")  # fmt: skip
    assert adapter.request(req).state == CspState.AWAITING_CUSTOMER  # the customer never answers
    key = post(simulator + "/_sim/customers", {"account": "123456789012"})["access_key"]
    assert key.startswith("cust-")


@pytest.mark.parametrize("simulator", ["azure"], indirect=True)
def test_azure_simulator_process(simulator: str) -> None:
    service_key = post(simulator + "/_sim/circuits", {"bandwidth_mbps": 1000})["service_key"]
    ports = {"pe1-lon:eth3": "onramp-lon-er-pri", "pe2-lon:eth3": "onramp-lon-er-sec"}
    adapter = AzureAdapter(network(PARTNER_SUBSCRIPTION, simulator, polling_interval_s=0.05), ports)
    with urllib.request.urlopen(simulator + "/_sim/state") as answer:
        s_tag = json.loads(answer.read())["cross_connections"][service_key]["properties"]["sTag"]
    req = PeeringRequest("cafe0002:csp", service_key, (
        Session("pe1-lon:eth3", s_tag, 5, "169.254.200.1/30", "169.254.200.2/30"),
        Session("pe2-lon:eth3", s_tag, 5, "169.254.200.5/30", "169.254.200.6/30"),
    ), 65000, None)  # fmt: skip
    assert adapter.request(req).state == CspState.READY


@pytest.mark.parametrize("simulator", ["gcp"], indirect=True)
def test_gcp_simulator_process(simulator: str) -> None:
    from onramp.csp.gcp.adapter import GcpAdapter, client, retrying
    from onramp.csp.gcp.simulator import PARTNER_PROJECT

    key = post(simulator + "/_sim/pairing-keys", {"region": "europe-west3"})["pairing_key"]
    adapter = GcpAdapter(client(simulator), PARTNER_PROJECT, {"pe1-fra:eth3": "onramp-fra-ic1"},
                         retry=retrying(0.01, 0.05, 5))  # fmt: skip
    req = PeeringRequest("cafe0003:csp", key, (
        Session("pe1-fra:eth3", 300, None, "169.254.130.2/29", "169.254.130.1/29"),
    ), 65000, None)  # fmt: skip
    made = adapter.request(req)
    assert made.details["customer_router_ip"].startswith("169.254.130.2")


def ibm(simulator: str, key: str, vlan: int) -> tuple[Adapter, PeeringRequest]:
    """An IBM adapter on `simulator`, and a gateway's request for a new customer of it."""
    from onramp.csp.ibm.adapter import IbmAdapter
    from onramp.csp.ibm.adapter import client as ibm_client

    account = post(simulator + "/_sim/customers", {})["account"]
    port = "3a6d2c4e-8b1f-4d7a-9c0e-5f2b7a1d9e01"  # the default inventory's
    adapter = IbmAdapter(ibm_client(simulator, retries=1, backoff_s=0), {"pe1-fra:eth5": port})
    host = 4 * (vlan - 300)  # each VLAN its own /30
    req = PeeringRequest(key, account, (
        Session("pe1-fra:eth5", vlan, None, f"10.254.9.{host + 2}/30", f"10.254.9.{host + 1}/30"),
    ), 4201000005, None)  # fmt: skip
    return adapter, req


@pytest.mark.parametrize("simulator", ["ibm"], indirect=True)
def test_ibm_simulator_process(simulator: str) -> None:
    adapter, req = ibm(simulator, "cafe0004:csp", 300)
    assert adapter.request(req).provider_state == "create_pending"


@pytest.mark.parametrize("simulator", ["ibm --bgp-down"], indirect=True)
def test_ibm_simulator_process_reports_bgp_down(simulator: str) -> None:
    """`--bgp-down`: a provisioned gateway's BGP is `idle`, as IBM's is until our side's
    session is up (the adapter reads BGP_DOWN; the Connector goes on to its routers)."""
    adapter, req = ibm(simulator, "cafe0006:csp", 301)
    made = adapter.request(req)
    deadline = time.monotonic() + 5
    while (now := adapter.status(made.resource_id)).state != CspState.BGP_DOWN:
        assert time.monotonic() < deadline, now
        time.sleep(0.05)
    assert now.provider_state == "provisioned/bgp idle"


@pytest.mark.parametrize("simulator", ["alibaba"], indirect=True)
def test_alibaba_simulator_process(simulator: str) -> None:
    from onramp.csp.alibaba.adapter import AlibabaAdapter
    from onramp.csp.alibaba.adapter import client as alibaba_client

    uid = post(simulator + "/_sim/tenants", {})["uid"]
    api = alibaba_client(simulator, "eu-west-1", attempts=1, backoff_ms=1)
    adapter = AlibabaAdapter(api, "eu-west-1", {"pe2-lon:eth5": "pc-gw8onramplon0001"})
    req = PeeringRequest("cafe0005:csp", uid, (
        Session("pe2-lon:eth5", 300, None, "10.254.137.2/30", "10.254.137.1/30"),
    ), 65000, None)  # fmt: skip
    assert adapter.request(req).state == CspState.READY  # the tenant confirmed at once


def test_bgp_down_is_refused_where_the_api_reports_no_bgp() -> None:
    """Azure's peering, Google's attachment and Alibaba's connection carry no BGP state in
    what onramp reads: `--bgp-down` would change nothing, so it is refused, not ignored."""
    done = subprocess.run(
        [sys.executable, "-m", "onramp.cli", "sim", "azure", "--bgp-down", "--port", "0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done
    assert "azure's API reports no BGP state" in done.stderr
