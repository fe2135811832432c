"""Benchmark: a live Connector's prefixes changed in place, against a bandwidth change of
the same Connector on the same lab (the flow both take: modifying -> plan -> commit ->
gate -> confirm -> active).

Builds its own lab (name `bpx`, 172.20.84.0/24; removed at the end, even on failure): an
AWS hosted VIF in Paris (in-process AWS simulator), an enterprise site in Frankfurt (its
CE configured from customer-config) and a Link. Interleaved runs, each timed from the
change's request to `active`: a prefix added (the cloud announcing it) and taken out
again, a bandwidth 100 -> 200 and back. Prints the medians and the ratio prefix/bandwidth.

    .venv/bin/python bench/prefix_change.py [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from labkit import lab_service, unwind_on_sigterm
from report import report

from onramp.csp.aws.adapter import AwsAdapter, client
from onramp.csp.aws.simulator import PARTNER_KEY, DirectConnect, serve
from onramp.csp.registry import connections
from onramp.csp.simulator import Behaviour
from onramp.flow.orchestrate import Orchestrator, Timings
from onramp.lab.attach import LabAttachment
from onramp.lab.run import down
from onramp.lab.topology import EDGE_PORT, cloud_lans

LAB, OCTET = "bpx", 84
NEW = "10.200.84.0/24"


def timed(orch: Orchestrator, svc: Any, ident: str, body: dict[str, Any]) -> float:
    start = time.monotonic()
    svc.change("connector", ident, body, "bench")
    assert orch.drive("connector", ident, poll_s=0.05, timeout_s=180) == "active"
    took = time.monotonic() - start
    outcome = svc.connector(ident)["change"]["outcome"]
    assert outcome == "done", svc.connector(ident)["change"]
    return took


def main() -> None:
    unwind_on_sigterm()
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        try:
            lab, svc = lab_service(tmp, LAB, OCTET)
            hook = LabAttachment(lab, svc.backbone)
            with serve(DirectConnect(hook=hook, behaviour=Behaviour(accept_after_s=0))) as (u, _):
                dx = client(u, region_name="eu-west-3", aws_access_key_id=PARTNER_KEY,
                            aws_secret_access_key="-")  # fmt: skip
                orch = Orchestrator(svc, {"aws": AwsAdapter(dx, connections(svc.backbone, "aws"))},  # type: ignore[dict-item]
                                    actor="bench", timings=Timings(revert_in_s=60,
                                                                   check_timeout_s=20))  # fmt: skip
                lans = cloud_lans(lab.topo)
                lan = str(lans["aws-dx-par"])
                aws = svc.create_connector(svc.connector_request({
                    "tenant": "bench", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
                    "bandwidth_mbps": 100, "aws_account": "123456789012", "prefixes": [lan]}))  # fmt: skip
                site = svc.create_connector(svc.connector_request({
                    "tenant": "bench", "onramp": "ent-fra", "kind": "enterprise",
                    "bandwidth_mbps": 1000, "customer_asn": 65101,
                    "prefixes": [str(lans["ent-fra"])]}))  # fmt: skip
                (att,) = site["attachments"]
                ce = svc.customer_config(site["id"], "frr", "bench", port=EDGE_PORT)["config"]
                lab.apply_ce_config(lab.topo.edge_of(att["router"], att["port"]), ce)
                for c in (aws, site):
                    assert orch.drive("connector", c["id"], poll_s=0.05, timeout_s=180) == "active"
                link = svc.create_link(svc.link_request(
                    {"tenant": "bench", "a": aws["id"], "b": site["id"], "bandwidth_mbps": 100}))  # fmt: skip
                assert orch.drive("link", link["id"], poll_s=0.05, timeout_s=180) == "active"
                lab.announce("aws-dx-par", NEW)
                runs: dict[str, list[float]] = {"prefix added": [], "prefix taken out": [],
                                                "bandwidth up": [], "bandwidth down": []}  # fmt: skip
                for _ in range(a.runs):
                    ident = aws["id"]
                    runs["prefix added"].append(timed(orch, svc, ident, {"prefixes": [lan, NEW]}))
                    runs["prefix taken out"].append(timed(orch, svc, ident, {"prefixes": [lan]}))
                    runs["bandwidth up"].append(timed(orch, svc, ident, {"bandwidth_mbps": 200}))
                    runs["bandwidth down"].append(timed(orch, svc, ident, {"bandwidth_mbps": 100}))
        finally:
            down(LAB, tmp / "state")
    med = {k: statistics.median(v) for k, v in runs.items()}
    bandwidth = statistics.median(runs["bandwidth up"] + runs["bandwidth down"])
    figures: dict[str, Any] = {f"{k} (s, median of {a.runs})": round(v, 2) for k, v in med.items()}
    figures["ratio prefix added / bandwidth change"] = round(med["prefix added"] / bandwidth, 2)
    figures["ratio prefix taken out / bandwidth change"] = round(
        med["prefix taken out"] / bandwidth, 2
    )
    report(figures, a.json)


if __name__ == "__main__":
    main()
