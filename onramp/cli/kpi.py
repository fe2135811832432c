"""`onramp kpi`: Links' measured loss, latency and jitter against their SLA; one
monitoring round by hand (the workers run one every `monitor.interval_s`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, cast

import typer

from onramp.cli.common import JsonOpt, dump, errors, new_table, out
from onramp.cli.service import service
from onramp.core.errors import OnrampError

if TYPE_CHECKING:
    from onramp.core.shapes import KpiMonth, LinkKpis

kpi_app = typer.Typer(
    rich_markup_mode=None, help="Link KPIs against their SLA: show, poll now.", no_args_is_help=True
)


@kpi_app.command("show")
def kpi_show(
    ident: Annotated[str, typer.Argument(help="Link id or its first 4+ characters.")],
    hours: Annotated[float, typer.Option(help="The last this many hours.")] = 24.0,
    month: Annotated[
        str | None, typer.Option(help="Availability and SLA met over a month: YYYY-MM (UTC).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A Link's windows (loss, latency avg/p95, jitter), its SLA and breaches."""
    from onramp.flow import monitor

    got: KpiMonth | LinkKpis
    with errors(as_json):
        svc = service()
        link = svc.link(ident)["id"]
        if month is not None:
            try:
                year, mon = (int(x) for x in month.split("-"))
                got = monitor.month(svc, link, year, mon)
            except ValueError:
                raise OnrampError("ONR-REQ-008", f"month {month!r}: give YYYY-MM",
                                  field="month") from None  # fmt: skip
        else:
            got = monitor.kpis(svc, link, datetime.now(UTC) - timedelta(hours=hours))
    if as_json:
        dump(got)
        return
    if month is not None:
        out.print(f"link {link[:8]} {month}: {got['windows']} windows, availability "
                  f"{_pct(got['availability_pct'])}, SLA met {_pct(got['sla_met_pct'])}")  # fmt: skip
        return
    _print(cast("LinkKpis", got))  # not a month: kpis()


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:g} %"


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _print(got: LinkKpis) -> None:
    sla = got["sla"]
    limits = (f"loss <= {sla['loss_pct']} %, latency <= {sla['latency_ms']} ms, jitter <= "
              f"{sla['jitter_ms']} ms" if sla else "no SLA for this class")  # fmt: skip
    out.print(f"[bold]link[/] {got['link']}  SLA {got['sla_class']} ({limits})")
    out.print(f"{got['windows']} windows: availability {_pct(got['availability_pct'])}, "
              f"SLA met {_pct(got['sla_met_pct'])}")  # fmt: skip
    table = new_table("at (UTC)", "sent", "loss %", "avg ms", "p95 ms", "jitter ms", "breaches")
    for s in got["samples"][-30:]:
        table.add_row(f"{s['at']:%Y-%m-%d %H:%M:%S}", str(s["sent"]), f"{s['loss_pct']:g}",
                      _ms(s["latency_avg_ms"]), _ms(s["latency_p95_ms"]), _ms(s["jitter_ms"]),
                      ",".join(s["breaches"]) or "-")  # fmt: skip
    out.print(table)
    for b in got["breaches"]:
        until = f"{b['ended_at']:%H:%M:%S}" if b["ended_at"] else "now (open)"
        out.print(f"[red]breach[/] {b['metric']}: {b['started_at']:%Y-%m-%d %H:%M:%S} to "
                  f"{until}, worst {b['worst']:g}")  # fmt: skip


@kpi_app.command("poll")
def kpi_poll(
    count: Annotated[int | None, typer.Option(help="Pings per Link (monitor.probes).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """One monitoring round now: every active Link measured (one window each, judged
    against its SLA), every active Connector's counters and BGP sessions read."""
    from onramp.flow import monitor
    from onramp.network.inventory.plugin import init_nornir

    with errors(as_json):
        svc = service()
        nr = init_nornir(svc.settings)
        try:
            done = monitor.round_(svc, nr, count or svc.settings.monitor.probes)
        finally:
            nr.close_connections()
    if as_json:
        dump(done)
        return
    got = done["links"]
    table = new_table(
        "link", "sent", "loss %", "avg ms", "p95 ms", "jitter ms", "breaches", "error"
    )
    for w in got:
        table.add_row(w["link"][:8], str(w["sent"]), f"{w['loss_pct']:g}",
                      _ms(w["latency_avg_ms"]), _ms(w["latency_p95_ms"]), _ms(w["jitter_ms"]),
                      ",".join(w["breaches"]) or "-", w["error"] or "")  # fmt: skip
    out.print(table if got else "no active Link to measure")
    for c in done["bgp_changes"]:
        out.print(f"BGP {c['session']} (connector {c['connector'][:8]}): {c['from']} -> {c['to']}")
