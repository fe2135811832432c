"""`onramp connector customer-config`: what an enterprise site's router needs, the BGP key
revealed and every reveal recorded (who, when, which Connector); refused with a code for
Connectors whose peer a provider configures, and for deleted ones; the key in no log."""

from __future__ import annotations

import getpass
import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onramp.cli.main import app
from onramp.core.errors import OnrampError
from onramp.core.model import State
from onramp.core.settings import load_settings, local_config
from onramp.core.store import ConnectorRow
from onramp.flow import allocate
from onramp.flow.service import Service

ENT = {"tenant": "acme", "onramp": "ent-par", "kind": "enterprise", "bandwidth_mbps": 100,
       "customer_asn": 65101, "prefixes": ["192.168.10.0/24"]}  # fmt: skip
AWS = {"tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
       "bandwidth_mbps": 100, "aws_account": "123456789012"}  # fmt: skip


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return local_config(tmp_path)


@pytest.fixture
def svc(config: Path) -> Service:
    s = Service.open(load_settings(config))
    s.add_tenant("acme", "ACME")
    return s


def key_of(svc: Service, ident: str) -> str:
    with svc.store.session() as s:
        row = s.get(ConnectorRow, ident)
        assert row is not None and row.md5_key
        return svc.vault.decrypt(row.md5_key)


def test_an_enterprise_connector_gets_its_config_and_the_reveal_is_recorded(
    svc: Service,
) -> None:
    c = svc.create_connector(svc.connector_request(ENT))
    key = key_of(svc, c["id"])
    got = svc.customer_config(c["id"][:8], "frr", "test:alice")
    (a,) = c["attachments"]
    (mine,) = got["attachments"]
    assert got["password"] == key and f"password {key}" in got["config"]
    assert (mine["vlan"], mine["address"], mine["neighbor"]) == (
        a["vlan"], a["peer_address"], a["local_address"].split("/")[0])  # fmt: skip
    assert (got["customer_asn"], got["our_asn"], got["mtu"]) == (65101, c["local_asn"], c["mtu"])
    assert [e["prefix"] for e in got["permits"]] == ["192.168.10.0/24"]
    (seen,) = svc.reveals(c["id"])
    assert (seen["actor"], seen["platform"], seen["key"]) == ("test:alice", "frr", True)


def test_providers_peers_and_deleted_connectors_are_refused_unrecorded(svc: Service) -> None:
    aws = svc.create_connector(svc.connector_request(AWS))
    with pytest.raises(OnrampError) as e:
        svc.customer_config(aws["id"], "ios", "test")
    assert e.value.code == "ONR-REQ-014" and "aws" in e.value.reason
    ent = svc.create_connector(svc.connector_request(ENT))
    svc.delete_connector(ent["id"])  # decommissioning: the workers' last step releases it
    allocate.release_connector(svc.store, ent["id"], State.DELETED, "test", "decommissioned")
    with pytest.raises(OnrampError) as e:
        svc.customer_config(ent["id"], "ios", "test")
    assert e.value.code == "ONR-REQ-011"
    with pytest.raises(OnrampError) as e:
        svc.customer_config(ent["id"], "eos", "test")
    assert e.value.code == "ONR-REQ-008"
    assert svc.reveals(aws["id"]) == [] and svc.reveals(ent["id"]) == []


def test_cli_prints_the_config_and_records_the_user(
    svc: Service, config: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # only pytest's own handlers on the root logger: a test before this one in the same
    # process may have imported pyATS, whose screen handler writes every record to
    # sys.stdout, which the runner below captures as the command's output
    root = logging.getLogger()
    kept = [h for h in root.handlers if type(h).__module__.startswith("_pytest")]
    monkeypatch.setattr(root, "handlers", kept)
    caplog.set_level(logging.DEBUG)
    c = svc.create_connector(svc.connector_request(ENT))
    key = key_of(svc, c["id"])
    run = CliRunner().invoke
    text = run(app, ["--config", str(config), "connector", "customer-config", c["id"][:8],
                     "--platform", "junos", "--interface", "xe-0/1/0"])  # fmt: skip
    assert text.exit_code == 0, text.output
    assert text.stdout.startswith("# onramp: your router's side of Connector")
    assert (
        f'authentication-key "{key}"' in text.stdout
        and "set interfaces xe-0/1/0 unit" in text.stdout
    )
    as_json = run(app, ["--config", str(config), "connector", "customer-config", c["id"],
                        "--platform", "ios", "--json"])  # fmt: skip
    assert json.loads(as_json.stdout)["password"] == key
    refused = run(app, ["--config", str(config), "connector", "customer-config", c["id"],
                        "--platform", "eos", "--json"])  # fmt: skip
    assert refused.exit_code == 2 and json.loads(refused.output)["error"]["field"] == "platform"
    assert [(r["actor"], r["platform"]) for r in svc.reveals(c["id"])] == [
        (f"cli:{getpass.getuser()}", "junos"), (f"cli:{getpass.getuser()}", "ios")]  # fmt: skip
    # the key is in no log line; each reveal is one line of onramp.audit (without the key)
    assert all(key not in r.getMessage() for r in caplog.records)
    audit = [r.getMessage() for r in caplog.records if r.name == "onramp.audit"]
    assert len(audit) == 2 and all(c["id"] in line and "revealed" in line for line in audit)
