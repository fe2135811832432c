"""The service core as one object: settings, store, inventory and vault, opened once.
Its reads are onramp.flow.reads' `Reader` (Core only, for the read-only commands).

CLI commands, the API, runbooks and the workers call these methods; they never open
the store or read the inventory themselves. Whatever stores work for the workers (an
order, a decommission) hands it to them through `submit` once it is committed: the entry
points wire `onramp.worker.submit` (this layer cannot import the workers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Self

from sqlalchemy import select

from onramp.core.errors import Code, OnrampError
from onramp.core.model import (
    AwsDelegation,
    AzureDelegation,
    Change,
    ConnectorRequest,
    DelegationView,
    LinkRequest,
    Tenant,
)
from onramp.core.settings import Settings
from onramp.core.shapes import (
    ConnectorPlan,
    ConnectorView,
    CustomerConfigView,
    CustomerStep,
    KeyReveal,
    LinkView,
    TransitionView,
)
from onramp.core.store import (
    ConnectorRow,
    EventRow,
    LinkRow,
    TenantRow,
    TransitionRow,
    by_prefix,
    now,
)
from onramp.csp.constraints import for_kind
from onramp.flow import allocate
from onramp.flow.reads import Reader, Submit
from onramp.flow.request import parse
from onramp.flow.views import connector_view, link_view

# who saw a BGP key, when, of which Connector: the record is a row (`events`, kind "reveal");
# this log line tells the operators' log collection too (never the key itself)
audit = logging.getLogger("onramp.audit")
log = logging.getLogger(__name__)


@dataclass
class Service(Reader):
    """The service core: its reads (Reader) and everything that writes."""

    @classmethod
    def open(cls, settings: Settings, submit: Submit | None = None) -> Self:
        """As Reader's, with the inventory read and checked now: the API, the workers and a
        command that writes fail at start on a broken one, not at their first use of it."""
        svc = super().open(settings, submit)
        _ = svc.backbone
        return svc

    def publish(self, kind: str, ident: str) -> bool:
        """Hand committed work to the workers. A broker that is down loses nothing: the
        order is stored and the workers' sweep picks it up; so this never raises."""
        if self.submit is None:
            return False
        try:
            self.submit(kind, ident)
        except Exception as exc:  # whatever the broker's client raises (kombu, amqp, OSError)
            log.warning("%s %s stored, not handed to the workers (%s): the sweep will take it",
                        kind, ident, exc)  # fmt: skip
            return False
        return True

    # tenants -----------------------------------------------------------
    def add_tenant(self, tenant_id: str, name: str) -> dict[str, str]:

        t = parse(Tenant, {"id": tenant_id, "name": name})
        with self.store.session() as s:
            if s.get(TenantRow, t.id) is None:
                s.add(TenantRow(id=t.id, name=t.name))
        return {"id": t.id, "name": t.name}

    # connectors ----------------------------------------------------------
    def connector_request(self, data: dict[str, Any]) -> ConnectorRequest:
        return parse(ConnectorRequest, {k: v for k, v in data.items() if v not in (None, [], ())})

    def edge_context(self) -> allocate.EdgeContext | None:
        """The network's state for an edge choice (read again when older than
        topology.max_age_s); None when topology.source is off or nothing answered."""
        from onramp.flow import topology  # reads the routers: only when a choice needs it

        try:
            topo = topology.current(self.settings, self.store, self.backbone)
        except Exception as exc:  # any failure of the read: the store-only choice, said why
            log.warning("edge choice by inventory and store: the topology read failed: %s", exc)
            return None
        if topo is None or not topo["nodes"]:
            if topo is not None:
                down = {h["error"] for h in topo["health"].values() if h["error"]}
                log.warning("edge choice by inventory and store: no router gave its IS-IS "
                            "database (%s)", "; ".join(sorted(down)) or "none read")  # fmt: skip
            return None
        return allocate.EdgeContext(topo, self.settings.topology.weights,
                                    topology.route_reflectors(self.backbone), [])  # fmt: skip

    def plan_connector(self, req: ConnectorRequest) -> ConnectorPlan:
        return allocate.plan_connector(self.store, self.backbone, req, self.vault,
                                       self.edge_context())  # fmt: skip

    def create_connector(self, req: ConnectorRequest) -> ConnectorPlan:
        self._not_anothers_account(req)
        filled = self._delegated(req)
        try:
            order = parse(ConnectorRequest, req.model_dump(mode="json") | filled) if filled else req
            made = allocate.create_connector(self.store, self.backbone, order, self.vault,
                                             edge=self.edge_context())  # fmt: skip
        except Exception:
            if filled:  # refused: what was made in the customer's account for it goes too
                self._undo_delegated(req, filled)
            raise
        self.publish("connector", made["id"])  # after the allocating transaction committed
        return made

    def _delegated(self, req: ConnectorRequest) -> dict[str, Any]:
        """An order without what the customer makes first (Azure: no service key), from a
        tenant that delegated that provider: onramp makes it in the customer's account now
        (idempotent by the order's key); what the order goes on with (nothing: as asked)."""
        onramp = self.backbone.catalogue.onramps.get(req.onramp)
        if onramp is None or req.azure_service_key is not None:
            return {}
        settings = self.settings.csp.get(onramp.provider)
        if settings is None:
            return {}
        from onramp.csp import registry  # only for an order a tenant delegated

        data = req.model_dump(mode="json", exclude_none=True)
        return registry.delegated_order(onramp.provider, settings, self.backbone, self.store,
                                        self.vault, data)  # fmt: skip

    def _undo_delegated(self, order: ConnectorRequest, filled: dict[str, Any]) -> None:
        """Delete what `_delegated` made for a refused order, unless a Connector holds it (the
        same order key replayed with another body: the first order's, which stays)."""
        with self.store.session() as s:
            asked = s.scalars(select(ConnectorRow.request).where(
                ConnectorRow.tenant_id == order.tenant, ConnectorRow.onramp == order.onramp))  # fmt: skip
            if any(all(a.get(k) == v for k, v in filled.items()) for a in asked):
                return
        from onramp.csp import registry

        provider = self.backbone.catalogue.onramps[order.onramp].provider
        try:
            registry.delegated_undo(provider, self.settings.csp[provider], self.backbone,
                                    self.store, self.vault, order.model_dump(mode="json"))  # fmt: skip
        except OnrampError as exc:  # the refusal is the answer; this one needs an engineer
            log.error("order of %s at %s refused, but what onramp made in the customer's "
                      "account stays: %s: %s", order.tenant, order.onramp, exc.code, exc.reason)  # fmt: skip

    def _not_anothers_account(self, req: ConnectorRequest) -> None:
        """An account another tenant delegated is refused: onramp would act there with that
        tenant's credentials for this one."""
        onramp = self.backbone.catalogue.onramps.get(req.onramp)  # unknown: refused later
        account = req.aws_account  # the account a delegation names (Azure's is a subscription)
        if onramp is None or account is None:
            return
        from onramp.csp import delegation

        provider = onramp.provider
        held = delegation.owner(self.store, provider, account)
        if held is not None and held != req.tenant:
            raise OnrampError("ONR-DELEG-002", f"{provider} account {account} is delegated by "
                              "another tenant", field="aws_account")  # fmt: skip

    def delegate(
        self, tenant: str, given: AwsDelegation | AzureDelegation, actor: str
    ) -> DelegationView:
        """Store the tenant's credentials at a provider (sealed); the log names who and which
        account, never a secret."""
        from onramp.csp import delegation

        with self.store.session() as s:
            if s.get(TenantRow, tenant) is None:
                raise OnrampError("ONR-REQ-013", f"tenant '{tenant}'", field="tenant")
        view = delegation.register(self.store, self.vault, tenant, given)
        audit.info("delegation of tenant %s at %s (account %s) set by %s",
                   tenant, given.provider, view.account, actor)  # fmt: skip
        return view

    def revoke_delegation(self, tenant: str, provider: str, actor: str) -> DelegationView:
        from onramp.csp import delegation

        view = delegation.revoke(self.store, tenant, provider)
        audit.info("delegation of tenant %s at %s (account %s) revoked by %s",
                   tenant, provider, view.account, actor)  # fmt: skip
        return view

    def delegations(self, tenant: str) -> list[DelegationView]:
        from onramp.csp import delegation

        return delegation.listed(self.store, tenant)

    def customer_step(
        self, ident: str, tenant: str | None = None, reveal_by: str | None = None
    ) -> CustomerStep | None:
        """What the customer makes at the provider on what we allocated (an AWS VIF on a
        hosted connection): None for other kinds, or once done. `reveal_by`: the BGP key is
        added, and the reveal recorded first (as customer-config does)."""
        c = self.connector(ident, tenant)
        if not for_kind(c["kind"]).kinds[c["kind"]].customer_attachment:
            return None
        if c["state"] not in ("requested", "validated", "allocated", "csp_requested",
                              "awaiting_customer"):  # fmt: skip
            return None
        (leg,) = c["attachments"]
        step: CustomerStep = {
            "connector": c["id"],
            "action": "accept the hosted connection in your AWS account (confirm-connection), "
            "then create a private VIF on it with these parameters and your gateway; or "
            "delegate it: onramp tenant delegate aws",
            "resource": c["csp_resource"],
            "vif": {"virtualInterfaceName": f"{c['id']}:csp", "vlan": leg["vlan"],
                    "asn": c["local_asn"], "mtu": c["mtu"] or 1500,
                    "amazonAddress": leg["peer_address"],
                    "customerAddress": leg["local_address"], "addressFamily": "ipv4"},
        }  # fmt: skip
        if reveal_by is not None:
            with self.store.session() as s:
                row = _find(s, ConnectorRow, c["id"], "connector")
                key = self.vault.decrypt(row.md5_key) if row.md5_key else None
                at = now()
                s.add(EventRow(kind="reveal", target_id=row.id, what=reveal_by[:120],
                               started_at=at, ended_at=at,
                               detail={"platform": "aws-vif", "key": key is not None}))  # fmt: skip
            audit.info("customer-step of connector %s (tenant %s, key %s) by %s", c["id"],
                       c["tenant"], "revealed" if key else "none", reveal_by)  # fmt: skip
            if key:
                step["vif"]["authKey"] = key
        return step

    def connector(self, ident: str, tenant: str | None = None) -> ConnectorView:
        # reads (this, link, view, reveals) run without a transaction, as `history` says why
        with self.store.read() as s:
            return connector_view(
                _find(s, ConnectorRow, ident, "connector", tenant=tenant), self.backbone
            )

    def customer_config(
        self, ident: str, platform: str, actor: str, port: str | None = None
    ) -> CustomerConfigView:
        """What the customer's own router needs for a Connector (enterprise: a CE we peer
        with), in `platform`'s syntax, the BGP key revealed; every call is recorded first
        (`reveals`). A Connector whose peer a provider sets up is refused (ONR-REQ-014):
        the provider configures that side from what its API or ticket was given."""
        from onramp.network import customer  # the customer's templates: only this command

        customer.platform_of(platform)  # a wrong platform reveals nothing
        with self.store.session() as s:
            row = _find(s, ConnectorRow, ident, "connector")
            kinds = for_kind(row.kind)
            if not kinds.kinds[row.kind].customer_router:
                raise OnrampError("ONR-REQ-014", f"connector {row.id} is {row.kind}: its peer "
                                  f"is {kinds.provider}'s router, not yours", field="kind")  # fmt: skip
            if row.state in ("deleted", "failed") or not row.attachments:
                raise OnrampError("ONR-REQ-011", f"connector {row.id} is {row.state}: "
                                  "nothing of it is left to configure")  # fmt: skip
            view = connector_view(row, self.backbone)
            key = self.vault.decrypt(row.md5_key) if row.md5_key else None
            at = now()
            s.add(EventRow(kind="reveal", target_id=row.id, what=actor[:120], started_at=at,
                           ended_at=at, detail={"platform": platform, "key": key is not None}))  # fmt: skip
        # committed before the key leaves this method: no reveal goes unrecorded
        audit.info("customer-config of connector %s (tenant %s, key %s) for %s by %s",
                   view["id"], view["tenant"], "revealed" if key else "none", platform, actor)  # fmt: skip
        data = customer.customer_config(
            view, platform, password=key, max_prefixes=kinds.max_prefixes, port=port
        )
        return {**data, "config": customer.render(data)}

    def reveals(self, ident: str) -> list[KeyReveal]:
        """Every customer-config of a Connector (each showed its key), oldest first."""
        with self.store.read() as s:
            cid = _find(s, ConnectorRow, ident, "connector").id
            rows = s.scalars(select(EventRow).where(EventRow.kind == "reveal",
                             EventRow.target_id == cid).order_by(EventRow.id))  # fmt: skip
            return [{"connector": cid, "at": r.started_at.isoformat(), "actor": r.what,
                     "platform": r.detail["platform"], "key": r.detail["key"]} for r in rows]  # fmt: skip

    def delete_connector(self, ident: str, actor: str = "onramp") -> ConnectorView:
        """Mark it decommissioning (allocate.decommission): the workers take it off the
        routers and the provider, then release it. Refused while a live Link holds it."""
        full = self.connector(ident)["id"]
        allocate.decommission(self.store, "connector", full, actor)
        # the answer is the state this delete left it in, read before the workers have it:
        # read after, a fast worker had it deleted already (a CI run's answer, not the 202)
        left = self.connector(full)
        self.publish("connector", full)  # committed: the workers take it from here
        return left

    # links ---------------------------------------------------------------
    def link_request(self, data: dict[str, Any]) -> LinkRequest:
        data = {**data, "a": self.connector(data["a"])["id"], "b": self.connector(data["b"])["id"]}
        return parse(LinkRequest, {k: v for k, v in data.items() if v is not None})

    def plan_link(self, req: LinkRequest) -> LinkView:
        return allocate.plan_link(self.store, self.backbone, req)

    def create_link(self, req: LinkRequest) -> LinkView:
        made = allocate.create_link(self.store, self.backbone, req)
        self.publish("link", made["id"])
        return made

    def link(self, ident: str, tenant: str | None = None) -> LinkView:
        with self.store.read() as s:
            return link_view(_find(s, LinkRow, ident, "link", tenant=tenant), self.backbone)

    def delete_link(self, ident: str, actor: str = "onramp") -> LinkView:
        """Mark it decommissioning, as `delete_connector`."""
        full = self.link(ident)["id"]
        allocate.decommission(self.store, "link", full, actor)
        left = self.link(full)
        self.publish("link", full)
        return left

    # either ------------------------------------------------------------
    def view(self, kind: str, ident: str, tenant: str | None = None) -> ConnectorView | LinkView:
        """A Connector or Link by its kind's name (as runbooks and routes pass it); `tenant`:
        looked for among that tenant's only (None: every tenant's)."""
        from onramp.flow.kinds import spec_of  # the renderer behind it: not for list or show

        spec = spec_of(kind)
        with self.store.read() as s:
            return spec.view(_find(s, spec.row, ident, kind, tenant=tenant), self.backbone)

    def change(
        self,
        kind: str,
        ident: str,
        data: dict[str, Any],
        actor: str,
        tenant: str | None = None,
        if_match: str | None = None,
        dry_run: bool = False,
    ) -> ConnectorView | LinkView:
        """A Connector's or Link's bandwidth, prefixes and/or description changed
        (onramp.flow.change): refused with a code before anything is touched, else stored
        and, for a bandwidth or prefixes, handed to the workers (`modifying` until they end
        it `active`)."""
        from onramp.flow import change  # renders and plans: not loaded by the read-only commands

        req = parse(Change, {k: v for k, v in data.items() if v is not None})
        done = change.change(self.store, self.backbone, kind, ident, req, actor, tenant,
                             if_match, dry_run)  # fmt: skip
        if not dry_run and done["state"] == "modifying":
            self.publish(kind, done["id"])  # committed: the workers take it from here
        return done

    def history(self, kind: str, ident: str) -> list[TransitionView]:
        """Every state change of a Connector or Link (by its full id), oldest first. One
        statement, read without a transaction: on SQLite a BEGIN IMMEDIATE here queued every
        poll of a state behind the writers, and behind a paused one failed after the busy
        timeout with an uncoded "database is locked"."""
        with self.store.read() as s:
            rows = s.scalars(
                select(TransitionRow)
                .where(TransitionRow.kind == kind, TransitionRow.target_id == ident)
                .order_by(TransitionRow.id)
            )
            return [
                {"from": t.from_state, "to": t.to_state, "at": t.at, "actor": t.actor,
                 "reason": t.reason}
                for t in rows
            ]  # fmt: skip


def _find(
    s: Any, table: Any, ident: str, what: str, code: Code = "ONR-REQ-011", tenant: str | None = None
) -> Any:
    return by_prefix(s, table, ident, what, code, tenant)
