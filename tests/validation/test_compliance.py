"""Compliance without routers: the golden FRR configs as intended, edited copies as
running; each difference lands in its feature, nothing else is reported, keys never."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from onramp.core.settings import ROOT, local_config
from onramp.core.shapes import RouterReport
from onramp.flow import compliance

from ..conftest import copy_default_inventory

GOLDEN = ROOT / "validation" / "golden"
KEY = "GoldenCaseKey23456789abc"  # the key the golden bgp_neighbor config carries
INTENDED = "".join((GOLDEN / f / "frr.txt").read_text()
                   for f in ("backbone", "vrf", "onramp_interface", "bgp_neighbor"))  # fmt: skip


def as_frr_shows_it(text: str) -> str:
    return "\n".join(compliance.tree("frr", text).lines()) + "\n"


def bad(report: dict[str, object]) -> dict[str, dict[str, list[str]]]:
    features = report["features"]
    assert isinstance(features, dict)
    return {f: {k: e[k] for k in ("missing", "extra") if e[k]} for f, e in features.items()
            if not e["compliant"]}  # fmt: skip


def test_the_rendered_config_and_frrs_merged_form_are_the_same_config() -> None:
    """The templates open `router bgp 65000 vrf c42` twice; FRR shows it once."""
    running = "frr version 8.4.4\n" + as_frr_shows_it(INTENDED)  # and a line FRR adds
    assert INTENDED.count("router bgp 65000 vrf c42\n") == 2
    got = compliance.compare("frr", INTENDED, running, [KEY])
    assert got["score"] == 100.0 and bad(got) == {}


def test_each_difference_lands_in_its_feature() -> None:
    running = as_frr_shows_it(INTENDED)
    running = running.replace("  neighbor 169.254.64.2 timers 10 30\n", "")
    running = running.replace("  ip router isis core\n", "", 1)  # on lo, the first interface
    running += "ip route 10.99.0.0/24 Null0\nip prefix-list c42-in seq 30 permit 0.0.0.0/0\n"
    running = running.replace("\n    neighbor 100.96.0.58 next-hop-self\n", "\n")
    running = running.replace("  description onramp acme ent-pop1 00000000 single\n",
                              "  description hand-made\n", 1)  # fmt: skip
    got = bad(compliance.compare("frr", INTENDED, running, [KEY]))
    assert got == {
        "isis": {"missing": ["interface lo / ip router isis core"]},
        "onramp_interface": {
            "missing": ["interface eth3.120 vrf c42 / description onramp acme ent-pop1 00000000 single"],
            "extra": ["interface eth3.120 vrf c42 / description hand-made"]},
        "static": {"extra": ["ip route 10.99.0.0/24 Null0"]},
        "link": {"missing": ["router bgp 65000 vrf c42 / address-family ipv4 unicast / neighbor 100.96.0.58 next-hop-self"]},
        "bgp_neighbor": {
            "missing": ["router bgp 65000 vrf c42 / neighbor 169.254.64.2 timers 10 30"],
            "extra": ["ip prefix-list c42-in seq 30 permit 0.0.0.0/0"]},
    }  # fmt: skip


def test_a_removed_neighbor_shows_its_key_masked() -> None:
    running = "".join(x + "\n" for x in as_frr_shows_it(INTENDED).splitlines()
                      if "169.254.64.2" not in x)  # fmt: skip
    got = compliance.compare("frr", INTENDED, running, [KEY])
    missing = got["features"]["bgp_neighbor"]["missing"]
    assert "router bgp 65000 vrf c42 / neighbor 169.254.64.2 password <removed>" in missing
    assert KEY not in str(got)
    # masked by the word too, when the key is not known
    assert KEY not in str(compliance.compare("frr", INTENDED, running))
    assert compliance.html({"at": "now", "score": got["score"], "compliant": False,
                            "routers": {"pe1": got}}).count("password &lt;removed&gt;") == 1  # fmt: skip


def test_an_ordered_feature_also_compares_the_order() -> None:
    rules = compliance.Rules("frr", (compliance.Feature(
        "route_map", (re.compile("route-map "),), ordered=True),), ())  # fmt: skip
    want = "route-map rm permit 10\n match ip address prefix-list a\n set metric 10\n"
    swapped = "route-map rm permit 10\n set metric 10\n match ip address prefix-list a\n"
    got = compliance.compare("frr", want, swapped, by=rules)
    assert got["features"]["route_map"]["order"] == ["route-map rm permit 10"]
    assert got["score"] == 0.0
    assert compliance.compare("frr", want, want, by=rules)["score"] == 100.0


def test_lines_no_feature_claims_are_reported_as_other() -> None:
    got = compliance.compare("frr", INTENDED, as_frr_shows_it(INTENDED) + "snmp-server x\n")
    assert got["features"]["other"] == {
        "compliant": False,
        "missing": [],
        "extra": ["snmp-server x"],
    }


def golden_router(platform: str) -> str:
    return "".join((GOLDEN / f / f"{platform}.txt").read_text()
                   for f in ("backbone", "onramp_interface", "bgp_neighbor"))  # fmt: skip


def test_iosxr_features_and_the_order_of_a_route_policy() -> None:
    """IOS-XR's backbone and neighbor features both open `router bgp 65000`: one section."""
    want = golden_router("iosxr")
    assert compliance.compare("iosxr", want, want)["score"] == 100.0
    statements = "  if destination in c42-in then\n    pass\n  else\n    drop\n  endif\n"
    swapped = "  else\n    drop\n  if destination in c42-in then\n    pass\n  endif\n"
    running = want.replace(statements, swapped, 1).replace("timers 10 30", "timers 10 60")
    running += "router static\n address-family ipv4 unicast\n  10.9.0.0/16 Null0\n"
    got = compliance.compare("iosxr", want, running, [KEY])
    assert bad(got) == {
        "static": {"extra": ["router static / address-family ipv4 unicast / 10.9.0.0/16 Null0"]},
        "bgp_neighbor": {"missing": ["router bgp 65000 / vrf c42 / neighbor 169.254.64.2 / timers 10 30"],
                         "extra": ["router bgp 65000 / vrf c42 / neighbor 169.254.64.2 / timers 10 60"]},
        "route_policy": {},  # the same statements, in another order
    }  # fmt: skip
    assert got["features"]["route_policy"]["order"] == ["route-policy c42-in"]
    assert KEY not in str(got)


def test_junos_set_lines() -> None:
    want = golden_router("junos")
    assert compliance.compare("junos", want, want)["score"] == 100.0
    running = "\n".join(x for x in want.splitlines() if "authentication-key" not in x)
    running += "\nset routing-options static route 10.9.0.0/16 discard\n"
    got = bad(compliance.compare("junos", want, running, [KEY]))
    assert got == {
        "static": {"extra": ["set routing-options static route 10.9.0.0/16 discard"]},
        "bgp_neighbor": {"missing": ['set routing-instances c42 protocols bgp group c42-csp neighbor '
                                    '169.254.64.2 authentication-key "<removed>"']},
    }  # fmt: skip


def test_unreachable_routers_are_one_line_each_and_not_counted_compliant(tmp_path: Path) -> None:
    """Nobody answers on port 1 of 127.0.0.1/2: the two routers are not read, so the run
    is not compliant and its score is 0, not the 100 of no router judged."""
    inv = copy_default_inventory(tmp_path / "inventory")
    for name, address in (("pe1-par", "127.0.0.1"), ("pe1-lon", "127.0.0.2")):
        inv.hosts[name].update(hostname=address, port=1)
    config = local_config(tmp_path, inv.write(), nornir={
        "inventory": {"plugin": "OnrampInventory", "options": {"directory": str(inv.directory)}},
        "runner": {"plugin": "threaded", "options": {"num_workers": 2}},
        "logging": {"enabled": False}})  # fmt: skip
    run = [sys.executable, "-m", "onramp.cli", "--config", str(config), "compliance", "run",
           "--router", "pe1-par", "--router", "pe1-lon"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ONRAMP_STORE_URL", None)
    env.pop("ONRAMP_INVENTORY", None)
    done = subprocess.run([*run, "--json"], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert (report["score"], report["compliant"]) == (0.0, False)
    assert {r: e["error"].split(":")[0] for r, e in report["routers"].items()} == {
        "pe1-par": "ONR-DEPLOY-001", "pe1-lon": "ONR-DEPLOY-001"}  # fmt: skip
    assert "Traceback" not in done.stderr
    done = subprocess.run(run, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr, done.stderr
    for router, address in (("pe1-par", "127.0.0.1"), ("pe1-lon", "127.0.0.2")):
        (line,) = [x for x in done.stdout.splitlines() if x.startswith(f"{router} ")]
        assert "not read" in line and "ONR-DEPLOY-001" in line and address in line
    assert "score 0.0 %: NOT compliant" in done.stdout


def test_the_run_verdict_counts_a_router_not_read_as_0() -> None:
    ok: RouterReport = {"score": 100.0, "features": {}}
    gone: RouterReport = {"error": "ONR-DEPLOY-001: pe1-par: no route to host"}
    assert compliance.verdict([ok, gone]) == (50.0, False)  # was 100.0 and not compliant
    assert compliance.verdict([ok, {"busy": "connector 1f3e configuring"}]) == (100.0, True)
    assert compliance.verdict([{"busy": "link 77c2 verifying"}]) == (None, True)
    assert compliance.verdict([ok] * 999 + [{"score": 99.0}]) == (99.9, False)  # never rounded up
