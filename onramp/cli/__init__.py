"""The interfaces engineers type: `onramp <command>` (Typer). Commands call onramp.flow."""
