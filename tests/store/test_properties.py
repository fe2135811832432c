"""Property: after any sequence of allocate/release, nothing is held twice and nothing
released stays held."""

from __future__ import annotations

import itertools
from ipaddress import IPv4Network
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from onramp.core.errors import OnrampError
from onramp.core.model import ConnectorRequest
from onramp.core.secrets import Vault
from onramp.core.store import AllocationRow, ConnectorRow, Store, TenantRow
from onramp.flow import allocate as al
from onramp.flow import views
from onramp.network.inventory import Backbone

from .test_allocation import REQUESTS, gone

KINDS = ["aws", "azure", "gcp", "ent"]
ops = st.lists(
    st.one_of(
        st.tuples(st.just("alloc"), st.sampled_from(KINDS), st.sampled_from([None, 100, 101, 102])),
        st.tuples(st.just("release"), st.integers(min_value=0, max_value=40), st.none()),
    ),
    min_size=1,
    max_size=40,
)
_n = itertools.count()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sequence=ops)
def test_no_double_holding_after_any_sequence(
    sequence: list[tuple[str, object, object]], tmp_path: Path, backbone: Backbone
) -> None:
    store = Store(f"sqlite:///{tmp_path / f'p{next(_n)}.db'}")
    store.migrate()
    vault = Vault(tmp_path / "key")
    with store.session() as s:
        s.add(TenantRow(id="acme", name="ACME"))
    live: list[str] = []
    released: list[dict[str, object]] = []
    for op, arg, vlan in sequence:
        if op == "alloc":
            body = {"tenant": "acme", **REQUESTS[str(arg)]}
            if vlan is not None and arg in ("aws", "ent"):
                body["vlan"] = vlan
            try:
                live.append(
                    al.create_connector(
                        store, backbone, ConnectorRequest.model_validate(body), vault
                    )["id"]
                )
            except OnrampError as exc:
                assert exc.code in ("ONR-ALLOC-006", "ONR-ALLOC-001"), (
                    exc
                )  # a taken VLAN, a full port
        elif live:
            cid = live.pop(int(str(arg)) % len(live))
            released.append(gone(store, "connector", cid)["released"])  # type: ignore[arg-type]
    with store.session() as s:
        rows = [
            views.connector_view(r, backbone)
            for r in s.scalars(select(ConnectorRow).where(ConnectorRow.state == "allocated"))
        ]
        held = {(a.scope, a.value): a.owner for a in s.scalars(select(AllocationRow))}
    assert sorted(r["id"] for r in rows) == sorted(live)
    # no VLAN twice on a port, no overlapping subnets on a router (or anywhere, for global pools)
    vlans = [(a["router"], a["port"], a["vlan"]) for r in rows for a in r["attachments"]]
    assert len(vlans) == len(set(vlans))
    subnets = [(a["router"], IPv4Network(a["subnet"])) for r in rows for a in r["attachments"]]
    for (ra, na), (rb, nb) in itertools.combinations(subnets, 2):
        assert not (
            na.overlaps(nb) and (ra == rb or na.subnet_of(IPv4Network("169.254.192.0/18")))
        ), (ra, na, rb, nb)
    # exactly the live Connectors hold values; everything released is free again
    assert set(held.values()) <= set(live)
    for r in released:
        for scope, value in r["values"]:  # type: ignore[index]
            assert held.get((scope, value)) in (None, *live)
    store.engine.dispose()
