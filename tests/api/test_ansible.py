"""The Ansible collection onramp.interconnect (ansible_collections/onramp/interconnect/),
run as a customer runs it: `ansible-playbook` in a process of its own, the key in
ONRAMP_KEY, against the real API on loopback; the workers' part played by a thread (as in
test_connectivity.py). The seed's story (AWS + Azure + Link) in check mode (nothing made),
for real, again (changed=0), a description changed (diff shown), the Link's bandwidth
changed (waited for until active again), then absent (Links first).
On a lab through the workers: tests/e2e/test_ansible_lab.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from onramp.client import Client

from .conftest import Api
from .test_connectivity import REFUSED_AT_THE_GATE, STORY, live, workers

__all__ = ["workers"]  # the fixture, used by name
ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "ansible_collections" / "onramp" / "interconnect"
BIN = Path(sys.executable).parent
RECAP = re.compile(r"^localhost\s+:\s+(.*)$", re.M)


def story_tasks(story: dict[str, Any], state: str = "present", **more: Any) -> list[dict[str, Any]]:
    """The story as tasks (`more`: options of each): Connectors then Links to make it, Links
    then Connectors to remove it."""
    connectors = [{"name": f"connector {n}", "onramp.interconnect.connector":
                   {"name": n, **spec, "state": state, "wait": True, **more}}
                  for n, spec in story["connectors"].items()]  # fmt: skip
    links = [{"name": f"link {n}", "onramp.interconnect.link":
              {"name": n, **spec, "state": state, "wait": True, **more}}
             for n, spec in story["links"].items()]  # fmt: skip
    return connectors + links if state == "present" else links + connectors


def playbook(
    api: Api, tmp: Path, tasks: list[dict[str, Any]], *flags: str
) -> tuple[int, str, dict[str, int]]:
    return run_play(api.url, api.keys["acme"], tmp, tasks, *flags)


def run_play(
    url: str,
    key: str,
    tmp: Path,
    tasks: list[dict[str, Any]],
    *flags: str,
    collections: Path = ROOT,
) -> tuple[int, str, dict[str, int]]:
    """`ansible-playbook` on localhost with these tasks, the key in ONRAMP_KEY, the
    collection found under `collections`: (exit code, output, the recap's counts)."""
    play = [{"name": "onramp", "hosts": "localhost", "connection": "local",
             "gather_facts": False,
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
             "tasks": tasks}]  # fmt: skip
    path = tmp / "play.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": str(tmp),
           "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
           "ANSIBLE_COLLECTIONS_PATH": str(collections),
           "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "0",
           "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
           "ONRAMP_URL": url, "ONRAMP_KEY": key}  # fmt: skip
    ran = subprocess.run([str(BIN / "ansible-playbook"), str(path), *flags], env=env,
                         capture_output=True, text=True, timeout=1800)  # fmt: skip
    out = ran.stdout + ran.stderr
    assert key not in out  # no_log: the key is never shown
    found = RECAP.search(ran.stdout)
    assert found, out
    counts = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", found[1])}
    return ran.returncode, out, counts


def named(api: Api) -> dict[str, str]:
    """acme's live resources carrying a name: '@name ...' -> state."""
    return {d: s for d, s in live(api).items() if d.startswith("@")}


def test_the_story_in_check_mode_then_made_then_again_then_changed_then_absent(
    api: Api, workers: None, tmp_path: Path
) -> None:
    tasks = story_tasks(STORY)
    code, out, recap = playbook(api, tmp_path, tasks, "--check")
    assert code == 0 and recap["changed"] == 3 and recap["failed"] == 0, out
    assert "connector paris-aws is not there (yet)" not in out  # a message, not a failure
    assert named(api) == {}  # check mode made nothing

    code, out, recap = playbook(api, tmp_path, tasks)
    assert code == 0 and recap["changed"] == 3, out
    assert named(api) == {"@paris-aws Paris to our VPC": "active", "@london-azure": "active",
                          "@vpc-to-vnet VPC to VNet": "active"}  # fmt: skip
    link = next(iter(Client(api.url, api.keys["acme"]).links()))
    ids = {
        c["request"]["description"]: c["id"] for c in Client(api.url, api.keys["acme"]).connectors()
    }
    assert {link["a"], link["b"]} == {ids["@paris-aws Paris to our VPC"], ids["@london-azure"]}

    code, out, recap = playbook(api, tmp_path, tasks)
    assert code == 0 and recap["changed"] == 0 and recap["ok"] == 3, out

    changed = yaml.safe_load(yaml.safe_dump(STORY))
    changed["connectors"]["paris-aws"]["description"] = "Paris to the new VPC"
    code, out, recap = playbook(api, tmp_path, story_tasks(changed), "--check", "--diff")
    assert code == 0 and recap["changed"] == 1, out
    assert '-    "description": "Paris to our VPC",' in out, out
    assert '+    "description": "Paris to the new VPC",' in out, out
    assert "@paris-aws Paris to our VPC" in named(api)  # check mode: not changed

    code, out, recap = playbook(api, tmp_path, story_tasks(changed), "--diff")
    assert code == 0 and recap["changed"] == 1, out
    assert '+    "description": "Paris to the new VPC",' in out, out
    assert named(api)["@paris-aws Paris to the new VPC"] == "active"
    assert playbook(api, tmp_path, story_tasks(changed))[2]["changed"] == 0

    changed["links"]["vpc-to-vnet"]["bandwidth_mbps"] = 400  # in place: modifying -> active
    code, out, recap = playbook(api, tmp_path, story_tasks(changed), "--diff")
    assert code == 0 and recap["changed"] == 1, out
    assert '-    "bandwidth_mbps": 500,' in out and '+    "bandwidth_mbps": 400,' in out, out
    link = next(iter(Client(api.url, api.keys["acme"]).links()))
    assert (link["state"], link["bandwidth_mbps"]) == ("active", 400)
    history = Client(api.url, api.keys["acme"]).link_of(link["id"])["history"]
    assert [h["to"] for h in history][-2:] == ["modifying", "active"]  # waited for its end
    assert playbook(api, tmp_path, story_tasks(changed))[2]["changed"] == 0

    # a Connector's prefixes in place too, as onramp-client and the API change them (an
    # order made without any accepts no route until they are set)
    changed["connectors"]["paris-aws"]["prefixes"] = ["10.100.0.0/24", "10.101.0.0/24"]
    code, out, recap = playbook(api, tmp_path, story_tasks(changed), "--diff")
    assert code == 0 and recap["changed"] == 1, out
    assert '+        "10.101.0.0/24"' in out, out
    (paris,) = (c for c in Client(api.url, api.keys["acme"]).connectors()
                if c["request"]["description"].startswith("@paris-aws"))  # fmt: skip
    assert (paris["state"], paris["request"]["prefixes"]) == (
        "active", ["10.100.0.0/24", "10.101.0.0/24"])  # fmt: skip
    history = Client(api.url, api.keys["acme"]).connector(paris["id"])["history"]
    assert [h["to"] for h in history][-2:] == ["modifying", "active"]  # waited for its end
    assert playbook(api, tmp_path, story_tasks(changed))[2]["changed"] == 0

    code, out, recap = playbook(api, tmp_path, story_tasks(changed, "absent"), "--check")
    assert code == 0 and recap["changed"] == 3 and len(named(api)) == 3, out
    code, out, recap = playbook(api, tmp_path, story_tasks(changed, "absent"))
    assert code == 0 and recap["changed"] == 3, out
    assert out.index("TASK [link vpc-to-vnet]") < out.index("TASK [connector paris-aws]")
    assert named(api) == {}
    assert playbook(api, tmp_path, story_tasks(changed, "absent"))[2]["changed"] == 0


def test_what_cannot_change_in_place_fails_with_its_code_and_nothing_changes(
    api: Api, workers: None, tmp_path: Path
) -> None:
    assert playbook(api, tmp_path, story_tasks(STORY))[0] == 0
    before = named(api)
    moved = yaml.safe_load(yaml.safe_dump(STORY))
    moved["connectors"]["paris-aws"]["aws_account"] = "111122223333"
    code, out, recap = playbook(api, tmp_path, story_tasks(moved))
    assert code == 2 and recap["failed"] == 1, out
    assert "ONR-CLIENT-003: connector paris-aws: aws_account cannot change in place" in out
    assert named(api) == before
    # prefixes change in place; one the gate refuses is rolled back, and the play says so
    refused = yaml.safe_load(yaml.safe_dump(STORY))
    refused["connectors"]["paris-aws"]["prefixes"] = [REFUSED_AT_THE_GATE]
    code, out, recap = playbook(api, tmp_path, story_tasks(refused))
    assert code == 2 and recap["failed"] == 1, out
    assert "ONR-CLIENT-001: connector paris-aws: the change was rolled back" in out, out
    (paris,) = (c for c in Client(api.url, api.keys["acme"]).connectors()
                if c["request"]["description"].startswith("@paris-aws")
                and c["state"] != "deleted")  # fmt: skip
    assert (paris["state"], paris["request"]["prefixes"]) == ("active", ["10.100.0.0/24"])
    assert playbook(api, tmp_path, story_tasks(STORY, "absent"))[0] == 0


def test_connector_info_reads_by_name_and_never_changes(
    api: Api, workers: None, tmp_path: Path
) -> None:
    hand = Client(api.url, api.keys["acme"]).order_connector(  # no name: listed, never managed
        onramp="aws-dx-par", kind="aws-hosted-vif", bandwidth_mbps=50, aws_account="999988887777",
        description="by hand")  # fmt: skip
    tasks = [*story_tasks(STORY)[:1],
             {"onramp.interconnect.connector_info": {"name": "paris-aws"}, "register": "one"},
             {"onramp.interconnect.connector_info": {}, "register": "every"},
             {"ansible.builtin.copy": {"content": "{{ {'one': one, 'every': every} | to_json }}",
                                       "dest": str(tmp_path / "read.json")}}]  # fmt: skip
    code, out, recap = playbook(api, tmp_path, tasks)
    assert code == 0 and recap["changed"] == 2, out  # the order and the copy; not the reads
    read = json.loads((tmp_path / "read.json").read_text())
    assert [c["name"] for c in read["one"]["connectors"]] == ["paris-aws"]
    assert read["one"]["changed"] is False and read["every"]["changed"] is False
    mine = {c["id"]: c["name"] for c in read["every"]["connectors"] if c["state"] != "deleted"}
    assert mine[hand["id"]] is None and "paris-aws" in mine.values()
    tasks = [{**story_tasks(STORY, "absent")[2]}]  # paris-aws absent
    assert playbook(api, tmp_path, tasks)[0] == 0
    Client(api.url, api.keys["acme"]).delete("connector", hand["id"])


@pytest.mark.parametrize(("module", "schema"), [("connector", "ConnectorOrder"),
                                                ("link", "LinkOrder")])  # fmt: skip
def test_the_modules_take_the_apis_order_fields_as_ansible_doc_shows_them(
    api: Api, module: str, schema: str, tmp_path: Path
) -> None:
    """The options are the served document's order fields (no tenant: the key says whose),
    documented: a field added to the API and not to the module fails here."""
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": str(tmp_path),
           "ANSIBLE_COLLECTIONS_PATH": str(ROOT)}  # fmt: skip
    ran = subprocess.run([str(BIN / "ansible-doc"), "--json", f"onramp.interconnect.{module}"],
                         env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    doc = json.loads(ran.stdout)[f"onramp.interconnect.{module}"]["doc"]
    served = api.call("GET", "/v1/openapi.json").json()["components"]["schemas"][schema]
    fields = set(served["properties"]) - {"tenant"}
    assert fields <= set(doc["options"]), fields - set(doc["options"])
    assert set(doc["options"]) - fields == {"name", "state", "wait", "wait_timeout", "url",
                                            "api_key"}  # fmt: skip


def test_the_collection_builds_and_installs_from_its_tarball(api: Api, tmp_path: Path) -> None:
    """As the README says a customer installs it: `ansible-galaxy collection build`, then
    `install` of the tarball elsewhere; a play finds the modules there."""
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": str(tmp_path)}
    galaxy = [str(BIN / "ansible-galaxy"), "collection"]
    built = subprocess.run([*galaxy, "build", str(COLLECTION), "--output-path", str(tmp_path)],
                           env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (tarball,) = tmp_path.glob("onramp-interconnect-*.tar.gz")
    installed = tmp_path / "collections"
    done = subprocess.run([*galaxy, "install", str(tarball), "-p", str(installed)], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (installed / "ansible_collections/onramp/interconnect/plugins/modules/link.py").exists()
    assert not list(installed.glob("ansible_collections/onramp/interconnect/tests/output"))
    tasks = [{"onramp.interconnect.connector_info": {}, "register": "every"}]
    code, out, recap = run_play(api.url, api.keys["acme"], tmp_path, tasks,
                                collections=installed)  # fmt: skip
    assert code == 0 and recap == {**recap, "ok": 1, "changed": 0, "failed": 0}, out


def test_wrong_tasks_fail_with_a_code_and_the_option_and_make_nothing(
    api: Api, tmp_path: Path
) -> None:
    before = live(api)
    tasks = [
        {"onramp.interconnect.connector": {"name": "lonely", "onramp": "aws-dx-par"}},
        {"onramp.interconnect.link": {"name": "nowhere", "a": "lonely", "b": "ghost",
                                      "bandwidth_mbps": 50}},
        {"onramp.interconnect.connector": {"name": "long", "description": "x" * 60}},
        {"onramp.interconnect.connector_info": {"url": "http://127.0.0.1:9"}},
    ]  # fmt: skip
    for i, task in enumerate(tasks):
        task.update(register=f"r{i}", ignore_errors=True)
    results = "{{ [r0, r1, r2, r3] | to_json }}"
    tasks.append({"ansible.builtin.copy": {"content": results, "dest": str(tmp_path / "r.json")}})
    code, out, recap = playbook(api, tmp_path, tasks)
    assert code == 0 and recap["failed"] == 0 and recap["ignored"] == 4, out
    got = [(r["failed"], r.get("code"), r.get("field"))
           for r in json.loads((tmp_path / "r.json").read_text())]  # fmt: skip
    assert got == [(True, "ONR-CLIENT-002", "kind"), (True, "ONR-CLIENT-002", "a"),
                   (True, "ONR-CLIENT-002", "description"),
                   (True, "ONR-CLIENT-006", None)]  # fmt: skip
    assert live(api) == before
