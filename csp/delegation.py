"""A tenant's delegation: its credentials at a provider, for onramp to do the customer's
part in the customer's account (AWS: accept, create the VIF; Azure: create the circuit).

Stored sealed by the vault (the secrets never leave this module but to an adapter), one per
tenant and provider, and one tenant per account: a Connector naming an account another
tenant delegated is refused (ONR-DELEG-002), so no tenant can act with another's keys.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from onramp.core.errors import OnrampError
from onramp.core.model import AwsDelegation, AzureDelegation, DelegationView
from onramp.core.secrets import Vault
from onramp.core.store import DelegationRow, Store


def _view(row: DelegationRow) -> DelegationView:
    return DelegationView(tenant=row.tenant_id, provider=row.provider, account=row.account,
                          created_at=row.created_at)  # fmt: skip


def register(
    store: Store, vault: Vault, tenant: str, given: AwsDelegation | AzureDelegation
) -> DelegationView:
    """Store (or replace) the tenant's delegation for the provider, sealed."""
    data = {
        k: v.get_secret_value() if isinstance(v, SecretStr) else str(v)
        for k, v in given.model_dump().items()
        if v is not None and k not in ("provider", "account")
    }
    sealed, account = vault.encrypt(json.dumps(data)), str(given.account)
    try:
        with store.session() as s:
            row = s.get(DelegationRow, (tenant, given.provider))
            if row is None:
                row = DelegationRow(tenant_id=tenant, provider=given.provider)
                s.add(row)
            row.account, row.sealed = account, sealed
            s.flush()
            return _view(row)
    except IntegrityError:
        raise OnrampError("ONR-DELEG-002", f"{given.provider} account {account} is delegated "
                          "by another tenant", field="account") from None  # fmt: skip


def revoke(store: Store, tenant: str, provider: str) -> DelegationView:
    """Forget the tenant's credentials for the provider (ONR-DELEG-001: none held)."""
    with store.session() as s:
        row = s.get(DelegationRow, (tenant, provider))
        if row is None:
            raise OnrampError("ONR-DELEG-001", f"tenant {tenant} delegated nothing at {provider}")
        view = _view(row)
        s.delete(row)
        return view


def listed(store: Store, tenant: str) -> list[DelegationView]:
    with store.session() as s:
        rows = s.scalars(select(DelegationRow).where(DelegationRow.tenant_id == tenant))
        return [_view(r) for r in rows]


def owner(store: Store, provider: str, account: str) -> str | None:
    """The tenant that delegated this account, if any."""
    with store.session() as s:
        found: str | None = s.scalar(
            select(DelegationRow.tenant_id).where(
                DelegationRow.provider == provider, DelegationRow.account == account
            )
        )
        return found


def credentials(store: Store, vault: Vault, provider: str, account: str) -> dict[str, Any] | None:
    """The unsealed credentials delegated for this account (for an adapter only), or None."""
    with store.session() as s:
        row = s.scalar(
            select(DelegationRow).where(
                DelegationRow.provider == provider, DelegationRow.account == account
            )
        )
        if row is None:
            return None
        found: dict[str, Any] = json.loads(vault.decrypt(row.sealed))
        return found | {"account": row.account}


def of_tenant(store: Store, vault: Vault, tenant: str, provider: str) -> dict[str, Any] | None:
    """The tenant's unsealed credentials at `provider` (for a provider call only), or None."""
    with store.session() as s:
        row = s.get(DelegationRow, (tenant, provider))
        if row is None:
            return None
        found: dict[str, Any] = json.loads(vault.decrypt(row.sealed))
        return found | {"account": row.account}
