"""`python -m onramp.cli`: the same commands as the `onramp` script."""

from onramp.cli.main import app

app()
