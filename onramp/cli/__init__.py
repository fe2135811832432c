"""The interfaces engineers type: `onramp <command>` (Typer). Commands call onramp.flow.

Each command imports what it runs inside its function: `onramp --help` and a read-only
command then load Typer and the settings (0.6 s), not Nornir, SQLAlchemy, the provider
SDKs and pyATS that every command together would load (3 s or more on these machines).
That is the one place onramp imports inside functions.
"""
