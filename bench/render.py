"""Benchmark: rendering 1,000 Connectors' configs through onramp vs plain Jinja2.

Same templates, same data, same run. onramp's path is `onramp.network.templates.render()` for each
feature of a Connector (vrf, onramp_interface, bgp_neighbor); the baseline is a plain
jinja2.Environment whose templates are loaded once and rendered with the same data.
The intent computation (onramp.network.intent.connector) is timed apart, for information.
Prints time per config and the ratio onramp / plain (target <= 1.5), median of runs.

    .venv/bin/python bench/render.py [--connectors 1000] [--runs 5] [--platform frr] [--json]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from ipaddress import IPv4Network
from typing import Any

import jinja2
from report import report

from onramp.core.model import Attachment, Connector
from onramp.core.settings import ROOT
from onramp.network import intent
from onramp.network.inventory import load
from onramp.network.templates import SERVICE_FEATURES, TEMPLATES, render, template_name


def connectors(n: int) -> list[Connector]:
    """n AWS Connectors spread over pe1-par's on-ramp port, each with its VLAN and /30."""
    pool = IPv4Network("169.254.64.0/18").subnets(new_prefix=30)
    out = []
    for k in range(n):
        subnet = next(pool)
        hosts = list(subnet.hosts())
        out.append(
            Connector(
                id=uuid.UUID(int=k + 1),
                tenant=f"t{k % 50}",
                onramp="aws-dx-par",
                kind="aws-hosted-vif",
                state="allocated",
                bandwidth_mbps=100,
                vrf=f"c{k + 1}",
                local_asn=65000,
                peer_asn=64512,
                mtu=1500,
                md5_key="set",
                request={"prefixes": [f"10.{k // 250}.{k % 250}.0/24", "172.16.0.0/16"]},
                created_at=None,
                attachments=[
                    Attachment(
                        role="single",
                        router="pe1-par",
                        port="eth3",
                        interface=f"eth3.{k + 2}",
                        vlan=k + 2,
                        inner_vlan=None,
                        rd=f"10.255.0.1:{k + 1}",
                        subnet=subnet,
                        local_address=f"{hosts[0]}/30",
                        peer_address=f"{hosts[1]}/30",
                    )
                ],
            )
        )
    return out


def timed(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connectors", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--platform", default="frr")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    bb = load(ROOT / "inventory")
    conns = connectors(args.connectors)

    def intents() -> list[dict[str, Any]]:
        return [
            intent.connector(
                bb,
                c,
                "pe1-par",
                md5_key="Abcdefghijkmnopqrstuvwx",
                route_targets=[f"65000:{c.vrf[1:]}"],
                remote_prefixes=["192.168.0.0/16"],
                max_prefixes=100,
            )
            for c in conns
        ]

    data = intents()
    plain_env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    plain = [plain_env.get_template(template_name(f, args.platform)) for f in SERVICE_FEATURES]

    def onramp_render() -> None:
        for d in data:
            for f in SERVICE_FEATURES:
                render(f, args.platform, d)

    def plain_render() -> None:
        for d in data:
            for t in plain:
                t.render(**d)

    onramp_render()  # warm both caches before timing
    plain_render()
    ours, base, intent_s = [], [], []
    for _ in range(args.runs):  # interleaved, so machine noise hits both alike
        ours.append(timed(onramp_render))
        base.append(timed(plain_render))
        intent_s.append(timed(intents))
    n = args.connectors
    figures = {
        "connectors": n,
        "platform": args.platform,
        "runs": args.runs,
        "onramp_render_us_per_config": round(statistics.median(ours) / n * 1e6, 1),
        "plain_jinja2_us_per_config": round(statistics.median(base) / n * 1e6, 1),
        "ratio_render": round(statistics.median(ours) / statistics.median(base), 3),
        "intent_us_per_config": round(statistics.median(intent_s) / n * 1e6, 1),
        "ratio_intent_plus_render": round(
            (statistics.median(ours) + statistics.median(intent_s)) / statistics.median(base), 3
        ),
        "target_ratio": 1.5,
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()
