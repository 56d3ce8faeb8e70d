"""The values that go into a count and the result that comes out of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any, NamedTuple

from .numbers import decimal_str

# Self-declared genders that count towards a minimum number of women (case-insensitive).
WOMEN_GENDERS = frozenset({"female", "woman", "f", "w"})

# Yes/no ballots: a ballot naming the candidate (or motion) is "for", one naming AGAINST is
# "against", an empty ranking abstains.  FOR is the key under which "for" votes are reported
# when a motion has no candidate of its own.
FOR = "for"
AGAINST = "against"


class CountError(ValueError):
    """The input cannot be counted: unknown candidate, bad weight, wrong ballot shape..."""


class Method(StrEnum):
    PLURALITY = "plurality"
    BLOCK = "block"
    AV = "av"
    EXHAUSTIVE = "exhaustive"
    STV = "stv"
    YES_NO = "yes_no"


class StageKind(StrEnum):
    FIRST = "first"
    SURPLUS = "surplus"
    EXCLUSION = "exclusion"
    ROUND = "round"


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str
    gender: str | None = None
    withdrawn: bool = False

    @property
    def is_woman(self) -> bool:
        return self.gender is not None and self.gender.strip().lower() in WOMEN_GENDERS


class Ballot(NamedTuple):
    """Candidate ids in order of preference; ``()`` is a blank paper (an abstention).

    A named tuple rather than a frozen dataclass: a large count builds one per
    distinct ranking, and a tuple is built several times faster.
    """

    ranking: tuple[str, ...]
    weight: int | Fraction = 1


@dataclass(frozen=True)
class Tie:
    stage: int
    candidates: list[str]
    purpose: str  # "exclusion", "surplus order", "election order", "last seat", ...
    decided_by: str  # "lookback" or "lot"
    chosen: str
    draw: dict[str, Any] | None = None  # for a lot: seed, draw number, pool and order drawn

    def to_dict(self, names: Mapping[str, str] | None = None) -> dict[str, Any]:
        n = _namer(names)
        out: dict[str, Any] = {
            "stage": self.stage,
            "candidates": [n(c) for c in self.candidates],
            "purpose": self.purpose,
            "decided_by": self.decided_by,
            "chosen": n(self.chosen),
        }
        if self.draw is not None:
            draw = dict(self.draw)
            draw["pool"] = [n(c) for c in draw.get("pool", [])]
            draw["order"] = [n(c) for c in draw.get("order", [])]
            out["draw"] = draw
        return out


@dataclass(frozen=True)
class Stage:
    number: int
    action: str
    kind: StageKind
    totals: dict[str, Fraction]
    non_transferable: Fraction
    elected: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self, names: Mapping[str, str] | None = None, places: int = 5) -> dict[str, Any]:
        n = _namer(names)
        return {
            "number": self.number,
            "action": self.action,
            "kind": str(self.kind),
            "totals": {n(c): decimal_str(v, places) for c, v in self.totals.items()},
            "non_transferable": decimal_str(self.non_transferable, places),
            "elected": [n(c) for c in self.elected],
            "excluded": [n(c) for c in self.excluded],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Result:
    method: Method
    seats: int
    elected: list[str]
    excluded: list[str]
    quota: Fraction | None
    valid_poll: Fraction
    blank: Fraction
    stages: list[Stage]
    ties: list[Tie] = field(default_factory=list)
    rules: str | None = None
    seed: int | str | None = None  # the seed actually used for lots (drawn if none was given)
    places: int = 5  # decimal places used when the result is shown

    def to_dict(self, names: Mapping[str, str] | None = None) -> dict[str, Any]:
        """JSON-safe: ids replaced by ``names`` where given, numbers as decimal strings."""
        n = _namer(names)
        p = self.places
        return {
            "method": str(self.method),
            "rules": self.rules,
            "seats": self.seats,
            "elected": [n(c) for c in self.elected],
            "excluded": [n(c) for c in self.excluded],
            "quota": None if self.quota is None else decimal_str(self.quota, p),
            "valid_poll": decimal_str(self.valid_poll, p),
            "blank": decimal_str(self.blank, p),
            "stages": [s.to_dict(names, p) for s in self.stages],
            "ties": [t.to_dict(names) for t in self.ties],
            "seed": self.seed,
        }


def _namer(names: Mapping[str, str] | None):
    if not names:
        return lambda c: c
    return lambda c: names.get(c, c)
