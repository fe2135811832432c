"""Nautobot as the inventory, against a real Nautobot (its own venv, PostgreSQL, Redis):
loaded by `onramp inventory export`, read through nornir-nautobot, judged by the YAML
inventory's checks; the same routers, the same rendered configs, byte for byte."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pynautobot
import pytest
import requests
import yaml
from typer.testing import CliRunner

from onramp.cli.main import app
from onramp.core.settings import ROOT, load_settings
from onramp.core.store import ConnectorRow, move
from onramp.flow import offline
from onramp.flow.service import Service
from onramp.network.inventory import load
from onramp.network.inventory import nautobot as loader
from onramp.network.inventory.plugin import init_nornir
from onramp.network.inventory.source import load_source
from onramp.network.templates import RouterServices, router_config
from tests.conftest import pg_server
from tests.nautobot_server import FIXTURE, Nautobot, nautobot_server, restore, unapplied_apps

YAML_INVENTORY = ROOT / "inventory"


@pytest.fixture(scope="module")
def nautobot() -> Iterator[Nautobot]:
    with pg_server() as pg, nautobot_server(pg.base / "sock") as nb:
        yield nb


def run(*args: str, code: int = 0, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return json.loads(result.output) if "--json" in args else result.output


@contextmanager
def each_request(seen: Callable[[requests.PreparedRequest], object]) -> Iterator[None]:
    """`seen` called with every HTTP request made inside, before it is sent."""
    send = requests.Session.send

    def spy(self: requests.Session, request: requests.PreparedRequest, **kw: Any) -> Any:
        seen(request)
        return send(self, request, **kw)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests.Session, "send", spy)
        yield


@contextmanager
def requests_sent() -> Iterator[Counter[str]]:
    """Every HTTP request made inside, counted by method and path (what a failure names)."""
    sent: Counter[str] = Counter()
    with each_request(lambda r: sent.update([f"{r.method} {urlsplit(r.url or '').path}"])):
        yield sent


@pytest.fixture(scope="module")
def loaded(nautobot: Nautobot) -> Nautobot:
    """The example backbone in Nautobot, loaded twice: the second load changes nothing."""
    args = ("inventory", "export", "--to", "nautobot", nautobot.url, str(YAML_INVENTORY), "--json")
    with requests_sent() as first_sent:
        first = run(*args, env={"NAUTOBOT_TOKEN": nautobot.token})
    with requests_sent() as again_sent:
        again = run(*args, env={"NAUTOBOT_TOKEN": nautobot.token})
    # each collection read once and written in bulk: not one or two requests an object
    # (316 and 166 for these 6 routers), so a provider's hundreds of routers load as fast
    assert first_sent.total() <= 60, first_sent
    assert again_sent.total() <= 25, again_sent
    assert first["routers"] == again["routers"] == 6
    assert first["cables_made"] == first["cables"] == 9  # every core link once
    assert again["cables_made"] == 0 and again["cables"] == 9
    assert first["created"] > 100 and (again["created"], again["updated"]) == (0, 0)
    return nautobot


def test_a_long_filter_is_split_over_requests_and_finds_every_object(
    loaded: Nautobot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hundreds of routers' names in one URL would outgrow a server's header limit: the
    loader's reads split them (13 bytes a name here: 3 a request)."""
    api = pynautobot.api(loaded.url, token=loaded.token)
    names = list(load(YAML_INVENTORY).routers)
    monkeypatch.setattr(loader, "URL_BYTES", 40)
    with requests_sent() as sent:
        found = loader._named(api.dcim.devices, "name", names)
    assert sorted(found) == sorted(names)
    assert sent == {"GET /api/dcim/devices/": 2}


def test_the_inventory_read_splits_its_filters_and_asks_no_depth(
    loaded: Nautobot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What every command reads (the inventory plugin) filters by the ids of every router
    and interface: hundreds of routers' ids (46 bytes each) in one URL outgrow a server's
    header limit (uWSGI's 4096 bytes), so they are split as the loader's are. Related
    objects come as ids (depth 0): nornir-nautobot's depth 1 sent each one whole, 3-5x the
    bytes and Nautobot's time."""
    settings = load_settings(config_for(tmp_path, loaded, monkeypatch))
    whole = load_source(settings)
    monkeypatch.setattr(loader, "URL_BYTES", 200)  # 4 ids a request
    sent: list[str] = []
    with each_request(lambda r: sent.append(r.url or "")):
        split = load_source(settings)
    assert split.routers == whole.routers and split.catalogue == whole.catalogue
    by_path = Counter(urlsplit(u).path for u in sent)
    # 6 routers: 2 requests; 40 interfaces: 10
    assert by_path["/api/dcim/interfaces/"] == 2 and by_path["/api/dcim/cables/"] == 2
    assert by_path["/api/ipam/ip-address-to-interface/"] == 10
    assert all(len(urlsplit(u).query) < 400 for u in sent), max(sent, key=len)
    assert all("depth=0" in u for u in sent if "/api/dcim/devices/" not in u
               and "config-contexts" not in u), sent  # fmt: skip


def test_bulk_writes_are_split_in_batches_and_keep_their_order(
    loaded: Nautobot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands of interfaces in one bulk request would be one long database transaction
    that a proxy in front of Nautobot may cut: the loader writes BATCH objects a request
    (2 here: 5 objects, 3 requests), each made object under its own key."""
    api = pynautobot.api(loaded.url, token=loaded.token)
    monkeypatch.setattr(loader, "BATCH", 2)
    names = [f"batch-{i}" for i in range(5)]
    tally: Counter[str] = Counter()
    try:
        with requests_sent() as sent:
            made = loader._sync(tally, api.dcim.manufacturers, {},
                                {n: ({"name": n}, {"description": f"d{n}"}) for n in names})  # fmt: skip
        assert sent == {"POST /api/dcim/manufacturers/": 3}
        assert {n: (o["name"], o["description"]) for n, o in made.items()} == {
            n: (n, f"d{n}") for n in names
        }
        with requests_sent() as sent:
            loader._sync(tally, api.dcim.manufacturers, made,
                         {n: ({"name": n}, {"description": "changed"}) for n in names})  # fmt: skip
        assert sent == {"PATCH /api/dcim/manufacturers/": 3}
        assert tally == {"created": 5, "updated": 5}
        found = loader._named(api.dcim.manufacturers, "name", names)
        assert {n: o["description"] for n, o in found.items()} == dict.fromkeys(names, "changed")
    finally:
        api.dcim.manufacturers.delete([o["id"] for o in loader._listed(
            api.dcim.manufacturers, "name", names)])  # fmt: skip


def config_for(tmp_path: Path, nb: Nautobot, monkeypatch: pytest.MonkeyPatch) -> Path:
    """config.yaml selecting Nautobot (the token from the environment, not the file)."""
    monkeypatch.setenv("NAUTOBOT_TOKEN", nb.token)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "nornir": {"inventory": {"plugin": "OnrampNautobotInventory",
                                 "options": {"nautobot_url": nb.url,
                                             "directory": str(YAML_INVENTORY)}},
                   "logging": {"enabled": False}},
        "store_url": "sqlite:///store/onramp.db", "secret_key_file": "store/secret.key"}))  # fmt: skip
    return config


def test_same_routers_and_byte_identical_configs(
    loaded: Nautobot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(config_for(tmp_path, loaded, monkeypatch))
    from_nautobot, from_yaml = load_source(settings), load(YAML_INVENTORY)
    assert from_nautobot.routers == from_yaml.routers
    assert from_nautobot.catalogue == from_yaml.catalogue
    # order too (Nautobot sorts JSON keys): the lab numbers on-ramps in catalogue order
    assert list(from_nautobot.routers) == list(from_yaml.routers)
    assert list(from_nautobot.catalogue.onramps) == list(from_yaml.catalogue.onramps)
    for r in sorted(from_yaml.routers):
        want = router_config(from_yaml, r, RouterServices(r))
        assert router_config(from_nautobot, r, RouterServices(r)) == want, r
    # the Nornir inventory too: what tasks and the NAPALM driver get
    nr = init_nornir(settings)
    yaml_nr = init_nornir(load_settings(_yaml_config(tmp_path)))
    for name, host in yaml_nr.inventory.hosts.items():
        got = nr.inventory.hosts[name]
        assert (got.hostname, got.platform, got.username) == (
            host.hostname, host.platform, host.username)  # fmt: skip
        assert dict(got.items()) == dict(host.items())
        assert got.get_connection_parameters("napalm").dict() == (
            host.get_connection_parameters("napalm").dict())  # fmt: skip


def _yaml_config(tmp_path: Path) -> Path:
    config = tmp_path / "yaml" / "config.yaml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(yaml.safe_dump({
        "nornir": {"inventory": {"plugin": "OnrampInventory",
                                 "options": {"directory": str(YAML_INVENTORY)}},
                   "logging": {"enabled": False}},
        "store_url": f"sqlite:///{tmp_path}/store/onramp.db",
        "secret_key_file": f"{tmp_path}/store/secret.key"}))  # fmt: skip
    return config


def test_validate_and_a_connectors_rendered_configs_from_nautobot(
    loaded: Nautobot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_for(tmp_path, loaded, monkeypatch)
    base = ["--config", str(config)]
    run(*base, "tenant", "add", "acme", "ACME Corp")
    made = run(*base, "connector", "create", "--tenant", "acme", "--onramp", "ent-par",
               "--kind", "enterprise", "--bandwidth", "100", "--customer-asn", "65101",
               "--prefix", "192.0.2.0/24", "--json")  # fmt: skip
    assert made["onramp"] == "ent-par"
    pe = made["attachments"][0]["router"]
    svc = Service.open(load_settings(config))
    # as a deploy would leave it, so that routers carry it
    svc.store.transact(lambda s: move(s, s.get(ConnectorRow, made["id"]), "active", "test"))
    report = run(*base, "validate", "--json")
    assert report["ok"] is True, report["findings"]
    assert report["routers"] == 6
    # the same store rendered through either inventory: the same configs, service included
    from_nautobot, _, _ = offline.rendered(svc, svc.backbone)
    from_yaml, _, _ = offline.rendered(svc, load(YAML_INVENTORY))
    assert from_nautobot == from_yaml
    bare = router_config(svc.backbone, pe, RouterServices(pe))
    assert from_nautobot[pe] != bare  # the Connector is in what was compared
    # and the lab would be built the same (its plan; building it is tests/e2e's)
    lab = run(*base, "lab", "up", "--dry-run", "--json")
    assert lab == run("--config", str(_yaml_config(tmp_path)), "lab", "up", "--dry-run", "--json")


def test_duplicate_loopback_in_nautobot_is_refused_with_the_yaml_code(
    loaded: Nautobot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pe1-lon's `lo` given pe1-par's loopback address: ONR-INV-002, as from YAML."""
    api = pynautobot.api(loaded.url, token=loaded.token)
    lo = api.dcim.interfaces.get(device="pe1-lon", name="lo")
    theirs = api.ipam.ip_addresses.get(address="10.255.0.1/32")
    mine = api.ipam.ip_address_to_interface.get(interface=lo.id)
    ours = mine.ip_address.id
    mine.delete()
    api.ipam.ip_address_to_interface.create(ip_address=theirs.id, interface=lo.id)
    try:
        config = config_for(tmp_path, loaded, monkeypatch)
        out = run("--config", str(config), "inventory", "check", "--json", code=1)
        assert [(f["code"], f["host"], f["field"]) for f in out["findings"]] == [
            ("ONR-INV-002", "pe1-lon", "loopback")
        ]
        assert out["findings"][0]["reason"] == "10.255.0.1 is already used by pe1-par"
        # what loads it refuses too: Nornir (the plugin) and the service
        with pytest.raises(Exception, match="ONR-INV-002"):
            init_nornir(load_settings(config))
    finally:
        api.ipam.ip_address_to_interface.get(interface=lo.id).delete()
        api.ipam.ip_address_to_interface.create(ip_address=ours, interface=lo.id)


def test_an_unreachable_nautobot_is_one_coded_error_without_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nowhere = Nautobot("http://127.0.0.1:9", "0123456789abcdef-secret")  # discard port: refused
    config = config_for(tmp_path, nowhere, monkeypatch)
    result = CliRunner().invoke(app, ["--config", str(config), "inventory", "check", "--json"])
    assert result.exit_code == 2  # an error, not findings (1)
    assert json.loads(result.output)["error"]["code"] == "ONR-INV-013"
    assert "ONR-INV-013" in result.output and "127.0.0.1:9" in result.output
    assert "secret" not in result.output


def test_the_shipped_schema_is_all_this_nautobot_migrates(nautobot: Nautobot) -> None:
    """The fixture restored leaves `migrate` nothing to do: a fresh clone skips the minutes
    of migrating, and Nautobot's server runs on exactly what its migrations make."""
    schema = nautobot.schema
    assert schema is not None
    if schema.restore_error:
        pytest.skip(f"this PostgreSQL cannot restore {FIXTURE.name}: {schema.restore_error}")
    assert schema.source == FIXTURE
    assert schema.unapplied == [], f"run `make nautobot-fixture`: {FIXTURE.name} lacks these"


def _tables(sock: Path) -> int:
    sql = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    out = subprocess.run(["psql", "-h", str(sock), "-U", "postgres", "-d", "nautobot", "-tAc", sql],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    return int(out)


@pytest.mark.parametrize("case", ["newer archive", "a table in the way"])
def test_a_dump_that_cannot_be_restored_leaves_the_database_empty_for_migrate(
    case: str, tmp_path: Path
) -> None:
    with pg_server() as pg:
        sock = pg.base / "sock"
        psql = ["psql", "-h", str(sock), "-U", "postgres", "-q"]
        subprocess.run([*psql, "-c", "CREATE DATABASE nautobot"], check=True, capture_output=True)
        dump = tmp_path / FIXTURE.name
        shutil.copyfile(FIXTURE, dump)
        if case == "newer archive":  # what an older PostgreSQL's pg_restore meets
            data = bytearray(dump.read_bytes())
            assert data[:5] == b"PGDMP"
            data[6] = 99  # the archive format's minor version (1.14 from PostgreSQL 15)
            dump.write_bytes(bytes(data))
            expected = "unsupported version"
        else:  # a statement failing half-way: the tables made before it go too
            subprocess.run([*psql, "-d", "nautobot", "-c", "CREATE TABLE users_token (id int)"],
                           check=True)  # fmt: skip
            expected = "users_token"
        error = restore(dump, sock)
        assert expected in error
        assert _tables(sock) == (0 if case == "newer archive" else 1)


def test_the_apps_runserver_finds_unmigrated_are_the_ones_migrate_is_run_for() -> None:
    """nautobot_server learns what the restored dump lacks from runserver's own start-up
    check (no `showmigrations` start): its words, as Nautobot 3.2.7's Django prints them
    (a dump with vpn's last migration row deleted)."""
    log = ("System check identified no issues (0 silenced).\n\nYou have 3 unapplied "
           "migration(s). Your project may not work properly until you apply the migrations "
           "for app(s): dcim, vpn.\nRun 'python manage.py migrate' to apply them.\n"
           "16:35:35.322 INFO    nautobot :\n  Nautobot 3.2.7 initialized!\n")  # fmt: skip
    assert unapplied_apps(log) == ["dcim", "vpn"]
    assert unapplied_apps(log.split("\n\n")[0]) == []
