"""The served OpenAPI document is fit for generators: openapi-python-client makes a client
of it (with no warning), and that client, imported as a customer would, drives a Connector's
life against the real server on loopback: create, get, list page by page, delete.

openapi-python-client pins a Typer older than onramp's, so it lives in a venv of its own,
`.venv-gen` (made here, or by `make gen`), never in onramp's venv; the generated client
runs there too (it needs httpx, which onramp does not)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from onramp.core.store import ConnectorRow, move

from .conftest import Api

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = "openapi-python-client==0.29.1"  # the release tested
VENV = Path(os.environ.get("ONRAMP_GEN_VENV", ROOT / ".venv-gen"))
DRIVE = Path(__file__).with_name("generated_drive.py")
# the package's name, and no post hooks: the generator's default runs ruff from PATH
CONFIG = "package_name_override: onramp_api\nproject_name_override: onramp-api\npost_hooks: []\n"


def ensure_venv() -> Path:
    """.venv-gen with the generator and what the generated client imports (pip, once)."""
    stamp = VENV / f".{GENERATOR}"
    (ROOT / "var").mkdir(exist_ok=True)
    with open(ROOT / "var" / ".gen-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test processes: one pip
        if not stamp.exists():
            if not (VENV / "bin" / "python").exists():
                subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
            subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", GENERATOR,
                            "python-dateutil>=2.8"], check=True)  # fmt: skip
            stamp.touch()
    return VENV / "bin"


@pytest.fixture(scope="module")
def generated(api: Api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The client generated from what the server serves, in a directory of its own."""
    bin_ = ensure_venv()
    out = tmp_path_factory.mktemp("generated")
    doc = out / "openapi.json"
    doc.write_text(requests.get(api.url + "/v1/openapi.json", timeout=10).text)
    (out / "config.yaml").write_text(CONFIG)
    made = subprocess.run([str(bin_ / "openapi-python-client"), "generate", "--path", str(doc),
                           "--config", str(out / "config.yaml"), "--output-path", str(out / "gen")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    # a warning means a part of the document the generator skipped (an operation, a model)
    assert "Warning" not in made.stdout + made.stderr, made.stdout + made.stderr
    yield out / "gen"


def test_the_generated_client_names_operations_as_the_document_does(generated: Path) -> None:
    """operationIds and tags become the client's modules: `api/connectors/create_connector`."""
    api = generated / "onramp_api" / "api"
    assert {p.stem for p in (api / "connectors").glob("*_*.py")} >= {
        "create_connector", "get_connector", "list_connectors", "delete_connector"}  # fmt: skip
    assert {p.stem for p in (api / "links").glob("*_*.py")} >= {
        "create_link", "get_link", "list_links", "delete_link"}  # fmt: skip


def test_a_connectors_life_through_the_generated_client(api: Api, generated: Path) -> None:
    """The generated client, imported in its own venv, with the key as a Bearer token; the
    workers' part (allocated -> ... -> active, decommissioning -> deleted) played here."""
    env = {**os.environ, "PYTHONPATH": str(generated)}
    drive = subprocess.Popen([str(VENV / "bin" / "python"), str(DRIVE), api.url, api.keys["acme"]],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    assert drive.stdin and drive.stdout
    try:
        made = json.loads(drive.stdout.readline())
        assert made["state"] == "allocated" and ("connector", made["id"]) in api.submitted
        for to in ("csp_requested", "configuring", "verifying", "active"):  # as the workers
            api.svc.store.transact(
                lambda s, to=to: move(s, s.get(ConnectorRow, made["id"]), to, "test", f"now {to}")
            )
        drive.stdin.write("go\n")
        drive.stdin.flush()
        got = json.loads(drive.stdout.readline())
        assert got["state"] == "active" and got["history"][-1] == "active", got
        listed = json.loads(drive.stdout.readline())
        assert made["id"] in listed["ids"] and len(listed["ids"]) == len(set(listed["ids"]))
        deleted = json.loads(drive.stdout.readline())
        assert deleted["state"] == "decommissioning"
        assert api.submitted[-1] == ("connector", made["id"])  # the workers were asked
        api.svc.store.transact(
            lambda s: move(s, s.get(ConnectorRow, made["id"]), "deleted", "test", "removed")
        )
        drive.stdin.write("go\n")
        drive.stdin.flush()
        final = json.loads(drive.stdout.readline())
        assert final == {"step": "final", "status": 200, "state": "deleted",
                         "missing": 404, "code": "ONR-REQ-011"}  # fmt: skip
    finally:
        drive.stdin.close()
        assert drive.wait(timeout=30) == 0
