"""`onramp topology`: the backbone as the network says it is (IS-IS + PE health), and what
failing a router or a link would do. Nothing here changes a router or the store."""

from __future__ import annotations

from typing import Annotated

import typer

from onramp.cli.common import JsonOpt, dump, errors, new_table, out
from onramp.cli.service import service

topology_app = typer.Typer(
    rich_markup_mode=None, help="The backbone read from the network; what-if.", no_args_is_help=True
)


@topology_app.command("show")
def show(
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Read the routers now, not the cache.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Routers, their IS-IS adjacencies, overload bit, health and load, with the read's age."""
    from onramp.flow import edges, topology

    with errors(as_json):
        svc = service()
        topo = topology.current(svc.settings, svc.store, svc.backbone, 0.0 if fresh else None)
        if topo is None:
            topo = topology.read(svc.settings, svc.store, svc.backbone)  # source off: read anyway
    view = topology.marked(topo, svc.backbone)  # the marks the API and the Portal show
    if as_json:
        dump(view)
        return
    g = edges.graph(topo["nodes"])
    t = new_table("router", "adjacencies (metric)", "state", "Connectors", "used/capacity Mb/s",
              title=f"{topo['source']}, read {topo['age_s']:g}s ago in {topo['read_s']:g}s")  # fmt: skip
    for name, mark in sorted(view["routers"].items()):
        adj = (
            ", ".join(f"{b} ({g.edges[name, b]['weight']})" for b in sorted(g.successors(name)))
            if name in g
            else ""
        )
        ld = topo["load"].get(name, {"connectors": 0, "used_mbps": 0, "capacity_mbps": 0})
        t.add_row(
            name, adj, mark["why"] or mark["state"], str(ld["connectors"]),
            f"{ld['used_mbps']}/{ld['capacity_mbps']}",
        )  # fmt: skip
    out.print(t)


@topology_app.command("what-if")
def what_if(
    fail: Annotated[
        str, typer.Option("--fail", help="A router (pe1-lon) or a link (pe1-lon--p1-par).")
    ],
    as_json: JsonOpt = False,
) -> None:
    """The Connectors that would lose a leg or their redundancy and the Links whose SLA
    latency would break if ROUTER or LINK failed; nothing is touched."""
    from onramp.flow import topology

    with errors(as_json):
        svc = service()
        topo = topology.current(svc.settings, svc.store, svc.backbone) or topology.read(
            svc.settings, svc.store, svc.backbone
        )
        report = topology.what_if(
            topo, svc.store, svc.backbone, fail, svc.settings.topology.ms_per_metric
        )
    if as_json:
        dump(report)
        return
    cal = report["calibration"]
    how = (f"fitted to {cal['samples']} KPI windows of {cal['links']} Link(s)"
           if cal["source"] == "kpi" else "topology.ms_per_metric: no KPI probe to fit")  # fmt: skip
    out.print(f"if {fail} failed (latency {cal['ms_per_metric']:g} ms per IGP metric unit, {how}):")
    out.print(f"  routers cut off the route reflectors: {', '.join(report['isolated']) or 'none'}")
    out.print(
        f"  Connectors down (every leg lost): {', '.join(report['connectors_down']) or 'none'}"
    )
    out.print(
        f"  Connectors losing redundancy: {', '.join(report['connectors_degraded']) or 'none'}"
    )
    if not report["links"]:
        out.print("  Links whose path cost rises: none")
    for lk in report["links"]:
        after = "no path" if lk["cost_after"] is None else f"{lk['cost_after']:g}"
        sla = f"{lk['latency_ms']} ms vs {lk['limit_ms']} ms ({lk['sla_class']})"
        verdict = "[red]SLA breached[/]" if lk["breached"] else "within SLA"
        out.print(f"  Link {lk['link']}: cost {lk['cost_before']:g} -> {after}, {sla}: {verdict}")
