"""The store reaches the newest schema, and a store already there is opened without Alembic
(issue 23: its import was ~0.1 s of every CLI command's start-up)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from onramp.core.engine import MIGRATIONS, Store, head_revision


def alembic_head() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def test_the_head_read_from_the_files_is_alembics() -> None:
    assert head_revision() == alembic_head()


def test_a_new_store_and_a_store_one_revision_behind_reach_the_head(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    assert store.revision() is None
    store.migrate()
    assert store.revision() == head_revision()

    from alembic import command

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")
    assert store.revision() not in (None, head_revision())
    store.migrate()  # the fast path must not take a store that is behind for one at the head
    assert store.revision() == head_revision()


def test_a_store_at_the_head_opens_without_importing_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'b.db'}"
    Store(url).migrate()
    probe = (
        "import sys; from onramp.core.store import Store; "
        f"Store({url!r}).migrate(); print('alembic' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
