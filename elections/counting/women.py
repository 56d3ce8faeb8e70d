"""A minimum number of women elected.

The rule, for every multi-seat method: let *needed* be the women still to be elected to
reach the minimum, but no more than the women still standing (a minimum that cannot be met
is met as far as it can).  When the seats left can only just be filled by the women still
needed (needed >= seats left), every other continuing candidate is excluded and the count
sheet says so; until then, a candidate who is not a woman may not take a seat that a woman
needs, and a woman is not excluded while the women still standing are no more than needed.
A candidate counts as a woman when their self-declared gender is one of ``WOMEN_GENDERS``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from .types import Candidate


class WomenRule:
    def __init__(self, min_women: int, candidates: Sequence[Candidate]) -> None:
        self.min_women = min_women
        self.women = frozenset(c.id for c in candidates if c.is_woman)

    @property
    def active(self) -> bool:
        return self.min_women > 0

    def _still_wanted(self, elected: Collection[str]) -> int:
        return max(0, self.min_women - sum(1 for c in elected if c in self.women))

    def needed(self, elected: Collection[str], continuing: Collection[str]) -> int:
        standing_women = sum(1 for c in continuing if c in self.women)
        return min(self._still_wanted(elected), standing_women)

    def others_to_exclude(
        self, elected: Collection[str], continuing: Sequence[str], vacancies: int
    ) -> list[str]:
        """The continuing candidates who are not women, when only women can take the seats."""
        if not self.active or vacancies <= 0:
            return []
        need = self.needed(elected, continuing)
        if need == 0 or need < vacancies:
            return []
        return [c for c in continuing if c not in self.women]

    def may_elect(
        self, candidate: str, elected: Collection[str], continuing: Collection[str], vacancies: int
    ) -> bool:
        if not self.active or candidate in self.women:
            return True
        return self.needed(elected, continuing) < vacancies

    def protects(
        self, candidate: str, elected: Collection[str], continuing: Collection[str]
    ) -> bool:
        """True if excluding this woman would leave too few women to reach the minimum."""
        if not self.active or candidate not in self.women:
            return False
        standing_women = sum(1 for c in continuing if c in self.women)
        return self._still_wanted(elected) > 0 and standing_women <= self._still_wanted(elected)

    def note(self, excluded_names: Sequence[str], vacancies: int) -> str:
        seats = "seat" if vacancies == 1 else "seats"
        return (
            f"Minimum of {self.min_women} women: the {vacancies} {seats} left can only "
            f"just be filled by the women still standing, so "
            f"{', '.join(excluded_names)} excluded"
        )
