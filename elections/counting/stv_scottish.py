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

Speed: identical rankings are grouped.  Each candidate holds parcels keyed by the value
the papers carry, each a map from (ranking, position of that candidate) to a number of
papers, since papers with the same ranking, position and value always move together.
"""

from __future__ import annotations

from fractions import Fraction

from .numbers import truncate
from .prepare import Prepared
from .ties import TieBreaker
from .types import Method, Result, Stage, StageKind
from .women import WomenRule

Key = tuple[tuple[int, ...], int]  # ranking as candidate indices, position of the holder
Parcels = dict[Fraction, dict[Key, int | Fraction]]  # value -> (ranking, pos) -> papers

PLACES = 5


class ScottishCount:
    rules = "scottish"
    places = PLACES
    forward = False  # ties: the most recent stage at which the candidates differed

    def __init__(self, prep: Prepared, seats: int, min_women: int, tb: TieBreaker) -> None:
        self.prep = prep
        self.seats = seats
        self.tb = tb
        self.ids = list(prep.standing)
        self.index = {c: i for i, c in enumerate(self.ids)}
        self.names = {c.id: c.name for c in prep.candidates}
        self.rule = WomenRule(min_women, prep.candidates)
        n = len(self.ids)
        self.alive = [True] * n  # continuing: neither elected nor excluded
        self.totals = [Fraction(0)] * n
        self.piles: list[Parcels] = [{} for _ in range(n)]
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
        return [c for i, c in enumerate(self.ids) if self.alive[i]]

    def snapshot(self) -> dict[str, Fraction]:
        return dict(zip(self.ids, self.totals, strict=True))

    def name_list(self, ids: list[str]) -> str:
        return ", ".join(self.names[c] for c in ids)

    def first_count(self) -> None:
        one = Fraction(1)
        counts = [0] * len(self.ids)
        parcels: list[dict[Key, int | Fraction]] = [{} for _ in self.ids]
        get = self.index.__getitem__
        for ranking, w in self.prep.groups.items():
            r = tuple(map(get, ranking))
            first = r[0]
            counts[first] += w
            parcels[first][r, 0] = w
        for i, p in enumerate(parcels):
            if p:
                self.piles[i][one] = p
            self.totals[i] = Fraction(counts[i])

    def move(self, source: int, value_of) -> tuple[Fraction, Fraction]:
        """Pass every paper ``source`` holds to its next continuing preference, each parcel
        at ``value_of(its value)``; return (value transferred, value non-transferable)."""
        alive = self.alive
        piles = self.piles
        transferred = Fraction(0)
        lost = Fraction(0)
        for value, parcel in piles[source].items():
            new_value = value_of(value)
            moved: dict[int, int | Fraction] = {}
            stuck: int | Fraction = 0
            # Each receiving candidate's parcel at new_value, found once per parcel: looking
            # it up by its Fraction key for every ranking hashed a Fraction each time, which
            # was a third of the time of a count of 130,000 papers.
            dests: dict[int, dict[Key, int | Fraction]] = {}
            for (r, pos), n in parcel.items():
                for j in range(pos + 1, len(r)):
                    t = r[j]
                    if alive[t]:
                        dest = dests.get(t)
                        if dest is None:
                            dest = piles[t].get(new_value)
                            if dest is None:
                                dest = piles[t][new_value] = {}
                            dests[t] = dest
                        key = (r, j)
                        dest[key] = dest.get(key, 0) + n
                        moved[t] = moved.get(t, 0) + n
                        break
                else:
                    stuck += n
            for t, n in moved.items():
                gain = n * new_value
                self.totals[t] += gain
                transferred += gain
            lost += stuck * new_value
        piles[source] = {}
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
            self.alive[self.index[c]] = False
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
                self.alive[self.index[c]] = False
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
            self.alive[self.index[c]] = False
            self.excluded.append(c)
        for c in losers:
            i = self.index[c]
            _, lost = self.move(i, lambda v: v)
            self.non_transferable += lost
            self.totals[i] = Fraction(0)
        self.record(f"{self.name_list(losers)} excluded", StageKind.EXCLUSION, losers, notes)

    def transfer_surplus(self, c: str) -> None:
        i = self.index[c]
        total = self.totals[i]
        surplus = total - self.quota
        transferred, _ = self.move(i, lambda v: truncate(surplus * v / total, PLACES))
        self.non_transferable += surplus - transferred
        self.totals[i] = self.quota
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
