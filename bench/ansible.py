"""The Ansible collection against onramp-client: what a play costs over the same changes.

Against one real API on loopback (the workers' part played by a thread, at once), the
seed's story (AWS + Azure + Link) made, made again (nothing to do) and removed, each as
`ansible-playbook` (check mode first) and as `onramp-client apply --wait`, both processes:
median seconds of --runs and the ratio of the play to the file. The difference is Ansible's
start-up and a module process per task, not the API.

    PYTHONPATH=. python bench/ansible.py [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from report import report

from onramp.core.store import ConnectorRow, LinkRow, move
from onramp.flow.allocate import release_connector, release_link
from tests.api.conftest import Api, running_api
from tests.api.test_ansible import run_play, story_tasks
from tests.api.test_connectivity import STORY


def workers(api: Api, stop: threading.Event) -> None:
    """allocated -> active, decommissioning -> deleted, as soon as seen."""
    while not stop.wait(0.05):
        for kind, row, items in (("connector", ConnectorRow, api.svc.connectors("acme")),
                                 ("link", LinkRow, api.svc.links("acme"))):  # fmt: skip
            for item in items:
                if item["state"] == "allocated":
                    api.svc.store.transact(lambda s, r=row, i=item["id"]: move(
                        s, s.get(r, i), "active", "bench", "made"))  # fmt: skip
                elif item["state"] == "decommissioning":
                    release = release_connector if kind == "connector" else release_link
                    release(api.svc.store, item["id"], actor="bench", reason="removed")


def timed(run: Callable[[], None]) -> float:
    t = time.perf_counter()
    run()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-ansible-"))
    stop = threading.Event()
    took: dict[str, list[float]] = {}
    with running_api(tmp / "api") as api:
        threading.Thread(target=workers, args=(api, stop), daemon=True).start()
        url, key = api.url, api.keys["acme"]

        def play(tasks: list[dict[str, Any]], *flags: str, changed: int) -> Callable[[], None]:
            def run() -> None:
                code, out, recap = run_play(url, key, tmp, tasks, *flags)
                assert code == 0 and recap["changed"] == changed, out

            return run

        def apply(story: dict[str, Any]) -> Callable[[], None]:
            path = tmp / "connectivity.yaml"
            env = {**os.environ, "ONRAMP_URL": url, "ONRAMP_KEY": key}

            def run() -> None:
                path.write_text(yaml.safe_dump(story, sort_keys=False))
                done = subprocess.run([sys.executable, "-m", "onramp.connectivity", "apply",
                                       "--wait", "-f", str(path)], env=env,
                                      capture_output=True, text=True, timeout=300)  # fmt: skip
                assert done.returncode == 0, done.stdout + done.stderr

            return run

        steps = [
            ("play check mode", play(story_tasks(STORY), "--check", changed=3)),
            ("play make", play(story_tasks(STORY), changed=3)),
            ("play again (changed=0)", play(story_tasks(STORY), changed=0)),
            ("play absent", play(story_tasks(STORY, "absent"), changed=3)),
            ("file apply", apply(STORY)),
            ("file apply again", apply(STORY)),
            ("file apply empty", apply({})),
        ]
        for _ in range(args.runs):
            for name, run in steps:
                took.setdefault(name, []).append(timed(run))
        stop.set()
    med = {k: statistics.median(v) for k, v in took.items()}
    figures: dict[str, Any] = {f"{k} s": round(v, 2) for k, v in med.items()}
    figures["ratio make: play / file"] = round(med["play make"] / med["file apply"], 1)
    figures["ratio again: play / file"] = round(
        med["play again (changed=0)"] / med["file apply again"], 1
    )
    figures["ratio remove: play / file"] = round(med["play absent"] / med["file apply empty"], 1)
    figures["runs"] = args.runs
    report(figures, args.json)


if __name__ == "__main__":
    main()
