"""NAPALM community driver for FRR: `napalm.get_network_driver("frr")` finds FRRDriver here."""

from napalm_frr.frr import (
    HOST_KEY_POLICIES,
    CommitPending,
    ConfigChanged,
    FRRDriver,
    HostKeyError,
    applies_against,
    commit_state,
    counters_read_at,
    has_orphaned_commit,
    is_for,
    shaped_rates,
)

__all__ = [
    "HOST_KEY_POLICIES",
    "CommitPending",
    "ConfigChanged",
    "FRRDriver",
    "HostKeyError",
    "applies_against",
    "commit_state",
    "counters_read_at",
    "has_orphaned_commit",
    "is_for",
    "shaped_rates",
]
