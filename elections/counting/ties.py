"""Breaking ties: by looking back at earlier stages, then by a seeded, recorded lot.

Every lot is drawn from one ``random.Random(seed)`` per count, over the tied candidates'
ids *sorted*, so the same seed and the same input always give the same draws whatever the
order of the ballots; each draw is recorded (seed, draw number, pool, order drawn) so that
anyone can replay it.  When no seed is given, one is drawn from the system's entropy and
recorded in the result, which makes even that count replayable.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping, Sequence
from fractions import Fraction

from .types import Tie

History = Sequence[Mapping[str, Fraction]]


class TieBreaker:
    def __init__(self, seed: int | str | None = None) -> None:
        self.seed = seed
        self._rng: random.Random | None = None
        self.draws = 0
        self.ties: list[Tie] = []

    def _random(self) -> random.Random:
        if self._rng is None:
            if self.seed is None:
                self.seed = secrets.randbits(32)
            self._rng = random.Random(self.seed)
        return self._rng

    def lot(
        self,
        stage: int,
        tied: Sequence[str],
        purpose: str,
        original: Sequence[str] | None = None,
        by: str = "lot",
    ) -> str:
        """Draw one of ``tied``; ``original`` is the whole tie when a lookback narrowed it."""
        pool = sorted(tied)
        self.draws += 1
        order = self._random().sample(pool, len(pool))
        self.ties.append(
            Tie(
                stage=stage,
                candidates=sorted(original if original is not None else tied),
                purpose=purpose,
                decided_by=by,
                chosen=order[0],
                draw={"seed": self.seed, "draw": self.draws, "pool": pool, "order": order},
            )
        )
        return order[0]

    def pick(
        self,
        stage: int,
        tied: Sequence[str],
        purpose: str,
        history: History,
        *,
        lowest: bool,
        settled: Sequence[str] = (),
        forward: bool = False,
    ) -> str:
        """One of ``tied`` (equal now): the lowest (or highest) at the most recent stage in
        ``history`` at which they differed, looking further back among any still equal;
        by lot if they were equal at every stage.  ``settled`` is an order already drawn by
        lot for these candidates (the order of election), reused rather than drawn again.
        ``forward`` looks at the earliest stage at which they differed instead (ERS97)."""
        if len(tied) == 1:
            return tied[0]
        remaining = list(tied)
        for totals in history if forward else reversed(history):
            values = {c: totals.get(c, Fraction(0)) for c in remaining}
            target = min(values.values()) if lowest else max(values.values())
            narrowed = [c for c in remaining if values[c] == target]
            if len(narrowed) < len(remaining):
                remaining = narrowed
                if len(remaining) == 1:
                    self.ties.append(
                        Tie(
                            stage=stage,
                            candidates=sorted(tied),
                            purpose=purpose,
                            decided_by="lookback",
                            chosen=remaining[0],
                        )
                    )
                    return remaining[0]
        by = "lookback and lot" if len(remaining) < len(tied) else "lot"
        known = [c for c in settled if c in remaining]
        if len(known) == len(remaining):
            earlier = next(
                (
                    t.draw
                    for t in reversed(self.ties)
                    if t.draw and set(remaining) <= set(t.draw["pool"])
                ),
                None,
            )
            self.ties.append(
                Tie(
                    stage=stage,
                    candidates=sorted(tied),
                    purpose=purpose,
                    decided_by=by,
                    chosen=known[0],
                    draw=earlier,
                )
            )
            return known[0]
        return self.lot(stage, remaining, purpose, original=tied, by=by)

    def order(
        self,
        stage: int,
        candidates: Sequence[str],
        key: Mapping[str, Fraction],
        purpose: str,
        history: History,
        *,
        highest_first: bool = True,
        forward: bool = False,
    ) -> list[str]:
        """``candidates`` sorted by ``key`` (highest first by default), ties broken by
        :meth:`pick`."""
        rest = list(candidates)
        out: list[str] = []
        while rest:
            target = max(key[c] for c in rest) if highest_first else min(key[c] for c in rest)
            tied = [c for c in rest if key[c] == target]
            chosen = self.pick(
                stage, tied, purpose, history, lowest=not highest_first, forward=forward
            )
            out.append(chosen)
            rest.remove(chosen)
        return out
