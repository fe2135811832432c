"""How often the gate polls the routers after a commit: fast while a session is expected
(1-3 s), slower once it is late, never slower than the cap."""

from __future__ import annotations

from onramp.validation.collect import pause, poll_after


def test_the_gate_polls_every_tenth_of_a_second_at_first_then_backs_off() -> None:
    assert [poll_after(t) for t in (0.0, 1.0, 2.5, 4.99)] == [0.1] * 4
    later = [poll_after(t) for t in (5.0, 7.0, 9.0, 20.0, 60.0)]
    assert later == sorted(later) and later[0] <= 0.5 and later[-1] == 1.0
    assert poll_after(60.0, cap=0.5) == 0.5


def test_the_gate_polls_from_one_polls_start_to_the_next() -> None:
    """A poll's own time counts toward the tenth of a second (it slept 0.1 s after each:
    every 0.13-0.15 s); never less than half of it between two, so a slow router is not
    asked again at once."""
    assert [pause(0.1, took) for took in (0.0, 0.03, 0.045)] == [0.1, 0.07, 0.055]
    assert pause(0.1, 0.07) == pause(0.1, 2.0) == 0.05
    assert pause(0.8, 0.05) == 0.75  # later, slower polls: the same rule
