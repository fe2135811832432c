"""Benchmark: a test's Nautobot up from the shipped schema vs from `migrate` (issue 23).

Each way starts what `tests/inventory/test_nautobot.py` starts (a PostgreSQL, a Redis,
`nautobot-server runserver` answering `/api/` with a token): once restoring
`tests/fixtures/nautobot-<version>.dump`, runserver's start-up check saying what is left, once
migrating the empty database as a fresh clone did before the fixture. Prints each way's
seconds, the ratio, and the load average around the run (the machine is shared: compare
only figures of one run). The migrate takes minutes; it also leaves its dump in `var/`.

    .venv/bin/python bench/nautobot_setup.py [--json] [--fixture-only]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from report import report

from tests.conftest import pg_server
from tests.nautobot_server import FIXTURE, nautobot_server


def up(dumps: tuple[Path, ...]) -> tuple[float, list[str]]:
    """Seconds until Nautobot answers, and the migrations applied after a restore."""
    start = time.monotonic()
    with pg_server() as pg, nautobot_server(pg.base / "sock", dumps) as nb:
        took = time.monotonic() - start
        assert nb.schema is not None and nb.schema.source == (dumps[0] if dumps else None)
        return took, nb.schema.unapplied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--fixture-only", action="store_true", help="skip the minutes of migrate")
    args = parser.parse_args()
    figures: dict[str, object] = {"load_before": os.getloadavg()[0]}
    fixture, unapplied = up((FIXTURE,))
    figures |= {"fixture_s": round(fixture, 1), "fixture_unapplied": len(unapplied)}
    if not args.fixture_only:
        migrate, _ = up(())
        figures |= {"migrate_s": round(migrate, 1), "ratio_migrate_over_fixture":
                    round(migrate / fixture, 1)}  # fmt: skip
    figures["load_after"] = os.getloadavg()[0]
    report(figures, args.json)


if __name__ == "__main__":
    main()
