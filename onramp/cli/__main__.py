"""`python -m onramp.cli`: the same commands as the `onramp` script."""

from onramp.cli import run

run()
