"""STV under the Scottish local government rules.

The Scottish Local Government Elections Order 2007 (SSI 2007/42), schedule 1, rules 45-52
(kept unchanged by the 2011 Order):

- quota = floor(valid poll / (seats + 1)) + 1, fixed at the start;
- a candidate reaching the quota is elected; several at one stage in order of their totals;
- the largest surplus is transferred first, one per stage: *every* paper the elected
  candidate holds passes to its next continuing preference at
  surplus x (its value when received) / (candidate's total), cut to five decimals;
  the candidate keeps the quota and what is cut off or has no further preference is
  non-transferable;
- with no surplus left, the continuing candidate with the fewest votes is excluded and all
  their papers pass on at the value they carry, in one stage;
- equal surpluses, equal lowest, equal totals on election: the most recent earlier stage at
  which the candidates differed decides, then lot;
- once the continuing candidates are no more than the seats left, they are elected (no
  further stage); the count also ends when every seat is filled.

Speed: identical rankings are grouped, and a group never splits: every paper a candidate
holds moves at once, at one value.  Each candidate holds parcels keyed by the value the
papers carry, each a list of (ranking, position of that candidate in it, number of papers),
the rankings kept as the candidates' ids.
"""

from __future__ import annotations

from fractions import Fraction
from operator import itemgetter

from .numbers import truncate
from .prepare import Prepared
from .ties import TieBreaker
from .types import Method, Result, Stage, StageKind
from .women import WomenRule

Paper = tuple[tuple[str, ...], int, int | Fraction]  # ranking, position of the holder, papers
Parcels = dict[Fraction, list[Paper]]  # value of each paper -> the papers at that value

PLACES = 5
papers_in = itemgetter(2)


class ScottishCount:
    rules = "scottish"
    places = PLACES
    forward = False  # ties: the most recent stage at which the candidates differed

    def __init__(self, prep: Prepared, seats: int, min_women: int, tb: TieBreaker) -> None:
        self.prep = prep
        self.seats = seats
        self.tb = tb
        self.ids = list(prep.standing)
        self.names = {c.id: c.name for c in prep.candidates}
        self.rule = WomenRule(min_women, prep.candidates)
        self.alive = dict.fromkeys(self.ids, True)  # continuing: neither elected nor excluded
        self.totals = dict.fromkeys(self.ids, Fraction(0))
        self.piles: dict[str, Parcels] = {c: {} for c in self.ids}
        self.non_transferable = Fraction(0)
        self.valid = prep.valid_poll
        self.quota = Fraction(int(self.valid // (seats + 1)) + 1)
        self.elected: list[str] = []
        self.excluded: list[str] = []
        self.surplus_pending: list[str] = []
        self.stages: list[Stage] = []
        self.history: list[dict[str, Fraction]] = []

    # -- helpers -------------------------------------------------------------------------

    def continuing(self) -> list[str]:
        return [c for c in self.ids if self.alive[c]]

    def snapshot(self) -> dict[str, Fraction]:
        return dict(self.totals)

    def name_list(self, ids: list[str]) -> str:
        return ", ".join(self.names[c] for c in ids)

    def first_count(self) -> None:
        # Papers and sums in plain ints (Fractions only for fractional weights), made
        # into Fraction totals once per candidate.
        papers: dict[str, list[Paper]] = {c: [] for c in self.ids}
        for ranking, w in self.prep.groups.items():
            papers[ranking[0]].append((ranking, 0, w))
        for c, held in papers.items():
            if held:
                self.piles[c][Fraction(1)] = held
            self.totals[c] = Fraction(sum(map(papers_in, held)))

    def move(self, source: str, value_of) -> tuple[Fraction, Fraction]:
        """Pass every paper ``source`` holds to its next continuing preference, each parcel
        at ``value_of(its value)``; return (value transferred, value non-transferable)."""
        alive = self.alive
        transferred = Fraction(0)
        lost = Fraction(0)
        for value, parcel in self.piles[source].items():
            new_value = value_of(value)
            arriving: dict[str, list[Paper]] = {c: [] for c in self.continuing()}
            stuck: int | Fraction = 0
            for r, pos, n in parcel:
                for j in range(pos + 1, len(r)):
                    t = r[j]
                    if alive[t]:
                        arriving[t].append((r, j, n))
                        break
                else:
                    stuck += n
            for t, papers in arriving.items():
                if papers:
                    gain = sum(map(papers_in, papers)) * new_value
                    self.totals[t] += gain
                    transferred += gain
                    self.piles[t].setdefault(new_value, []).extend(papers)
            lost += stuck * new_value
        self.piles[source] = {}
        return transferred, lost

    # -- the count -----------------------------------------------------------------------

    def elect_reaching_quota(self, stage: int) -> tuple[list[str], list[str]]:
        totals = self.snapshot()
        reached = [c for c in self.continuing() if totals[c] >= self.quota]
        ordered = self.tb.order(
            stage, reached, totals, "election order", self.history, forward=self.forward
        )
        done: list[str] = []
        notes: list[str] = []
        for c in ordered:
            vacancies = self.seats - len(self.elected)
            if vacancies == 0:
                break
            if not self.rule.may_elect(c, self.elected, self.continuing(), vacancies):
                notes.append(
                    f"{self.names[c]} reached the quota but the seats left are "
                    f"needed for women (minimum {self.rule.min_women})"
                )
                continue
            self.alive[c] = False
            self.elected.append(c)
            done.append(c)
            if totals[c] > self.quota:
                self.surplus_pending.append(c)
        return done, notes

    def record(self, action: str, kind: StageKind, excluded: list[str], notes: list[str]) -> None:
        number = len(self.stages) + 1
        self.history.append(self.snapshot())
        elected, more_notes = self.elect_reaching_quota(number)
        notes = notes + more_notes
        vacancies = self.seats - len(self.elected)
        continuing = self.continuing()
        if vacancies > 0 and 0 < len(continuing) <= vacancies:
            # Rule 52: the last vacancies are filled without further transfers.
            deemed = self.tb.order(
                number,
                continuing,
                self.snapshot(),
                "election order",
                self.history,
                forward=self.forward,
            )
            for c in deemed:
                self.alive[c] = False
                self.elected.append(c)
            elected += deemed
            notes.append(
                f"{self.name_list(deemed)} deemed elected: the continuing "
                "candidates are no more than the seats left"
            )
        if elected:
            action += f"; {self.name_list(elected)} elected"
        self.stages.append(
            Stage(
                number,
                action,
                kind,
                self.history[-1],
                self.non_transferable,
                elected=elected,
                excluded=excluded,
                notes=notes,
            )
        )

    def exclude(self, losers: list[str], notes: list[str]) -> None:
        for c in losers:
            self.alive[c] = False
            self.excluded.append(c)
        for c in losers:
            _, lost = self.move(c, lambda v: v)
            self.non_transferable += lost
            self.totals[c] = Fraction(0)
        self.record(f"{self.name_list(losers)} excluded", StageKind.EXCLUSION, losers, notes)

    def transfer_surplus(self, c: str) -> None:
        total = self.totals[c]
        surplus = total - self.quota
        transferred, _ = self.move(c, lambda v: truncate(surplus * v / total, PLACES))
        self.non_transferable += surplus - transferred
        self.totals[c] = self.quota
        self.record(f"Surplus of {self.names[c]} transferred", StageKind.SURPLUS, [], [])

    def next_step(self) -> bool:
        """Do one stage; False once the count is over."""
        vacancies = self.seats - len(self.elected)
        continuing = self.continuing()
        if vacancies <= 0 or not continuing:
            return False
        number = len(self.stages) + 1
        others = self.rule.others_to_exclude(self.elected, continuing, vacancies)
        if others:
            self.exclude(others, [self.rule.note([self.names[c] for c in others], vacancies)])
            return True
        if self.surplus_pending:
            totals = self.snapshot()
            surplus = {c: totals[c] - self.quota for c in self.surplus_pending}
            largest = max(surplus.values())
            tied = [c for c in self.surplus_pending if surplus[c] == largest]
            # Equal surpluses never differed since their election, so the order of election
            # (and any lot drawn for it) decides, as a look-back would.
            chosen = self.tb.pick(
                number,
                tied,
                "surplus order",
                self.history,
                lowest=False,
                settled=self.elected,
                forward=self.forward,
            )
            self.surplus_pending.remove(chosen)
            self.transfer_surplus(chosen)
            return True
        totals = self.snapshot()
        notes: list[str] = []
        eligible = [c for c in continuing if not self.rule.protects(c, self.elected, continuing)]
        low = min(totals[c] for c in eligible)
        if low > min(totals[c] for c in continuing):
            notes.append(
                f"The lowest woman is not excluded: the women still standing are "
                f"needed for the minimum of {self.rule.min_women}"
            )
        tied = [c for c in eligible if totals[c] == low]
        loser = self.tb.pick(
            number, tied, "exclusion", self.history, lowest=True, forward=self.forward
        )
        self.exclude([loser], notes)
        return True

    def run(self) -> Result:
        self.first_count()
        self.record("First count", StageKind.FIRST, [], [])
        while self.next_step():
            pass
        return Result(
            method=Method.STV,
            seats=self.seats,
            elected=self.elected,
            excluded=self.excluded,
            quota=self.quota,
            valid_poll=self.valid,
            blank=Fraction(self.prep.blank),
            stages=self.stages,
            ties=self.tb.ties,
            rules=self.rules,
            seed=self.tb.seed,
            places=self.places,
        )


def count_stv_scottish(prep: Prepared, seats: int, min_women: int, tb: TieBreaker) -> Result:
    return ScottishCount(prep, seats, min_women, tb).run()
