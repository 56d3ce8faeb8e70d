"""Plurality (one choice per paper) and block vote (up to one choice per seat).

Both are counted in one stage: the candidates with the most votes take the seats.  Equal
votes for the last seat(s) are decided by lot (a single stage has nothing to look back on).
With a minimum number of women, candidates who are not women are passed over once the
seats left are needed for women (see ``women.py``); they are listed as excluded and the
stage notes say why.
"""

from __future__ import annotations

from fractions import Fraction

from .prepare import Prepared, display_places
from .ties import TieBreaker
from .types import CountError, Method, Result, Stage, StageKind
from .women import WomenRule


def count_plurality(
    prep: Prepared, method: Method, seats: int, min_women: int, tb: TieBreaker
) -> Result:
    limit = 1 if method is Method.PLURALITY else seats
    totals: dict[str, Fraction] = {c: Fraction(0) for c in prep.standing}
    for ranking, w in prep.groups.items():
        if len(ranking) > limit:
            what = "more than one candidate" if limit == 1 else f"more than {limit} candidates"
            raise CountError(f"a {method} ballot may not name {what}: {ranking!r}")
        for c in ranking:
            totals[c] += w
    names = {c.id: c.name for c in prep.candidates}
    rule = WomenRule(min_women, prep.candidates)
    elected, passed_over, notes = select_top(totals, seats, rule, tb, names, stage=1)
    action = "First count"
    if elected:
        action += f"; {', '.join(names[c] for c in elected)} elected"
    stage = Stage(
        1,
        action,
        StageKind.FIRST,
        dict(totals),
        Fraction(0),
        elected=list(elected),
        excluded=list(passed_over),
        notes=notes,
    )
    return Result(
        method=method,
        seats=seats,
        elected=elected,
        excluded=passed_over,
        quota=None,
        valid_poll=prep.valid_poll,
        blank=Fraction(prep.blank),
        stages=[stage],
        ties=tb.ties,
        seed=tb.seed,
        places=display_places([*prep.groups.values(), prep.blank]),
    )


def select_top(
    totals: dict[str, Fraction],
    seats: int,
    rule: WomenRule,
    tb: TieBreaker,
    names: dict[str, str],
    stage: int,
) -> tuple[list[str], list[str], list[str]]:
    """Fill ``seats`` with the highest totals: (elected, excluded by the women rule, notes)."""
    elected: list[str] = []
    passed_over: list[str] = []
    notes: list[str] = []
    rest = list(totals)
    while len(elected) < seats and rest:
        vacancies = seats - len(elected)
        others = rule.others_to_exclude(elected, rest, vacancies)
        if others:
            passed_over += others
            rest = [c for c in rest if c not in others]
            notes.append(rule.note([names[c] for c in others], vacancies))
            continue
        top = max(totals[c] for c in rest)
        tied = [c for c in rest if totals[c] == top]
        if len(tied) <= vacancies:
            after = elected + tied
            left = [c for c in rest if c not in tied]
            if rule.needed(after, left) > seats - len(after):
                # Not all of them can take a seat: women first, then the rest by lot.
                women = [c for c in tied if c in rule.women]
                tied = women or [tb.lot(stage, tied, "last seat")]
        else:
            tied = [tb.lot(stage, tied, "last seat")]
        elected += tied
        rest = [c for c in rest if c not in tied]
    return elected, passed_over, notes
