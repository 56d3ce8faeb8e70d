"""Yes/no (for/against/abstain) on a single candidate or a motion.

There must be exactly one standing candidate, C (for a motion, a ``Candidate`` standing for
the motion).  A ballot ``(C,)`` or ``(FOR,)`` is "yes/for", ``(AGAINST,)`` is "no/against",
and ``()`` or ``(ABSTAIN,)`` abstains; abstentions are reported as ``blank`` and are not part
of the valid poll.  C is elected (the motion carried) only when "for" exceeds "against": an
equal vote does not elect, as a tied motion falls.  Totals are reported under C's id and
``AGAINST``.
"""

from __future__ import annotations

from fractions import Fraction

from .prepare import Prepared, display_places
from .types import AGAINST, FOR, CountError, Method, Result, Stage, StageKind

ABSTAIN = "abstain"


def count_yes_no(prep: Prepared, seats: int) -> Result:
    if len(prep.standing) != 1:
        raise CountError(
            f"yes/no needs exactly one standing candidate or motion, not {len(prep.standing)}"
        )
    (cid,) = prep.standing
    yes = no = Fraction(0)
    blank = Fraction(prep.blank)
    for ranking, w in prep.groups.items():
        if len(ranking) != 1:
            raise CountError(f"a yes/no ballot must hold one answer, not {ranking!r}")
        answer = ranking[0]
        if answer in (cid, FOR):
            yes += w
        elif answer == AGAINST:
            no += w
        else:  # ABSTAIN
            blank += w
    name = next(c.name for c in prep.candidates if c.id == cid)
    elected = [cid] if yes > no else []
    action = f"First count; {name} {'elected' if elected else 'not elected'}"
    notes = [] if yes != no else ["For and against are equal: a tie does not elect"]
    stage = Stage(
        1,
        action,
        StageKind.FIRST,
        {cid: yes, AGAINST: no},
        Fraction(0),
        elected=list(elected),
        notes=notes,
    )
    return Result(
        method=Method.YES_NO,
        seats=seats,
        elected=elected,
        excluded=[],
        quota=None,
        valid_poll=yes + no,
        blank=blank,
        stages=[stage],
        places=display_places([*prep.groups.values(), prep.blank]),
    )


YES_NO_EXTRA_IDS = (FOR, AGAINST, ABSTAIN)
