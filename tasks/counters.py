"""Interface counters with when they were read: a rate is octets over the time between two
reads, so the time must be the read's, not when a round trip came back."""

from __future__ import annotations

from datetime import UTC, datetime

from napalm.base import NetworkDriver, models

from napalm_frr import FRRDriver, counters_read_at
from onramp.core.tables import now


def read_counters(
    dev: NetworkDriver,
) -> tuple[dict[str, models.InterfaceCounterDict], dict[str, datetime]]:
    """Every interface's counters and when each was read: by the router's clock where the
    driver reads it in the same command (napalm_frr, per namespace); else the middle of the
    call on ours, off by at most half its round trip."""
    before = now()
    counters = dev.get_interfaces_counters()
    middle = before + (now() - before) / 2
    clock = counters_read_at(dev) if isinstance(dev, FRRDriver) else {}
    return counters, {
        name: datetime.fromtimestamp(clock[name], UTC) if name in clock else middle
        for name in counters
    }
