"""The interfaces engineers type: `onramp <command>` (Typer). Commands call onramp.flow.

Each command imports what it runs inside its function: `onramp --help` loads Typer alone,
a read-only command the settings, the inventory and the store, not Nornir, the renderer,
the provider SDKs and pyATS that every command together would load (3 s or more on these
machines). Below the CLI, `onramp.flow.service` does the same for what only its writing
methods use (tests/cli/test_startup.py holds both).
"""
