"""Benchmark: one Connector from request to active, with the split per step.

Builds its own lab (name `bpv`, 172.20.49.0/24; removed at the end, even on failure) and
an in-process AWS simulator whose customer accepts at once (the customer's wait is 0, as
the target says). Three ways, interleaved, each Connector decommissioned after its run:

- `state machine`: onramp.flow.orchestrate driving every step in this process;
- `worker`: the embedded Celery worker on its SQLite broker doing the same (submit, watch);
- `baseline`: the same work by hand, no state machine: allocate, CSP request + wait,
  plan, apply (commit, pyATS gate, confirm).

Prints the medians, the per-step split of the state machine (from its transition rows)
and the ratios against the baseline (target: request -> active <= 5 s).

    .venv/bin/python bench/provision.py [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from labkit import lab_service, unwind_on_sigterm
from report import report, split

from onramp import worker
from onramp.core.store import ConnectorRow
from onramp.csp.adapter import wait
from onramp.csp.aws.adapter import AwsAdapter, client
from onramp.csp.aws.simulator import PARTNER_KEY, DirectConnect, serve
from onramp.csp.registry import connections, peering_request
from onramp.csp.simulator import Behaviour
from onramp.flow.apply import apply_plan, recheck_plan
from onramp.flow.orchestrate import Orchestrator, Timings
from onramp.flow.plan import make_plan
from onramp.flow.service import Service
from onramp.lab.attach import LabAttachment
from onramp.lab.run import Lab, down

LAB, OCTET = "bpv", 49
ORDER = {"tenant": "bench", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
         "bandwidth_mbps": 100, "aws_account": "123456789012", "prefixes": ["10.100.0.0/24"]}  # fmt: skip


def setup(tmp: Path) -> tuple[Lab, Service]:
    return lab_service(
        tmp, LAB, OCTET,
        worker={"broker_url": f"sqla+sqlite:///{tmp / 'broker.db'}", "poll_s": 0.05,
                "sweep_s": 30, "revert_in_s": 60, "check_timeout_s": 20},
    )  # fmt: skip


def main() -> None:
    unwind_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs: dict[str, list[float]] = {"state machine": [], "worker": [], "baseline": []}
    splits: list[dict[str, float]] = []
    rechecks: list[float] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        try:
            lab, svc = setup(tmp)
            hook = LabAttachment(lab, svc.backbone)
            with serve(DirectConnect(hook=hook, behaviour=Behaviour())) as (url, _):
                dx = client(url, region_name="eu-west-3", aws_access_key_id=PARTNER_KEY,
                            aws_secret_access_key="-")  # fmt: skip
                adapter = AwsAdapter(dx, connections(svc.backbone, "aws"))
                w = svc.settings.worker
                # as the workers do, a deploy's compliance re-check comes after active: its
                # plans are kept and checked after the timing, which is reported apart
                applied: list[str] = []
                orch = Orchestrator(svc, {"aws": adapter}, actor="bench", timings=Timings(
                    revert_in_s=w.revert_in_s, check_timeout_s=w.check_timeout_s),
                    audit=applied.append)  # fmt: skip

                def clean(ident: str) -> None:
                    orch.decommission("connector", ident)
                    assert orch.drive("connector", ident, poll_s=0.05) == "deleted"

                def machine() -> str:
                    c = svc.create_connector(svc.connector_request(ORDER))
                    assert orch.drive("connector", c["id"], poll_s=0.05) == "active"
                    return str(c["id"])

                def queued() -> str:
                    c = svc.create_connector(svc.connector_request(ORDER))
                    worker.submit("connector", c["id"])
                    assert orch.watch("connector", c["id"], poll_s=0.05) == "active"
                    return str(c["id"])

                def baseline() -> str:
                    c = svc.create_connector(svc.connector_request(ORDER))
                    key = orch._key(c["id"])  # the same key the machine would send
                    made = adapter.request(peering_request(c, key))
                    wait(adapter, made.resource_id, timeout_s=30, poll_s=0.05)
                    plan = make_plan(svc, "connector", c["id"])
                    apply_plan(svc, plan["id"], w.revert_in_s, w.check_timeout_s, recheck=False)
                    applied.append(plan["id"])

                    def remember(s: Any) -> None:  # so the decommission finds the VIF
                        s.get(ConnectorRow, c["id"]).csp_resource = made.resource_id

                    svc.store.transact(remember)
                    return str(c["id"])

                def timed(name: str, way: Any) -> None:
                    t = time.perf_counter()
                    ident = way()
                    runs[name].append(time.perf_counter() - t)
                    if name == "state machine":
                        splits.append(split(orch.history("connector", ident)))
                    while applied:  # the deploy's re-check, after the clock stopped
                        t = time.perf_counter()
                        recheck_plan(svc, applied.pop())
                        rechecks.append(time.perf_counter() - t)
                    clean(ident)
                    applied.clear()  # the removal's too: not what is measured

                clean(machine())  # warm-up: imports, first SSH host keys
                for _ in range(args.runs):
                    # no worker runs meanwhile: it would take the baseline's Connector
                    # (allocated, unleased) for its own and race it
                    timed("state machine", machine)
                    timed("baseline", baseline)
                    with worker.embedded(svc.settings, adapters={"aws": adapter}):
                        timed("worker", queued)
        finally:
            down(LAB, tmp / "state")
    medians = {k: round(statistics.median(v), 2) for k, v in runs.items()}
    steps = {k: round(statistics.median(s.get(k, 0.0) for s in splits), 2) for k in splits[0]}
    figures = {
        "runs": args.runs,
        "request_to_active_s": medians,
        "state_machine_split_s": steps,
        "ratio_state_machine_over_baseline": round(
            medians["state machine"] / medians["baseline"], 2
        ),
        "ratio_worker_over_baseline": round(medians["worker"] / medians["baseline"], 2),
        "compliance_recheck_after_active_s": round(statistics.median(rechecks), 2),
        "target_s": 5.0,
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()
