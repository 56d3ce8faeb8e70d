"""STV under the Electoral Reform Society's 1997 rules (ERS97), as we read them.

What differs from the Scottish rules (``stv_scottish.py``, whose skeleton this reuses):

- votes are counted to two decimal places; quota = total / (seats + 1) cut to two decimals,
  plus 0.01 (the least such figure above the exact quotient);
- a surplus is taken from the papers the candidate received last (all papers for one elected
  at the first stage): each transferable paper passes at surplus / (number of transferable
  papers), cut to two decimals, but never above the value it came with; the rest of the
  surplus is non-transferable;
- surpluses are deferred while their sum could not lift the lowest candidate above the
  next-lowest, and the lowest is excluded first;
- an exclusion takes in one go as many of the lowest candidates as can go together (their
  votes plus all surpluses still below the next candidate's), and their papers pass at the
  value they carry, one value per stage, highest first; a candidate reaching the quota is
  elected at the end of that stage and receives no more;
- ties are decided by the *earliest* stage at which the candidates differed, then by lot.
"""

from __future__ import annotations

from fractions import Fraction

from .numbers import truncate
from .prepare import Prepared
from .stv_scottish import Paper, ScottishCount, papers_in
from .ties import TieBreaker
from .types import Result, StageKind

PLACES = 2
# One parcel: the stage it arrived at, the value of each paper, the papers.
Parcel = tuple[int, Fraction, list[Paper]]


class Ers97Count(ScottishCount):
    rules = "ers97"
    places = PLACES
    forward = True

    def __init__(self, prep: Prepared, seats: int, min_women: int, tb: TieBreaker) -> None:
        super().__init__(prep, seats, min_women, tb)
        self.quota = truncate(self.valid / (seats + 1), PLACES) + Fraction(1, 100)
        self.parcels: dict[str, list[Parcel]] = {c: [] for c in self.ids}

    def first_count(self) -> None:
        super().first_count()
        for c, parcels in self.piles.items():
            for value, papers in parcels.items():
                self.parcels[c].append((1, value, papers))
        self.piles = {}  # this count keeps parcels in order of arrival instead

    def send(
        self, papers: list[Paper], value: Fraction, stage: int
    ) -> tuple[Fraction, int | Fraction]:
        """Pass ``papers`` on at ``value`` each, as one new parcel per receiving candidate;
        return (value transferred, papers with no continuing preference)."""
        alive = self.alive
        arriving: dict[str, list[Paper]] = {}
        stuck: int | Fraction = 0
        for r, pos, n in papers:
            for j in range(pos + 1, len(r)):
                t = r[j]
                if alive[t]:
                    arriving.setdefault(t, []).append((r, j, n))
                    break
            else:
                stuck += n
        transferred = Fraction(0)
        for t, parcel in arriving.items():
            gain = sum(map(papers_in, parcel)) * value
            self.totals[t] += gain
            transferred += gain
            self.parcels[t].append((stage, value, parcel))
        return transferred, stuck

    @staticmethod
    def transferable(papers: list[Paper], alive: dict[str, bool]) -> int | Fraction:
        return sum(n for r, pos, n in papers if any(alive[t] for t in r[pos + 1 :]))

    def transfer_surplus(self, c: str) -> None:
        stage = len(self.stages) + 1
        surplus = self.totals[c] - self.quota
        _, value, papers = self.parcels[c][-1]
        count = self.transferable(papers, self.alive)
        if count * value > surplus:
            value = truncate(surplus / count, PLACES)
        transferred, _ = self.send(papers, value, stage)
        self.non_transferable += surplus - transferred
        self.totals[c] = self.quota
        self.parcels[c] = []
        self.record(f"Surplus of {self.names[c]} transferred", StageKind.SURPLUS, [], [])

    def exclude(self, losers: list[str], notes: list[str]) -> None:
        for c in losers:
            self.alive[c] = False
            self.excluded.append(c)
        # All the excluded candidates' papers, gathered by value, highest value first.
        by_value: dict[Fraction, list[Paper]] = {}
        leaving: dict[Fraction, dict[str, Fraction]] = {}  # value -> candidate -> votes
        for c in losers:
            for _, value, papers in self.parcels[c]:
                by_value.setdefault(value, []).extend(papers)
                out = leaving.setdefault(value, {})
                out[c] = out.get(c, Fraction(0)) + sum(map(papers_in, papers)) * value
            self.parcels[c] = []
        values = sorted(by_value, reverse=True)
        who = self.name_list(losers)
        for k, value in enumerate(values or [Fraction(1)]):
            if values:
                _, stuck = self.send(by_value[value], value, len(self.stages) + 1)
                self.non_transferable += stuck * value
                for c, votes in leaving[value].items():
                    self.totals[c] -= votes
            if k == len(values) - 1 or not values:
                for c in losers:  # nothing is left behind, not even a rounding remnant
                    self.totals[c] = Fraction(0)
            action = f"{who} excluded"
            if len(values) > 1:
                action += f" (papers at {float(value):.2f})"
            self.record(
                action, StageKind.EXCLUSION, losers if k == 0 else [], notes if k == 0 else []
            )
            vacancies = self.seats - len(self.elected)
            if vacancies <= 0 or len(self.continuing()) <= vacancies:
                break  # count over: any papers not yet passed on stay where they are

    def next_step(self) -> bool:
        vacancies = self.seats - len(self.elected)
        continuing = self.continuing()
        if vacancies <= 0 or not continuing:
            return False
        others = self.rule.others_to_exclude(self.elected, continuing, vacancies)
        if others:
            self.exclude(others, [self.rule.note([self.names[c] for c in others], vacancies)])
            return True
        totals = self.snapshot()
        surpluses = sum(totals[c] - self.quota for c in self.surplus_pending)
        ranked = sorted(totals[c] for c in continuing)
        gap = ranked[1] - ranked[0] if len(ranked) > 1 else Fraction(0)
        if self.surplus_pending and not surpluses < gap:
            return super().next_step()
        notes = []
        if self.surplus_pending:
            notes.append(
                "Surpluses deferred: together they could not lift the lowest "
                "candidate above the next"
            )
        losers = self.choose_exclusions(continuing, totals, surpluses, vacancies, notes)
        self.exclude(losers, notes)
        return True

    def choose_exclusions(
        self,
        continuing: list[str],
        totals: dict[str, Fraction],
        surpluses: Fraction,
        vacancies: int,
        notes: list[str],
    ) -> list[str]:
        number = len(self.stages) + 1
        eligible = [c for c in continuing if not self.rule.protects(c, self.elected, continuing)]
        if min(totals[c] for c in eligible) > min(totals[c] for c in continuing):
            notes.append(
                f"The lowest woman is not excluded: the women still standing are "
                f"needed for the minimum of {self.rule.min_women}"
            )
        order = sorted(eligible, key=lambda c: totals[c])
        # The most that can go together: their votes and all surpluses below the next.
        best = 0
        running = Fraction(0)
        for k in range(1, len(order)):
            running += totals[order[k - 1]]
            if len(continuing) - k < vacancies:
                break
            if running + surpluses < totals[order[k]]:
                best = k
        if best >= 2:
            return order[:best]
        low = totals[order[0]]
        tied = [c for c in order if totals[c] == low]
        return [self.tb.pick(number, tied, "exclusion", self.history, lowest=True, forward=True)]


def count_stv_ers97(prep: Prepared, seats: int, min_women: int, tb: TieBreaker) -> Result:
    return Ers97Count(prep, seats, min_women, tb).run()
