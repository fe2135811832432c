"""`onramp tenant|catalogue|connector|link`: the service model from an engineer's shell.

`plan` shows what would be allocated and where, and writes nothing; `create` allocates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, cast

import typer

from onramp.cli.common import JsonOpt, dump, errors, new_table, out, settings

if TYPE_CHECKING:
    from onramp.core.shapes import (
        ConnectorView,
        CustomerStep,
        EdgeChoice,
        LinkView,
        TransitionView,
    )
    from onramp.flow.reads import Reader
    from onramp.flow.service import Service

tenant_app = typer.Typer(
    rich_markup_mode=None,
    help="Customers: each owns its Connectors and Links.",
    no_args_is_help=True,
)
catalogue_app = typer.Typer(
    rich_markup_mode=None,
    help="What can be ordered where, with capacity left.",
    invoke_without_command=True,
)
connector_app = typer.Typer(
    rich_markup_mode=None,
    help="Connectors: one attachment to a cloud or a site.",
    no_args_is_help=True,
)
link_app = typer.Typer(
    rich_markup_mode=None,
    help="Links: two Connectors of one tenant joined in their own VPN.",
    no_args_is_help=True,
)


def service() -> Service:
    """The service core; what it stores for the workers goes to config.yaml's broker."""
    from onramp.flow.service import Service  # imported here: `onramp --help` stays fast

    return Service.open(settings(), submit=_submit)


def reader() -> Reader:
    """The service core's reads alone, for the commands that only read: neither the ORM nor
    what allocates and renders is imported (issue 23 item 6: they run in loops)."""
    from onramp.flow.reads import Reader

    return Reader.open(settings())


def _submit(kind: str, ident: str) -> None:
    from onramp import worker  # Celery is loaded only by commands that hand work over

    worker.configure_once(settings())
    worker.submit(kind, ident)


# ------------------------------------------------------------------ tenants


@tenant_app.command("add")
def tenant_add(tenant_id: str, name: str, as_json: JsonOpt = False) -> None:
    """Add a tenant (idempotent)."""
    with errors(as_json):
        t = service().add_tenant(tenant_id, name)
    dump(t) if as_json else out.print(f"tenant {t['id']} ({t['name']})")


@tenant_app.command("delegate")
def tenant_delegate(
    tenant_id: str,
    provider: Annotated[str, typer.Argument(help="aws or azure.")],
    account: Annotated[str, typer.Option(help="AWS account id; Azure subscription id.")],
    key_id: Annotated[str | None, typer.Option(help="AWS access key id.")] = None,
    virtual_gateway_id: Annotated[
        str | None, typer.Option(help="AWS: the VGW to attach VIFs to.")
    ] = None,
    direct_connect_gateway_id: Annotated[
        str | None, typer.Option(help="AWS: the DX gateway.")
    ] = None,
    azure_tenant: Annotated[
        str | None, typer.Option(help="Azure: the service principal's tenant.")
    ] = None,
    client_id: Annotated[
        str | None, typer.Option(help="Azure: the service principal's client id.")
    ] = None,
    resource_group: Annotated[
        str | None, typer.Option(help="Azure: where circuits are made.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a tenant's credentials at a provider, for onramp to do its part there. The
    secret (AWS secret access key, Azure client secret) is read from $ONRAMP_DELEGATION_SECRET
    or asked without echo; it is stored encrypted and never shown."""
    import getpass
    import os

    from onramp.core.model import AwsDelegation, AzureDelegation
    from onramp.flow.request import parse

    secret = os.environ.get("ONRAMP_DELEGATION_SECRET") or getpass.getpass("secret: ")
    given = {"provider": provider, "account": account, "access_key_id": key_id,
             "secret_access_key": secret, "virtual_gateway_id": virtual_gateway_id,
             "direct_connect_gateway_id": direct_connect_gateway_id} if provider == "aws" else {
             "provider": provider, "account": account, "tenant_id": azure_tenant,
             "client_id": client_id, "client_secret": secret, "resource_group": resource_group}  # fmt: skip
    with errors(as_json):
        data = {k: v for k, v in given.items() if v is not None}
        body: AwsDelegation | AzureDelegation = (
            parse(AwsDelegation, data) if provider == "aws" else parse(AzureDelegation, data)
        )
        d = service().delegate(tenant_id, body, f"cli:{getpass.getuser()}")
    if as_json:
        dump(d.model_dump(mode="json"))
    else:
        out.print(f"delegation of {d.tenant} at {d.provider} (account {d.account}): stored")


@tenant_app.command("revoke")
def tenant_revoke(tenant_id: str, provider: str, as_json: JsonOpt = False) -> None:
    """Forget a tenant's credentials at a provider."""
    import getpass

    with errors(as_json):
        d = service().revoke_delegation(tenant_id, provider, f"cli:{getpass.getuser()}")
    if as_json:
        dump(d.model_dump(mode="json"))
    else:
        out.print(f"delegation of {d.tenant} at {d.provider} (account {d.account}): revoked")


@tenant_app.command("list")
def tenant_list(as_json: JsonOpt = False) -> None:
    """List tenants."""
    with errors(as_json):
        tenants = reader().tenants()
    if as_json:
        dump(tenants)
        return
    table = new_table("id", "name")
    for t in tenants:
        table.add_row(t["id"], t["name"])
    out.print(table)


# ------------------------------------------------------------------ catalogue


@catalogue_app.callback()
def catalogue(as_json: JsonOpt = False) -> None:
    """On-ramps, the Connector kinds they offer, their ports and capacity left."""
    with errors(as_json):
        onramps = reader().catalogue()
    free = [o["capacity_mbps"] - o["used_mbps"] for o in onramps]  # model.Onramp.free_mbps
    if as_json:
        dump([{**o, "free_mbps": f} for o, f in zip(onramps, free, strict=True)])
        return
    table = new_table("on-ramp", "provider", "pop", "kinds", "ports", "capacity Mb/s", "free Mb/s")
    for o, f in zip(onramps, free, strict=True):
        table.add_row(
            o["id"],
            o["provider"],
            o["pop"],
            ", ".join(o["kinds"]),
            ", ".join(o["ports"]),
            str(o["capacity_mbps"]),
            str(f),
        )
    out.print(table)


# ------------------------------------------------------------------ connectors

Opt = typer.Option


def connector_order(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option(help="Tenant id.")],
    onramp: Annotated[str, typer.Option(help="On-ramp id (see: onramp catalogue).")],
    kind: Annotated[
        str,
        Opt(
            help="aws-hosted-vif, aws-hosted-connection, azure-expressroute, gcp-partner, "
            "ibm-direct-link, alibaba-express-connect, enterprise, manual."
        ),
    ],
    bandwidth: Annotated[int, Opt(help="Mb/s, one of the provider's steps.")],
    description: Annotated[
        str, Opt(help="Free text that reaches router configs: letters, digits, spaces, _.,:/()+@=-")
    ] = "",
    aws_account: Annotated[
        str | None, Opt(help="AWS account id (12 digits) that receives the VIF or connection.")
    ] = None,
    azure_service_key: Annotated[
        str | None, typer.Option(help="ExpressRoute circuit service key.")
    ] = None,
    gcp_pairing_key: Annotated[
        str | None, Opt(help="Partner attachment pairing key <uuid>/<region>/<1|2>.")
    ] = None,
    ibm_account: Annotated[
        str | None, Opt(help="IBM Cloud account id that receives the Direct Link gateway.")
    ] = None,
    alibaba_uid: Annotated[
        str | None, Opt(help="Alibaba Cloud account UID that receives the hosted connection.")
    ] = None,
    customer_asn: Annotated[
        int | None, Opt(help="Customer's ASN, where the provider takes one.")
    ] = None,
    prefix: Annotated[
        list[str] | None, Opt(help="A prefix the customer may announce (repeat).")
    ] = None,
    mtu: Annotated[int | None, Opt(help="MTU (default: the provider's first).")] = None,
    prefix_length: Annotated[
        int | None, Opt(help="Peering subnet size (default: the provider's).")
    ] = None,
    vlan: Annotated[
        int | None,
        Opt(help="Ask for this VLAN (the C-tag with QinQ) instead of the next free one."),
    ] = None,
    s_tag: Annotated[
        int | None, Opt(help="QinQ: the S-tag the provider assigned (Azure: the circuit's).")
    ] = None,
    idempotency_key: Annotated[
        str | None, Opt(help="The same key twice makes one Connector.")
    ] = None,
    explain: Annotated[
        bool, Opt("--explain", help="Every candidate edge, its score or why it was excluded.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """`plan` shows what a Connector would get and where, writing nothing; `create` allocates it."""
    write = ctx.info_name == "create"
    with errors(as_json):
        svc = service()
        req = svc.connector_request(
            {
                "tenant": tenant,
                "onramp": onramp,
                "kind": kind,
                "bandwidth_mbps": bandwidth,
                "description": description,
                "aws_account": aws_account,
                "azure_service_key": azure_service_key,
                "gcp_pairing_key": gcp_pairing_key,
                "ibm_account": ibm_account,
                "alibaba_uid": alibaba_uid,
                "customer_asn": customer_asn,
                "prefixes": prefix or [],
                "mtu": mtu,
                "prefix_length": prefix_length,
                "vlan": vlan,
                "s_tag": s_tag,
                "idempotency_key": idempotency_key,
            }
        )
        c = svc.create_connector(req) if write else svc.plan_connector(req)
    if not explain:
        c.pop("explain", None)
    if as_json:
        dump(c)
    else:
        _show_connector(c, "created" if write else "plan (nothing written)")
        if explain:
            show_explain(c.get("explain"))
        if not prefix:  # the gate then awaits no route either: active, carrying nothing
            later = f"'onramp connector update {c['id'][:8]} --prefix P'" if write else "--prefix P"
            out.print(f"no --prefix: the router accepts no route from it until {later} "
                      "lists them")  # fmt: skip
        if write:
            _handed("connector", c["id"], c["state"])


def _handed(kind: str, ident: str, state: str) -> None:
    """After a create: who takes it on from `allocated`, how to follow it, what if nobody does
    (it stays allocated, and nothing said why)."""
    if state == "allocated":
        out.print(f"handed to the workers, who take it to active ('onramp {kind} show "
                  f"{ident[:8]}' follows it; 'onramp worker status' shows who holds it). "
                  "No worker running? 'onramp worker' starts one.")  # fmt: skip


def show_explain(choices: list[EdgeChoice] | None) -> None:
    """The edge choice as a table: chosen, score (lower wins) and its terms, or the reason."""
    if choices is None:
        out.print("edge chosen by inventory and store only: topology.source is off, or the "
                  "read failed (the warning above says why)")  # fmt: skip
        return
    t = new_table("role", "edge", "score", "why")
    for e in choices:
        terms = ", ".join(f"{k} {v:g}" for k, v in e["terms"].items())
        why = e["excluded"] or ("chosen: " if e["chosen"] else "") + terms
        t.add_row(e["role"], f"{e['router']}:{e['port']}",
                  "-" if e["score"] is None else f"{e['score']:g}", why)  # fmt: skip
    out.print(t)


connector_app.command(
    "plan",
    help="Show what a Connector would get (edge, VLAN, subnets, VRF) and where; write nothing.",
)(connector_order)
connector_app.command(
    "create", help="Allocate a Connector: edge, VLAN, peering subnets, VRF, BGP key."
)(connector_order)


def _show_connector(c: ConnectorView, title: str) -> None:
    out.print(
        f"[bold]{title}[/] {c['id']}  tenant {c['tenant']}  {c['kind']} at {c['onramp']}  "
        f"{c['bandwidth_mbps']} Mb/s  state [cyan]{c['state']}[/]"
    )
    out.print(
        f"  vrf {c['vrf']}  local AS {c['local_asn']}  peer AS {c['peer_asn']}  mtu {c['mtu']}  "
        f"BGP MD5 key {'set (encrypted)' if c['md5_key'] else 'none'}"
    )
    table = new_table(
        "role", "router", "interface", "vlan", "c-tag", "subnet", "ours", "theirs", "rd"
    )
    for a in c["attachments"]:
        table.add_row(
            a["role"],
            a["router"],
            a["interface"],
            str(a["vlan"]),
            str(a["inner_vlan"] or "-"),
            a["subnet"],
            a["local_address"],
            a["peer_address"],
            a["rd"] or "-",
        )
    out.print(table)


def _show_history(history: list[TransitionView]) -> None:
    table = new_table("from", "to", "at (UTC)", "by", "why", title="history")
    for h in history:
        table.add_row(h["from"] or "-", h["to"], f"{h['at']:%Y-%m-%d %H:%M:%S}", h["actor"],
                      h["reason"][:80] or "-")  # fmt: skip
    out.print(table)


@connector_app.command("list")
def connector_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's.")] = None,
    state: Annotated[
        str | None, typer.Option(help="Only in this state (e.g. active, deleted).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Connectors with their state and where they sit."""
    with errors(as_json):
        conns = reader().connectors(tenant, state)
    if as_json:
        dump(conns)
        return
    table = new_table("id", "tenant", "on-ramp", "kind", "Mb/s", "state", "where")
    for c in conns:
        where = ", ".join(f"{a['router']} {a['interface']}" for a in c["attachments"])
        table.add_row(
            c["id"][:8],
            c["tenant"],
            c["onramp"],
            c["kind"],
            str(c["bandwidth_mbps"]),
            c["state"],
            where,
        )
    out.print(table)


@connector_app.command("show")
def connector_show(
    ident: Annotated[str, typer.Argument(help="Id or its first 4+ characters.")],
    as_json: JsonOpt = False,
) -> None:
    """One Connector: allocation, state, what the customer gave, its state changes."""
    with errors(as_json):
        svc = service()
        c = svc.connector(ident)
        history = svc.history("connector", c["id"])
        step = svc.customer_step(c["id"])
    if as_json:
        dump({**c, "history": history, "customer_step": step})
        return
    _show_connector(c, "connector")
    if step is not None:
        _show_step(step)
    _show_history(history)


def _show_step(step: CustomerStep) -> None:
    out.print(f"[bold]the customer's step[/] ({step['resource'] or 'not yet made'}): "
              f"{step['action']}")  # fmt: skip
    out.print("  VIF: " + "  ".join(f"{k} {v}" for k, v in step["vif"].items()))
    if "authKey" not in step["vif"]:
        out.print("  authKey: the Connector's BGP key: onramp connector customer-step ID --reveal")


@connector_app.command("customer-step")
def connector_customer_step(
    ident: Annotated[str, typer.Argument(help="Id or its first 4+ characters.")],
    reveal: Annotated[
        bool, typer.Option(help="Show the BGP key too (the reveal is recorded).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """What the customer makes at its provider (an AWS VIF on a hosted connection)."""
    import getpass

    with errors(as_json):
        svc = service()
        c = svc.connector(ident)
        step = svc.customer_step(c["id"], reveal_by=f"cli:{getpass.getuser()}" if reveal else None)
    if as_json:
        dump(step)
    elif step is None:
        out.print(f"connector {c['id']}: nothing for the customer to make at the provider")
    else:
        _show_step(step)


@connector_app.command("customer-config")
def connector_customer_config(
    ident: Annotated[str, typer.Argument(help="Id or its first 4+ characters.")],
    platform: Annotated[
        str, typer.Option(help="The customer router's OS: ios, iosxr, junos, frr.")
    ] = "ios",
    interface: Annotated[
        str | None,
        Opt(help="The customer router's port facing the cross-connect (default: per platform)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """What the customer configures on its router for an enterprise Connector: VLANs,
    addresses, ASNs, MTU, allowed prefixes and the BGP key (shown: every call is recorded)."""
    import getpass

    with errors(as_json):
        found = service().customer_config(ident, platform, f"cli:{getpass.getuser()}", interface)
    if as_json:
        dump(found)
    else:  # the configuration alone, ready for a file: > ce.conf
        print(found["config"], end="")


Wait = Annotated[
    bool,
    Opt("--wait", help="Do the workers' steps here and show each state until deleted "
        "(for when no worker runs, or to watch it)."),
]  # fmt: skip
DryRun = Annotated[
    bool,
    Opt("--dry-run", help="Show what would be removed (the routers' diffs, the provider's "
        "resource) and whether it would be refused; change nothing."),
]  # fmt: skip


@connector_app.command("delete")
def connector_delete(
    ident: Annotated[str, typer.Argument(help="Id or its first 4+ characters.")],
    wait: Wait = False,
    dry_run: DryRun = False,
    as_json: JsonOpt = False,
) -> None:
    """Take a Connector away: marked decommissioning, the workers remove it from the routers,
    then at the provider, then release its allocation. Refused while a live Link holds it."""
    _delete("connector", ident, wait, dry_run, as_json)


def _delete(kind: str, ident: str, wait: bool, dry_run: bool, as_json: bool) -> None:
    """`connector|link delete`: one way to remove (onramp.flow.allocate.decommission); with
    --wait or --dry-run, the decommission runbook (its steps in this process, or its plan)."""
    import getpass

    actor = f"cli:{getpass.getuser()}"
    if wait or dry_run:
        from onramp.cli.runbook import _progress, _show
        from onramp.flow.orchestrate import Orchestrator
        from onramp.runbooks import lifecycle

        with errors(as_json):
            svc = service()
            orch = Orchestrator.from_settings(svc, actor)
            result = lifecycle.decommission(svc, kind, ident, not dry_run, orch,
                                           _progress(as_json))  # fmt: skip
        _show(result, as_json)
        return
    with errors(as_json):
        svc = service()
        item = svc.delete_connector(ident, actor) if kind == "connector" else (
            svc.delete_link(ident, actor))  # fmt: skip
    if as_json:
        dump(item)
    elif item["state"] == "decommissioning":
        out.print(f"{kind} {item['id']} decommissioning: handed to the workers, who take it off "
                  f"the routers, then the provider, then release it ('onramp {kind} show "
                  f"{item['id'][:8]}' follows it). No worker running? "
                  f"'onramp {kind} delete {item['id'][:8]} --wait' does it here.")  # fmt: skip
    else:  # deleted, or failed: released already
        out.print(f"{kind} {item['id']} {item['state']}: nothing left to remove")


# ------------------------------------------------------------------ links


def link_order(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option(help="Tenant id.")],
    a: Annotated[str, typer.Option(help="First Connector (id or prefix).")],
    b: Annotated[str, typer.Option(help="Second Connector (id or prefix).")],
    bandwidth: Annotated[int, Opt(help="Mb/s, at most the slower Connector's.")],
    sla: Annotated[str, typer.Option(help="SLA class: gold, silver, bronze.")] = "silver",
    description: Annotated[str, typer.Option(help="Free text (same rules as Connectors).")] = "",
    idempotency_key: Annotated[
        str | None, typer.Option(help="The same key twice makes one Link.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """`plan` shows the Link's route target, writing nothing; `create` allocates it."""
    write = ctx.info_name == "create"
    with errors(as_json):
        svc = service()
        req = svc.link_request(
            {
                "tenant": tenant,
                "a": a,
                "b": b,
                "bandwidth_mbps": bandwidth,
                "sla_class": sla,
                "description": description,
                "idempotency_key": idempotency_key,
            }
        )
        link = svc.create_link(req) if write else svc.plan_link(req)
    if as_json:
        dump(link)
    else:
        _show_link(link, "created" if write else "plan (nothing written)")
        if write:
            _handed("link", link["id"], link["state"])


link_app.command("plan", help="Show what a Link would get (route target); write nothing.")(
    link_order
)
link_app.command("create", help="Allocate a Link between two Connectors of one tenant.")(link_order)


def _show_link(link: LinkView, title: str) -> None:
    out.print(
        f"[bold]{title}[/] {link['id']}  tenant {link['tenant']}  {link['a'][:8]} <-> {link['b'][:8]}  "
        f"{link['bandwidth_mbps']} Mb/s  SLA {link['sla_class']}  RT {link['route_target']}  state [cyan]{link['state']}[/]"
    )


@link_app.command("list")
def link_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Links with their Connectors, SLA and state."""
    with errors(as_json):
        links = reader().links(tenant)
    if as_json:
        dump(links)
        return
    table = new_table("id", "tenant", "a", "b", "Mb/s", "SLA", "RT", "state")
    for x in links:
        table.add_row(
            x["id"][:8],
            x["tenant"],
            x["a"][:8],
            x["b"][:8],
            str(x["bandwidth_mbps"]),
            x["sla_class"],
            x["route_target"],
            x["state"],
        )
    out.print(table)


@link_app.command("show")
def link_show(
    ident: Annotated[str, typer.Argument(help="Id or its first 4+ characters.")],
    as_json: JsonOpt = False,
) -> None:
    """One Link and its state changes."""
    with errors(as_json):
        svc = service()
        link = svc.link(ident)
        history = svc.history("link", link["id"])
    if as_json:
        dump({**link, "history": history})
        return
    _show_link(link, "link")
    _show_history(history)


@link_app.command("delete")
def link_delete(
    ident: Annotated[str, typer.Argument(help="Id or its first 4+ characters.")],
    wait: Wait = False,
    dry_run: DryRun = False,
    as_json: JsonOpt = False,
) -> None:
    """Take a Link away: marked decommissioning, the workers remove it from the routers, then
    release its route target."""
    _delete("link", ident, wait, dry_run, as_json)


# ------------------------------------------------------------------ changes in place

Bandwidth = Annotated[
    int | None, Opt("--bandwidth", help="New Mb/s: changed in place, through plan, "
                    "commit-confirm and a gate that reads the new rate back.")]  # fmt: skip
Description = Annotated[str | None, Opt("--description", help="New free text (stored only).")]
NewPrefixes = Annotated[
    list[str] | None, Opt("--prefix", help="The whole new list of prefixes the customer may "
                          "announce (repeat it), changed in place through plan, commit-confirm "
                          "and a gate that sees the routes come in.")]  # fmt: skip
NoPrefixes = Annotated[bool, Opt("--no-prefixes", help="Allow no prefix at all (deny all).")]
ChangeDry = Annotated[
    bool, Opt("--dry-run", help="Check every rule (provider steps, port capacity, Links) and "
              "show the answer; change nothing.")]  # fmt: skip


@connector_app.command("update")
def connector_update(
    ident: Annotated[str, typer.Argument(help="Id or its first 4+ characters.")],
    bandwidth: Bandwidth = None,
    description: Description = None,
    prefix: NewPrefixes = None,
    no_prefixes: NoPrefixes = False,
    dry_run: ChangeDry = False,
    as_json: JsonOpt = False,
) -> None:
    """Change a live Connector's bandwidth and/or prefixes in place (the workers: modifying
    -> active, changed, or as it was with the reason) and/or its description."""
    prefixes = [] if no_prefixes else prefix
    _update("connector", ident, bandwidth, description, dry_run, as_json, prefixes)


@link_app.command("update")
def link_update(
    ident: Annotated[str, typer.Argument(help="Id or its first 4+ characters.")],
    bandwidth: Bandwidth = None,
    description: Description = None,
    dry_run: ChangeDry = False,
    as_json: JsonOpt = False,
) -> None:
    """As `connector update`: a Link is at most as fast as its slower Connector."""
    _update("link", ident, bandwidth, description, dry_run, as_json)


def _update(kind: str, ident: str, bandwidth: int | None, description: str | None,
            dry_run: bool, as_json: bool, prefixes: list[str] | None = None) -> None:  # fmt: skip
    import getpass

    with errors(as_json):
        item = service().change(kind, ident, {"bandwidth_mbps": bandwidth,
                                              "description": description, "prefixes": prefixes},
                                f"cli:{getpass.getuser()}", dry_run=dry_run)  # fmt: skip
    if as_json:
        dump(item)
        return
    what = "would be" if dry_run else "is"
    allowed = " ".join(map(str, cast(dict[str, list[str]], item.get("request") or {})
                           .get("prefixes", []))) or "none"  # fmt: skip
    out.print(f"{kind} {item['id']} {what} [cyan]{item['state']}[/] at {item['bandwidth_mbps']} Mb/s"
              + (f", prefixes {allowed}" if kind == "connector" else "")
              + (" (nothing written)" if dry_run else ""))  # fmt: skip
    if item["state"] == "modifying" and not dry_run:
        out.print(f"handed to the workers: plan, commit-confirm, the gate, then active "
                  f"('onramp {kind} show {item['id'][:8]}' follows it)")  # fmt: skip
