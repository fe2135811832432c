"""The interfaces engineers type: `onramp <command>` (Typer). Commands call onramp.flow.

Each command imports what it runs inside its function: `onramp --help` loads Typer alone,
a read-only command the settings, the inventory and the store, not Nornir, the renderer,
the provider SDKs and pyATS that every command together would load (3 s or more on these
machines). Below the CLI, `onramp.flow.service` does the same for what only its writing
methods use (tests/cli/test_startup.py holds both).
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading

# a command that lasts longer than this has its cyclic garbage collected again: long enough
# for a read-only command on a busy machine (1-2 s at load 10 here), short for a worker's life
GC_AFTER_S = 5.0


def run() -> None:
    """The `onramp` script (and `python -m onramp.cli`): the app, started light.

    Start-up builds some 500,000 objects (the libraries' classes, the ORM, the models) that
    all live until exit. The cyclic collector would walk them again and again while they
    load, and once more at exit: ~25 % of a read-only command's CPU (issue 23: the CLI runs
    in loops). So it waits for the first seconds (a daemon timer turns it back on: a worker,
    the API or `lab up` runs as any process does) and exit freezes what is left, which the
    process's end frees anyway. Only the invoked group's commands are built (`main.only`).

    pydantic's plugins are off unless PYDANTIC_DISABLE_PLUGINS is set (set it empty to have
    them): looking for them reads the metadata of every installed package (~250 here),
    ~6 ms of each command's start, and onramp uses none (Typer turns them off too)."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    gc.disable()
    atexit.register(gc.freeze)  # registered first, so it runs after every other exit hook
    timer = threading.Timer(GC_AFTER_S, gc.enable)
    timer.daemon = True
    timer.start()
    from onramp.cli.main import app, only

    only(app, sys.argv[1:])
    app()
