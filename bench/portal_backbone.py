"""Benchmark: drawing the Portal's backbone page (the force layout and the SVG, in the
page's own JavaScript) in headless Chromium, for a 30-router and a 120-router backbone
against the default lab's 6 routers in the same run; and `GET /v1/topology` for each.

Topologies: generated inventories (onramp.network.inventory.generate: PEs dual-homed to
the P routers), their IS-IS graph made from the inventory's core links, every router
healthy. The page's `backbonePicture(topo)` is timed with performance.now(), median of 5.

    .venv/bin/python bench/portal_backbone.py [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from report import report

from onramp.api import keys as apikeys
from onramp.api.app import create_app, serve_in_thread
from onramp.core.settings import load_settings, local_config
from onramp.core.shapes import TopologyView
from onramp.flow.service import Service
from onramp.network.inventory import Backbone, load
from onramp.network.inventory.generate import generate, write


def topology_of(bb: Backbone) -> TopologyView:
    """What isis-ssh would read from this backbone with every router up."""
    nodes: dict[str, Any] = {}
    for r in bb.routers.values():
        nodes[r.name] = {"name": r.name, "system_id": r.isis_net[3:17] if r.isis_net else "",
                         "router_id": str(r.loopback.ip), "overload": False,
                         "neighbors": {c.peer.host: c.isis_metric for c in r.core_interfaces}}  # fmt: skip
    rrs = [nodes[r.name]["router_id"] for r in bb.routers.values() if r.route_reflector]
    return {"source": "isis-ssh", "read_at": datetime.now(UTC).isoformat(), "age_s": 0.0,
            "read_s": 0.0, "nodes": nodes,
            "health": {n: {"reachable": True, "daemons": dict.fromkeys(("zebra", "isisd", "bgpd"), True),
                           "rr_sessions": dict.fromkeys(rrs, "Established"), "error": ""} for n in nodes},
            "load": {n: {"connectors": 0, "used_mbps": 0, "capacity_mbps": 10000} for n in nodes}}  # fmt: skip


def measure(inventory: Path, tmp: Path, browser: Any) -> dict[str, float]:
    tmp.mkdir(parents=True)
    svc = Service.open(load_settings(local_config(tmp, inventory)))
    admin = apikeys.issue(svc.store, None, "engineers")
    svc.settings.topology_cache.parent.mkdir(parents=True, exist_ok=True)
    svc.settings.topology_cache.write_text(json.dumps(topology_of(svc.backbone)))
    with serve_in_thread(create_app(svc, lambda kind, ident: None)) as url:
        api = []
        for _ in range(20):
            t = time.perf_counter()
            requests.get(url + "/v1/topology", headers={"X-API-Key": admin}, timeout=10)
            api.append((time.perf_counter() - t) * 1000)
        browser.get(url + "/")
        browser.execute_script("sessionStorage.setItem('key', arguments[0]);", admin)
        browser.get(url + "/")
        draw = browser.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const topo = await api("GET", "/topology"), ms = [];
            for (let i = 0; i < 5; i++) {
              const t = performance.now(); backbonePicture(topo); ms.push(performance.now() - t);
            }
            done(ms);""")
    return {
        "routers": len(svc.backbone.routers),
        "draw_ms": statistics.median(draw),
        "api_ms": statistics.median(api),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    browser = webdriver.Chrome(options=options, service=webdriver.ChromeService(
        executable_path=shutil.which("chromedriver") or ""))  # fmt: skip
    browser.set_script_timeout(120)
    figures: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as d:
            root = Path(d)
            base = measure(Path(__file__).parent.parent / "inventory", root / "base", browser)
            for n in (30, 120):
                inv = root / f"inv{n}"
                write(generate(n), inv)
                load(inv)  # refused here rather than in the page, if it were bad
                got = measure(inv, root / f"run{n}", browser)
                figures[f"{n} routers: draw ms"] = round(got["draw_ms"], 1)
                figures[f"{n} routers: draw / 6 routers"] = round(
                    got["draw_ms"] / base["draw_ms"], 1
                )
                figures[f"{n} routers: GET /v1/topology ms"] = round(got["api_ms"], 2)
            figures["6 routers: draw ms"] = round(base["draw_ms"], 1)
            figures["6 routers: GET /v1/topology ms"] = round(base["api_ms"], 2)
    finally:
        browser.quit()
    report(figures, args.json)


if __name__ == "__main__":
    main()
