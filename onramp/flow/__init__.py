"""The provisioning flow, one file per step: request -> allocate -> provider -> render ->
plan -> apply (commit-confirm, gate, confirm or roll back) -> active; then monitor and
compliance. orchestrate.py is the state machine that runs the steps."""
