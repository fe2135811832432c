"""`onramp-client apply` through the real workers: `onramp demo --via api --serve` (its own
lab, the AWS and Azure simulators, the embedded worker, the API on loopback) tells its
story and stays up; then a customer's file takes acme's named connectivity (an AWS
Connector, an Azure ExpressRoute Connector on a circuit made at the Azure simulator, a
Link) from nothing to active through the pyATS gate, then a changed description and
prefixes (the VPC's cloud announcing a new subnet, which then reaches the VNet's host),
and back to nothing, each second apply finding nothing to do; the demo's own (unnamed)
Connectors and Link stay active."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
import yaml

from onramp.client import Client
from onramp.lab.run import Lab

from .conftest import served_demo

LAB, OCTET = "tcf", 77
NEW = "10.200.77.0/24"  # the VPC's new subnet


def client(url: str, key: str, tmp: Path, file: dict[str, Any], *args: str) -> tuple[int, str]:
    path = tmp / "connectivity.yaml"
    path.write_text(yaml.safe_dump(file, sort_keys=False))
    done = subprocess.run([sys.executable, "-m", "onramp.connectivity", *args, "-f", str(path)],
                          env={**os.environ, "ONRAMP_URL": url, "ONRAMP_KEY": key},
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_the_story_as_a_file_through_the_workers(tmp_path: Path) -> None:
    with served_demo(LAB, tmp_path, OCTET) as served:
        url, key, lans, log = served.url, served.key, served.lans, served.log
        azure = served.azure_url()
        # the customer's side first: an ExpressRoute circuit, its service key and S-tag
        made = requests.post(azure + "/_sim/circuits", json={"bandwidth_mbps": 1000},
                             timeout=10).json()["service_key"]  # fmt: skip
        state = requests.get(azure + "/_sim/state", timeout=10).json()
        s_tag = state["cross_connections"][made]["properties"]["sTag"]
        story = {
            "connectors": {
                "paris-aws": {"onramp": "aws-dx-par", "kind": "aws-hosted-vif",
                              "bandwidth_mbps": 200, "aws_account": "123456789012",
                              "prefixes": [str(lans["aws-dx-par"])], "description": "Paris"},
                "london-azure": {"onramp": "azure-er-lon", "kind": "azure-expressroute",
                                 "bandwidth_mbps": 200, "azure_service_key": made,
                                 "s_tag": s_tag, "prefixes": [str(lans["azure-er-lon"])]},
            },
            "links": {"vpc-to-vnet": {"a": "paris-aws", "b": "london-azure",
                                      "bandwidth_mbps": 100}},
        }  # fmt: skip
        api = Client(url, key)
        before = {i["id"]: i["state"] for i in [*api.connectors(), *api.links()]}

        assert client(url, key, tmp_path, story, "plan", "--detailed-exitcode")[0] == 2
        code, out = client(url, key, tmp_path, story, "apply", "--wait", "--timeout", "300")
        assert code == 0, out + log.read_text()[-3000:]
        named = {i["id"]: i for i in [*api.connectors(), *api.links()] if i["id"] not in before}
        assert len(named) == 3 and all(i["state"] == "active" for i in named.values()), named
        assert client(url, key, tmp_path, story, "apply", "--wait")[1].startswith("Nothing to do")

        # a changed description and prefixes: the VPC's new subnet, announced by its cloud
        lab = Lab(served.topo, served.settings.state_dir)
        vpc = lab.announce("aws-dx-par", NEW)
        assert lab.ping("azure-er-lon-host", vpc, count=3).received == 0  # filtered so far
        changed = yaml.safe_load(yaml.safe_dump(story))
        changed["connectors"]["paris-aws"].update(description="Paris, two subnets",
                                                  prefixes=[str(lans["aws-dx-par"]), NEW])  # fmt: skip
        code, out = client(url, key, tmp_path, changed, "plan", "--detailed-exitcode")
        assert code == 2 and "Plan: 0 to create, 1 to change, 0 to delete." in out, out
        code, out = client(url, key, tmp_path, changed, "apply", "--wait", "--timeout", "300")
        assert code == 0 and "~ connector paris-aws" in out and "[active]" in out, out
        aws = next(api.connector(i) for i, x in named.items() if x.get("onramp") == "aws-dx-par")
        assert aws["request"]["prefixes"] == [str(lans["aws-dx-par"]), NEW]
        assert aws["request"]["description"] == "@paris-aws Paris, two subnets"
        assert aws["change"]["outcome"] == "done"
        assert lab.ping("azure-er-lon-host", vpc, count=5).received == 5
        assert client(url, key, tmp_path, changed, "apply", "--wait")[1].startswith("Nothing to do")

        code, out = client(url, key, tmp_path, {}, "apply", "--wait", "--timeout", "300")
        assert code == 0, out + log.read_text()[-3000:]
        assert {api.connector(i)["state"] if "kind" in x else api.link_of(i)["state"]
                for i, x in named.items()} == {"deleted"}  # fmt: skip
        assert client(url, key, tmp_path, {}, "apply", "--wait")[1].startswith("Nothing to do")
        after = {
            i["id"]: i["state"] for i in [*api.connectors(), *api.links()] if i["id"] in before
        }
        assert after == before  # the demo's, unnamed: untouched
