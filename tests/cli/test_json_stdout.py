"""`--json` output is the whole of stdout, whatever the process logs: log records go to
stderr, even after the pyATS gate ran in the process.

CI, stop 31: `onramp demo --json` printed `%CELERY-ERROR: RuntimeError: ...` after its JSON.
pyATS's `aetest.main` (the gate, run in-process by every deploy) puts pyATS's screen
handler, which writes to stdout, on the root logger: every record of the process went to
stdout, in pyATS's `%LOGGER-LEVEL: message` format.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from onramp.core.settings import local_config

# the real gate (real pyATS) in the command's process, as the demo's workers run it; then a
# record while the command runs, and one at exit (where the demo's Celery worker logged)
PROBE = """
import atexit, logging, sys
from onramp.validation import bgp_gate

verdict = bgp_gate.run(bgp_gate.Evidence(expected={}, before={}, after={"pe1": []}),
                       quiet=sys.argv.pop(1) == "quiet")
assert verdict.passed, verdict
logging.getLogger("onramp.flow").warning("a record while the command runs")
atexit.register(logging.getLogger("celery.app.trace").error, "RuntimeError: a record at exit")
sys.argv[0] = "onramp"
import onramp.cli
onramp.cli.run()
"""


@pytest.mark.parametrize("gate", ["quiet", "report"])
def test_records_go_to_stderr_after_the_gate_ran(tmp_path: Path, gate: str) -> None:
    """`quiet`: in-process as a deploy runs it; `report`: aetest's report shown (the
    standalone `python -m validation.bgp_gate`)."""
    config = local_config(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, gate, "--config", str(config), "config", "show", "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    shown = json.loads(done.stdout)  # all of stdout: the command's JSON alone
    assert shown["config"] == str(config)
    assert "a record while the command runs" in done.stderr
    assert "RuntimeError: a record at exit" in done.stderr
