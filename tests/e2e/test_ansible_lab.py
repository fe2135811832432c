"""The Ansible collection through the real workers: `onramp demo --via api --serve` (its own
lab `tan`, the AWS and Azure simulators, the embedded worker, the API on loopback) tells its
story and stays up; then a play (`ansible-playbook`, a process of its own) takes acme's
named connectivity (an AWS Connector, an Azure ExpressRoute Connector on a circuit made at
the Azure simulator, a Link) from nothing to active through the pyATS gate, in check mode
first, again with nothing to do, the Link's bandwidth changed in place (the workers'
commit-confirm and gate), and back to nothing; the demo's own (unnamed) resources stay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from onramp.client import Client

from ..api.test_ansible import run_play, story_tasks
from .conftest import served_demo

LAB, OCTET = "tan", 75


def test_the_story_as_a_play_through_the_workers(tmp_path: Path) -> None:
    with served_demo(LAB, tmp_path, OCTET) as served:
        url, key, lans, log = served.url, served.key, served.lans, served.log
        azure = served.azure_url()
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
                                      "bandwidth_mbps": 100, "description": "VPC to VNet"}},
        }  # fmt: skip
        api = Client(url, key)
        before = {i["id"]: i["state"] for i in [*api.connectors(), *api.links()]}
        tasks = story_tasks(story, wait_timeout=300)

        def play(*flags: str, tasks: list[dict[str, Any]] = tasks) -> dict[str, int]:
            code, out, recap = run_play(url, key, tmp_path, tasks, *flags)
            assert code == 0, out + log.read_text()[-3000:]
            return recap

        assert play("--check")["changed"] == 3
        assert {i["id"] for i in [*api.connectors(), *api.links()]} == set(before)
        assert play()["changed"] == 3
        named = {i["id"]: i for i in [*api.connectors(), *api.links()] if i["id"] not in before}
        assert len(named) == 3 and all(i["state"] == "active" for i in named.values()), named
        assert play()["changed"] == 0

        story["links"]["vpc-to-vnet"]["bandwidth_mbps"] = 150  # in place, through the workers
        faster = story_tasks(story, wait_timeout=300)
        assert play("--diff", tasks=faster)["changed"] == 1
        (link,) = (api.link_of(i) for i, x in named.items() if "kind" not in x)
        assert (link["state"], link["bandwidth_mbps"]) == ("active", 150), link
        assert (link["change"] or {}).get("outcome") == "done", link
        assert play(tasks=faster)["changed"] == 0

        gone = story_tasks(story, "absent", wait_timeout=300)
        assert play(tasks=gone)["changed"] == 3
        assert {api.connector(i)["state"] if "kind" in x else api.link_of(i)["state"]
                for i, x in named.items()} == {"deleted"}  # fmt: skip
        assert play(tasks=gone)["changed"] == 0
        after = {
            i["id"]: i["state"] for i in [*api.connectors(), *api.links()] if i["id"] in before
        }
        assert after == before  # the demo's, unnamed: untouched
