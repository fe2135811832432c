"""Runbooks: what engineers run, dry-run by default (`onramp runbook --help`)."""
