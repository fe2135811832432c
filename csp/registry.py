"""From the inventory, a Connector and config.yaml to the CSP adapters: which provider
port is which of ours, what a Connector asks of its provider, one adapter per provider,
built by the package its constraints.yaml names (never chosen by the provider's name).

The provider's name for each of our ports is inventory data (`csp_connection` on an
on-ramp port); an adapter gets the map for its provider and never guesses.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, cast

from onramp.core.errors import OnrampError
from onramp.core.model import ROLE_ORDER
from onramp.core.secrets import Vault
from onramp.core.settings import CspSettings
from onramp.core.shapes import ConnectorView
from onramp.core.store import Store
from onramp.csp import constraints, delegation
from onramp.csp.adapter import Adapter, Build, BuildContext, PeeringRequest, Session
from onramp.csp.constraints import Constraints
from onramp.network.inventory import Backbone


def connections(bb: Backbone, provider: str) -> dict[str, str]:
    """ "<router>:<port>" -> the provider's name for that port, for one provider."""
    return {
        f"{r.name}:{p.name}": p.csp_connection
        for r in bb.routers.values()
        for p in r.onramp_ports
        if p.csp_connection and bb.catalogue.onramps[p.onramp].provider == provider
    }


def peering_request(
    connector: ConnectorView, md5_key: str | None, step: str = "csp"
) -> PeeringRequest:
    """What a Connector (as `Service.connector` shows it) asks of its provider. The key is
    the Connector's id and the step, so a retry of the step finds what the first made."""
    asked = connector["request"]
    account = (
        asked.get("aws_account")
        or asked.get("azure_service_key")
        or asked.get("gcp_pairing_key")
        or asked.get("ibm_account")
        or asked.get("alibaba_uid")
        or connector["id"]  # a ticketed provider: our Connector id is the reference
    )
    legs = sorted(connector["attachments"], key=lambda a: ROLE_ORDER[a["role"]])
    return PeeringRequest(
        idempotency_key=f"{connector['id']}:{step}",
        customer_account=str(account),
        sessions=tuple(
            Session(
                f"{a['router']}:{a['port']}",
                a["vlan"],
                a["inner_vlan"],
                a["local_address"],
                a["peer_address"],
            )
            for a in legs
        ),
        local_asn=connector["local_asn"],
        md5_key=md5_key,
        mtu=connector["mtu"] or 1500,
        bandwidth_mbps=connector["bandwidth_mbps"],
        peer_asn=connector["peer_asn"],
    )


def adapters(
    csp: dict[str, CspSettings], bb: Backbone, store: Store, vault: Vault
) -> dict[str, Adapter]:
    """One adapter per provider config.yaml's `csp:` section names and per adapter its kinds
    name (constraints.yaml `kinds.*.adapter`), under `adapter_key`; and the ticket adapter
    for each catalogue provider it does not name whose constraints say `unconfigured:
    tickets` (config decides: an API where it is configured, an engineer's ticket else)."""
    made: dict[str, Adapter] = {}
    for p, cfg in csp.items():
        described = constraints.for_provider(p)
        for variant in described.variants() or [None]:
            key = p if variant == described.variant else f"{p}/{variant}"
            made[key] = build(p, described, cfg, bb, store, vault, variant)
    offered = sorted({o.provider for o in bb.catalogue.onramps.values()} - set(csp))
    for provider in offered:
        if constraints.for_provider(provider).adapter.unconfigured == "tickets":
            made[provider] = tickets(provider, bb, store, vault)
    return made


def adapter_key(provider: str, kind: str) -> str:
    """Which of `adapters` serves a Connector of `kind` at `provider`: the provider's name
    for its default adapter, "<provider>/<adapter>" for another its kind names."""
    described = constraints.for_provider(provider)
    rule = described.kinds.get(kind)
    variant = rule.adapter if rule is not None else described.variant
    return provider if variant == described.variant else f"{provider}/{variant}"


def tickets(provider: str, bb: Backbone, store: Store, vault: Vault) -> Adapter:
    """The ticket adapter (csp/manual) for `provider`, whatever its own package is."""
    make = builder("manual")
    return make(BuildContext(provider, CspSettings(), connections(bb, provider), store, vault))


def adapter(
    provider: str, settings: CspSettings, bb: Backbone, store: Store, vault: Vault
) -> Adapter:
    """The adapter for a provider, talking to its API or to `settings.endpoint_url` (a
    simulator: `onramp sim <provider>`). Credentials come from each SDK's usual
    environment, never from config.yaml; against a simulator its dummy ones are used."""
    return build(provider, constraints.for_provider(provider), settings, bb, store, vault)


def build(
    provider: str,
    described: Constraints,
    settings: CspSettings,
    bb: Backbone,
    store: Store,
    vault: Vault,
    variant: str | None = None,
) -> Adapter:
    """The adapter the package `described` names makes for `provider` (`variant`: which of
    its ADAPTERS; None: the provider's default)."""
    package = described.adapter.package
    if package is None:  # nothing to call: a cross-connect
        raise OnrampError("ONR-CSP-001", f"no adapter for provider {provider}")
    variant = variant or described.variant
    make = builder(package, variant)
    ports = connections(bb, provider)
    return make(BuildContext(provider, settings, ports, store, vault, variant))


def builder(package: str, variant: str | None = None) -> Build:
    """`build` of onramp.csp.<package>, found by name as napalm finds a driver."""
    module = importlib.import_module(f"onramp.csp.{package}")
    make = getattr(module, "build", None)
    if not callable(make):
        raise OnrampError("ONR-CSP-008", f"onramp.csp.{package} exports no build(context)")
    if variant is not None and variant not in getattr(module, "ADAPTERS", {}):
        raise OnrampError("ONR-CSP-008", f"onramp.csp.{package} has no adapter {variant!r}")
    return cast(Build, make)


def _delegated_package(
    provider: str,
    kind: str,
    tenant: str,
    settings: CspSettings,
    bb: Backbone,
    store: Store,
    vault: Vault,
) -> tuple[ModuleType, BuildContext, dict[str, Any]] | None:
    """The provider's package, its context and the tenant's delegation, when this kind acts
    with a delegation (constraints `delegation_orders`) and the tenant gave one; else None."""
    rule = constraints.for_provider(provider)
    spec = rule.kinds.get(kind)
    made = delegation.of_tenant(store, vault, tenant, provider)
    if spec is None or not spec.delegation_orders or made is None:
        return None
    module = importlib.import_module(f"onramp.csp.{rule.adapter.package}")
    return module, BuildContext(provider, settings, connections(bb, provider), store, vault), made


def delegated_order(
    provider: str,
    settings: CspSettings,
    bb: Backbone,
    store: Store,
    vault: Vault,
    order: dict[str, Any],
) -> dict[str, Any]:
    """What the tenant's delegation at `provider` fills into an order (Azure: the circuit
    onramp makes in the customer's subscription, its service key and S-tag); nothing when
    the tenant delegated nothing there or the provider's package does nothing with one."""
    found = _delegated_package(provider, str(order.get("kind")), str(order.get("tenant")),
                               settings, bb, store, vault)  # fmt: skip
    if found is None:
        return {}
    module, context, made = found
    where = bb.catalogue.onramps[str(order["onramp"])]
    filled: dict[str, Any] = module.delegated_order(context, made, order, where)
    return filled


def delegated_undo(
    provider: str,
    settings: CspSettings,
    bb: Backbone,
    store: Store,
    vault: Vault,
    order: dict[str, Any],
) -> None:
    """What `delegated_order` made for an order that was then refused (Azure: the circuit),
    deleted with the tenant's delegation; nothing when it made nothing."""
    found = _delegated_package(provider, str(order.get("kind")), str(order.get("tenant")),
                               settings, bb, store, vault)  # fmt: skip
    if found is None:
        return
    module, context, made = found
    module.delegated_undo(context, made, order)


def delegated_cleanup(
    provider: str,
    settings: CspSettings,
    bb: Backbone,
    store: Store,
    vault: Vault,
    connector: ConnectorView,
    resource_id: str,
) -> None:
    """Once our side at the provider is gone: what onramp made in the customer's account for
    the order (`delegated_order`) is deleted too, with the tenant's delegation (revoked: it
    stays, the customer's to delete)."""
    found = _delegated_package(provider, connector["kind"], connector["tenant"], settings, bb,
                               store, vault)  # fmt: skip
    if found is None:
        return
    module, context, made = found
    module.delegated_cleanup(context, made, resource_id)


def change_bandwidth(
    provider: str,
    settings: CspSettings,
    bb: Backbone,
    store: Store,
    vault: Vault,
    connector: ConnectorView,
    resource_id: str,
    mbps: int,
) -> str | None:
    """A live Connector's provider side at `mbps`, where its kind says the provider's side
    changes too (constraints `change.provider_side`): the package's `change_bandwidth`, with
    the tenant's delegation if it has one (Azure: onramp raises the circuit; without, it
    checks the customer did). Returns what was done, in words; None: nothing to do."""
    rule = constraints.for_provider(provider)
    kind = rule.kinds.get(connector["kind"])
    if kind is None or not kind.change.provider_side:
        return None
    made = delegation.of_tenant(store, vault, connector["tenant"], provider)
    module = importlib.import_module(f"onramp.csp.{rule.adapter.package}")
    context = BuildContext(provider, settings, connections(bb, provider), store, vault)
    done: str = module.change_bandwidth(context, made, resource_id, mbps)
    return done


def calls_provider(provider: str) -> bool:
    """Whether a Connector at this provider's on-ramps asks anything of a provider."""
    return constraints.for_provider(provider).adapter.calls != "none"


def simulator(provider: str) -> ModuleType:
    """The module simulating the provider's API (`serve`, its service class)."""
    rule = constraints.for_provider(provider).adapter
    if rule.simulator is None:
        raise OnrampError("ONR-CSP-008", f"no simulator of {provider}'s API")
    return importlib.import_module(f"onramp.csp.{rule.package}.simulator")
