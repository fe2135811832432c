"""A worker that dies while a Connector waits on its provider: the next worker, with a new
adapter object and nothing of the first one's memory, takes the Connector on to the routers.
No lab: the flow stops at `configuring` (the provider's part is done)."""

from __future__ import annotations

import time

from onramp.core.model import ConnectorRequest
from onramp.csp.azure import simulator as azure_sim
from onramp.csp.azure.adapter import AzureAdapter, network
from onramp.csp.registry import connections
from onramp.csp.simulator import Behaviour
from onramp.flow import allocate
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.service import Service
from tests.csp.conftest import BB


def azure(url: str) -> AzureAdapter:
    """A worker's adapter: its own client, nothing shared with another worker's."""
    client = network(azure_sim.PARTNER_SUBSCRIPTION, url, attempts=4, backoff_s=0,
                     polling_interval_s=0.05)  # fmt: skip
    # it stops waiting on Microsoft's long operation at once: the Connector waits instead
    return AzureAdapter(client, connections(BB, "azure"), lro_timeout_s=0.05)


def test_a_new_worker_finishes_an_azure_peering_the_dead_one_had_to_make(svc: Service) -> None:
    """The first worker sent the cross-connection while Microsoft still provisioned it, and
    died before it could add the private peering; the next one adds it and moves on."""
    with azure_sim.serve(azure_sim.ExpressRoute(behaviour=Behaviour(provisioning_s=1.0))) as (
        url, sim):  # fmt: skip
        key = sim.create_circuit(bandwidth_mbps=1000)
        s_tag = sim.cross_connections[key]["properties"]["sTag"]
        c = allocate.create_connector(svc.store, BB, ConnectorRequest.model_validate({
            "tenant": "acme", "onramp": "azure-er-lon", "kind": "azure-expressroute",
            "bandwidth_mbps": 1000, "azure_service_key": key, "s_tag": s_tag,
            "prefixes": ["10.100.1.0/24"]}), svc.vault)  # fmt: skip
        first = Orchestrator(svc, {"azure": azure(url)}, "worker:first")
        assert first.advance("connector", c["id"]) == "csp_requested"
        assert "AzurePrivatePeering" not in str(sim.calls)  # nothing but the cross-connection

        later = Orchestrator(svc, {"azure": azure(url)}, "worker:later")  # the first is gone
        deadline = time.monotonic() + 10
        while (state := later.advance("connector", c["id"])) == "csp_requested":
            assert time.monotonic() < deadline, later.history("connector", c["id"])
            time.sleep(0.2)
        assert state == "configuring", later.history("connector", c["id"])
        assert sum("AzurePrivatePeering" in call for call in sim.calls) == 1
