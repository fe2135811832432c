"""A tenant's delegation through the API, the client and the CLI: stored sealed, never in an
answer or a log line, tenant-scoped, one tenant per account, revocable; and the customer's
step of an AWS hosted connection (the VIF's parameters, the key only when revealed)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from onramp.cli.main import app
from onramp.client import ApiError, Client
from onramp.core.store import DelegationRow, EventRow

from .conftest import AWS, Api, running_api

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"  # AWS's documented example secret
DELEGATION = {"provider": "aws", "account": "123456789012", "access_key_id": "AKIAEXAMPLE01",
              "secret_access_key": SECRET, "virtual_gateway_id": "vgw-0a1b2c"}  # fmt: skip
HOSTED = AWS | {"kind": "aws-hosted-connection"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path) as running:
        yield running


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # every logger, every level: the secret is in none
    return caplog


def test_stored_sealed_never_shown_never_logged_then_revoked(
    api: Api, logged: pytest.LogCaptureFixture
) -> None:
    put = api.call("PUT", "/v1/tenants/me/delegations/aws", json=DELEGATION)
    assert put.status_code == 200, put.text
    assert put.json() | {"created_at": "-"} == {"tenant": "acme", "provider": "aws",
        "account": "123456789012", "credentials": "set", "created_at": "-"}  # fmt: skip
    listed = api.call("GET", "/v1/tenants/me/delegations")
    assert [d["account"] for d in listed.json()] == ["123456789012"]
    assert api.call("GET", "/v1/tenants/me/delegations", who="globex").json() == []
    for text in (put.text, listed.text):
        assert SECRET not in text and "AKIAEXAMPLE01" not in text
    with api.svc.store.session() as s:
        (row,) = s.scalars(select(DelegationRow))
        assert SECRET.encode() not in row.sealed and b"AKIAEXAMPLE01" not in row.sealed
        assert SECRET in api.svc.vault.decrypt(row.sealed)  # sealed, not lost
    assert "delegation of tenant acme at aws (account 123456789012) set by api:acme" in logged.text
    # revoked: gone at once; a second revoke says there is nothing
    assert api.call("DELETE", "/v1/tenants/me/delegations/aws").status_code == 200
    assert api.call("GET", "/v1/tenants/me/delegations").json() == []
    again = api.call("DELETE", "/v1/tenants/me/delegations/aws")
    assert (again.status_code, again.json()["error"]["code"]) == (404, "ONR-DELEG-001")
    assert SECRET not in logged.text and "AKIAEXAMPLE01" not in logged.text


def test_a_refused_body_does_not_echo_the_secret(api: Api) -> None:
    for bad in ({**DELEGATION, "account": "12"}, {**DELEGATION, "provider": "azure"},
                {**DELEGATION, "surprise": SECRET}):  # fmt: skip
        r = api.call("PUT", "/v1/tenants/me/delegations/aws", json=bad)
        assert r.status_code == 422 and SECRET not in r.text, r.text


def test_one_tenant_per_account(api: Api) -> None:
    assert api.call("PUT", "/v1/tenants/me/delegations/aws", json=DELEGATION).status_code == 200
    theirs = api.call("PUT", "/v1/tenants/me/delegations/aws", json=DELEGATION, who="globex")
    assert (theirs.status_code, theirs.json()["error"]["code"]) == (409, "ONR-DELEG-002")
    # a Connector into acme's delegated account, ordered by globex: onramp would accept it
    # there with acme's keys
    order = api.call("POST", "/v1/connectors", json=HOSTED, who="globex")
    assert (order.status_code, order.json()["error"]["code"]) == (409, "ONR-DELEG-002")
    assert api.call("POST", "/v1/connectors", json=HOSTED).status_code == 202  # acme's own


def test_the_client_delegates_and_revokes(api: Api) -> None:
    client = Client(api.url, api.keys["acme"])
    shown = client.delegate("aws", **{k: v for k, v in DELEGATION.items() if k != "provider"})
    assert shown["credentials"] == "set" and SECRET not in str(shown)
    assert [d["provider"] for d in client.delegations()] == ["aws"]
    client.revoke_delegation("aws")
    with pytest.raises(ApiError) as none:
        client.revoke_delegation("aws")
    assert none.value.status == 404


def test_the_customer_step_of_a_hosted_connection(api: Api) -> None:
    hosted = api.call("POST", "/v1/connectors", json=HOSTED).json()
    vif = api.call("POST", "/v1/connectors", json=AWS).json()
    shown = api.call("GET", f"/v1/connectors/{hosted['id']}").json()
    step = shown["customer_step"]
    (leg,) = hosted["attachments"]
    assert step["vif"] == {"virtualInterfaceName": f"{hosted['id']}:csp", "vlan": leg["vlan"],
                           "asn": hosted["local_asn"], "mtu": 1500,
                           "amazonAddress": leg["peer_address"],
                           "customerAddress": leg["local_address"], "addressFamily": "ipv4"}  # fmt: skip
    assert "confirm-connection" in step["action"]
    assert api.call("GET", f"/v1/connectors/{vif['id']}").json()["customer_step"] is None
    revealed = api.call("GET", f"/v1/connectors/{hosted['id']}/customer-step",
                        params={"reveal": "true"}).json()  # fmt: skip
    with api.svc.store.session() as s:
        from onramp.core.store import ConnectorRow

        key = api.svc.vault.decrypt(s.get(ConnectorRow, hosted["id"]).md5_key)
        reveals = list(s.scalars(select(EventRow).where(EventRow.kind == "reveal")))
    assert revealed["vif"]["authKey"] == key
    assert [(e.target_id, e.what[:8]) for e in reveals] == [(hosted["id"], "api:acme")]


def test_the_cli_takes_the_secret_without_echo_and_never_prints_it(
    api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"  # running_api's: the same store and vault
    monkeypatch.setenv("ONRAMP_DELEGATION_SECRET", SECRET)
    runner = CliRunner()
    args = ["--config", str(config), "tenant", "delegate", "acme", "aws", "--account",
            "123456789012", "--key-id", "AKIAEXAMPLE01", "--virtual-gateway-id", "vgw-1"]  # fmt: skip
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "stored" in done.output and SECRET not in done.output
    gone = runner.invoke(app, ["--config", str(config), "tenant", "revoke", "acme", "aws"])
    assert gone.exit_code == 0 and "revoked" in gone.output
