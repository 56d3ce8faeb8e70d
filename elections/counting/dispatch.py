"""``count()``: check the options and hand the ballots to the method's module."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from .prepare import prepare
from .ties import TieBreaker
from .types import Ballot, Candidate, CountError, Method, Result
from .yesno import YES_NO_EXTRA_IDS, count_yes_no

RULES = ("scottish", "ers97")
SINGLE_SEAT = (Method.AV, Method.EXHAUSTIVE, Method.YES_NO)


def count(
    method: Method | str,
    candidates: Sequence[Candidate],
    ballots: Iterable[Ballot],
    *,
    seats: int = 1,
    rules: str = "scottish",
    min_women: int = 0,
    seed: int | str | None = None,
) -> Result:
    """Count ``ballots`` by ``method`` and return the result with its count sheet."""
    try:
        method = Method(method)
    except ValueError:
        choices = ", ".join(m.value for m in Method)
        raise CountError(f"unknown method {method!r}; choose from {choices}") from None
    if type(seats) is not int or seats < 1:
        raise CountError(f"seats must be a whole number of at least 1, not {seats!r}")
    if method in SINGLE_SEAT and seats != 1:
        raise CountError(f"{method} elects one candidate; seats must be 1, not {seats}")
    if type(min_women) is not int or min_women < 0:
        raise CountError(f"min_women must be a whole number >= 0, not {min_women!r}")
    if min_women and method in SINGLE_SEAT:
        raise CountError(f"a minimum number of women applies to multi-seat methods, not {method}")
    if min_women > seats:
        raise CountError(f"min_women ({min_women}) exceeds the seats ({seats})")
    if method is Method.STV and rules not in RULES:
        raise CountError(f"unknown STV rules {rules!r}; choose from {', '.join(RULES)}")
    tb = TieBreaker(seed)
    with _collector_paused():
        return _count(method, candidates, ballots, seats, rules, min_women, tb)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off for the count, as it was after.

    A count allocates many small objects (values, parcels, totals) and makes
    no reference cycles, so the collector finds nothing; but each full pass
    walks every object alive, the ballots included, which cost 7-14% of a
    130,000-ballot count (bench/counting_bench.py).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _count(
    method: Method,
    candidates: Sequence[Candidate],
    ballots: Iterable[Ballot],
    seats: int,
    rules: str,
    min_women: int,
    tb: TieBreaker,
) -> Result:
    if method is Method.YES_NO:
        return count_yes_no(prepare(candidates, ballots, extra_ids=YES_NO_EXTRA_IDS), seats)
    prep = prepare(candidates, ballots)
    if method in (Method.PLURALITY, Method.BLOCK):
        from .plurality import count_plurality

        return count_plurality(prep, method, seats, min_women, tb)
    if method is Method.AV:
        from .preferential import count_av

        return count_av(prep, tb)
    if method is Method.EXHAUSTIVE:
        from .exhaustive import count_round

        return count_round(prep, tb)
    if rules == "ers97":
        from .stv_ers97 import count_stv_ers97

        return count_stv_ers97(prep, seats, min_women, tb)
    from .stv_scottish import count_stv_scottish

    return count_stv_scottish(prep, seats, min_women, tb)
