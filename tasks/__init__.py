"""Nornir tasks: (task, ...) -> Result. Render, diff, deploy with commit-confirm, confirm, rollback: to come (issue: templates and safe deploy)."""
