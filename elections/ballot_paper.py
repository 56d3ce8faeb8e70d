"""The ballot paper: what a voter may mark, and reading a marked paper.

Reading is strict. Anything a genuine form cannot produce (an unknown
candidate, a rank given twice, a gap, a second choice where one is allowed)
is refused with a reason, and the caller records nothing. Error messages
never repeat the choices made.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Protocol

from elections.exceptions import BallotRefused

ABSTAIN = "abstain"
YES = "yes"
NO = "no"
RANK_PREFIX = "rank-"


class PaperKind(StrEnum):
    SINGLE = "single"  # one choice
    BLOCK = "block"  # up to `seats` choices, unordered
    RANKED = "ranked"  # 1, 2, 3 … as many as the voter likes
    YES_NO = "yes_no"  # for or against one candidate or motion


class FormData(Protocol):
    def getlist(self, key: str) -> list[str]: ...
    def keys(self) -> object: ...


@dataclass(frozen=True)
class Option:
    id: int
    name: str
    affiliation: str = ""


@dataclass(frozen=True)
class BallotPaper:
    kind: PaperKind
    options: tuple[Option, ...]
    seats: int = 1
    abstention_allowed: bool = True

    # Worked out once per paper: a paper kept per process is read for every vote.
    @cached_property
    def ids(self) -> frozenset[int]:
        return frozenset(option.id for option in self.options)

    @cached_property
    def fingerprint(self) -> str:
        """Identifies this exact paper, so a form for an older one is refused."""
        text = f"{self.kind}|{self.seats}|" + ",".join(str(o.id) for o in self.options)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def describe(self, choices: Sequence[int | str]) -> list[str]:
        """Human-readable lines for the confirmation page."""
        names = {o.id: o.name for o in self.options}
        if not choices:
            return ["Abstain: no candidate chosen"]
        if self.kind == PaperKind.YES_NO:
            return [f"{'Yes' if choices[0] == YES else 'No'}: {self.options[0].name}"]
        if self.kind == PaperKind.RANKED:
            return [f"{n}. {names[c]}" for n, c in enumerate(choices, start=1)]  # type: ignore[index]
        return [names[c] for c in choices]  # type: ignore[index]

    def read(self, data: FormData | Mapping[str, list[str]]) -> list[int | str]:
        """Turn submitted form data into normalised choices, or refuse it."""
        getlist = data.getlist if hasattr(data, "getlist") else (lambda k: list(data.get(k, [])))  # type: ignore[union-attr]
        submitted = getlist("paper")
        if submitted and submitted != [self.fingerprint]:
            raise BallotRefused(
                "stale", "This ballot paper has changed since you opened it. Please check it again."
            )
        if self.kind == PaperKind.RANKED:
            return self._read_ranked(data, getlist)
        values = getlist("choice")
        if self.kind == PaperKind.BLOCK:
            return self._read_block(values)
        if len(values) > 1:
            raise BallotRefused("tampered", "Only one choice can be made on this ballot.")
        value = values[0].strip() if values else ""
        if value == "":
            raise BallotRefused("empty", "Make a choice, or choose to abstain.")
        if value == ABSTAIN:
            return self._abstain()
        if self.kind == PaperKind.YES_NO:
            if value not in (YES, NO):
                raise BallotRefused("unknown_choice", "That is not a choice on this ballot.")
            return [value]
        return [self._candidate(value)]

    def _abstain(self) -> list[int | str]:
        if not self.abstention_allowed:
            raise BallotRefused(
                "no_abstention", "The rules of this contest do not allow abstention."
            )
        return []

    def _candidate(self, raw: str) -> int:
        try:
            candidate_id = int(raw)
        except ValueError:
            raise BallotRefused(
                "unknown_candidate", "That candidate is not on this ballot."
            ) from None
        if candidate_id not in self.ids:
            raise BallotRefused("unknown_candidate", "That candidate is not on this ballot.")
        return candidate_id

    def _read_block(self, values: list[str]) -> list[int | str]:
        values = [v.strip() for v in values if v.strip()]
        if values == [ABSTAIN] or not values:
            if not values and not self.abstention_allowed:
                raise BallotRefused("empty", "Choose at least one candidate.")
            return self._abstain()
        chosen = [self._candidate(v) for v in values]
        if len(set(chosen)) != len(chosen):
            raise BallotRefused("duplicate_choice", "A candidate was chosen twice.")
        if len(chosen) > self.seats:
            raise BallotRefused("too_many", f"Choose at most {self.seats} candidates.")
        return sorted(chosen)

    def _read_ranked(self, data: object, getlist: object) -> list[int | str]:
        ranks: dict[int, int] = {}
        for key in list(data.keys()):  # type: ignore[attr-defined]
            if not key.startswith(RANK_PREFIX):
                continue
            candidate_id = self._candidate(key.removeprefix(RANK_PREFIX))
            values = getlist(key)  # type: ignore[operator]
            if len(values) != 1:
                raise BallotRefused("tampered", "Each candidate takes one number at most.")
            raw = values[0].strip()
            if raw == "":
                continue
            try:
                rank = int(raw)
            except ValueError:
                raise BallotRefused(
                    "bad_rank", "Rankings must be whole numbers: 1, 2, 3 …"
                ) from None
            if not 1 <= rank <= len(self.options):
                raise BallotRefused("bad_rank", f"Rankings run from 1 to {len(self.options)}.")
            ranks[candidate_id] = rank
        if not ranks:
            if ABSTAIN in getlist("choice"):  # type: ignore[operator]
                return self._abstain()
            raise BallotRefused("empty", "Number at least one candidate, starting with 1.")
        ordered = sorted(ranks.values())
        if len(set(ordered)) != len(ordered):
            raise BallotRefused("duplicate_rank", "Each number can be given to one candidate only.")
        if ordered != list(range(1, len(ordered) + 1)):
            raise BallotRefused("rank_gap", "Number your choices 1, 2, 3 … without gaps.")
        return [cid for cid, _ in sorted(ranks.items(), key=lambda item: item[1])]
