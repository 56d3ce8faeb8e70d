"""Reading and writing ballots in BLT format.

    4 2              <- candidates, seats
    -3               <- optional: withdrawn candidates, as negative numbers
    12 1 2 4 0       <- weight, preferences by candidate number (1-based), 0 ends the line
    3 0              <- a blank paper (no preference)
    0                <- end of ballots
    "Ann Smith"      <- one name per candidate, in number order; quotes optional
    ...
    "Title"          <- optional

Weights may be whole numbers or decimals (card votes).  Candidate ids are the candidate
numbers as strings ("1", "2", ...).  Equal rankings (``1=2``) and skipped preferences
(``-``) are refused: the rules counted here give every paper one preference per rank.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import TextIO

from .numbers import places_needed
from .types import Ballot, Candidate


class BltError(ValueError):
    """A malformed BLT file; ``line`` is the 1-based line number at fault."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        self.reason = message
        super().__init__(f"line {line}: {message}" if line is not None else message)


@dataclass
class BltData:
    candidates: list[Candidate]
    ballots: list[Ballot]
    seats: int
    title: str = ""
    names: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.names = {c.id: c.name for c in self.candidates}


def read_blt(source: str | os.PathLike[str] | TextIO) -> BltData:
    """Read a BLT file from a path or an open text stream."""
    if isinstance(source, str | os.PathLike):
        return parse_blt(Path(source).read_text(encoding="utf-8-sig"))
    return parse_blt(source.read())


def _weight(token: str, line: int) -> int | Fraction:
    if token.isdigit():
        return int(token)
    try:
        value = Decimal(token)
    except InvalidOperation:
        raise BltError(f"ballot weight {token!r} is not a number", line) from None
    if not value.is_finite() or value < 0:
        raise BltError(f"ballot weight {token!r} must be a number >= 0", line)
    return Fraction(value)


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def parse_blt(text: str) -> BltData:
    lines = [(i, raw.strip()) for i, raw in enumerate(text.splitlines(), start=1)]
    lines = [(i, s) for i, s in lines if s and not s.startswith("#")]
    if not lines:
        raise BltError("the file is empty", 1)
    pos = 0
    n, header = lines[pos]
    parts = header.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise BltError(f"the first line must be 'candidates seats', found {header!r}", n)
    ncand, seats = int(parts[0]), int(parts[1])
    if ncand < 1 or seats < 1:
        raise BltError("there must be at least one candidate and one seat", n)
    pos += 1

    withdrawn: set[int] = set()
    if pos < len(lines) and lines[pos][1].startswith("-"):
        n, s = lines[pos]
        for tok in s.split():
            if not (tok.startswith("-") and tok[1:].isdigit()):
                raise BltError(f"withdrawn candidates must be negative numbers, found {tok!r}", n)
            num = int(tok[1:])
            if not 1 <= num <= ncand:
                raise BltError(f"withdrawn candidate {num} is not between 1 and {ncand}", n)
            withdrawn.add(num)
        pos += 1

    raw_ballots: list[tuple[int | Fraction, tuple[int, ...]]] = []
    while True:
        if pos >= len(lines):
            raise BltError("the ballots do not end with a line '0'", lines[-1][0])
        n, s = lines[pos]
        pos += 1
        if s == "0":
            break
        tokens = s.split()
        if tokens[0].startswith("("):
            raise BltError("ballot ids in parentheses are not supported", n)
        weight = _weight(tokens[0], n)
        if tokens[-1] != "0" or len(tokens) < 2:
            raise BltError("a ballot line must end with 0", n)
        prefs: list[int] = []
        for tok in tokens[1:-1]:
            if "=" in tok:
                raise BltError(
                    f"equal rankings ({tok}) are not supported: each preference "
                    "must name one candidate",
                    n,
                )
            if tok == "-":
                raise BltError("skipped preferences ('-') are not supported", n)
            if not tok.isdigit():
                raise BltError(f"preference {tok!r} is not a candidate number", n)
            num = int(tok)
            if not 1 <= num <= ncand:
                raise BltError(f"candidate {num} is not between 1 and {ncand}", n)
            if num in prefs:
                raise BltError(f"candidate {num} is ranked twice", n)
            prefs.append(num)
        raw_ballots.append((weight, tuple(prefs)))

    names: list[str] = []
    for _ in range(ncand):
        if pos >= len(lines):
            raise BltError(
                f"expected {ncand} candidate names, found {len(names)}", lines[-1][0] + 1
            )
        n, s = lines[pos]
        pos += 1
        names.append(_unquote(s))
    title = ""
    if pos < len(lines):
        title = _unquote(lines[pos][1])
        pos += 1
    if pos < len(lines):
        raise BltError("unexpected text after the title", lines[pos][0])

    candidates = [
        Candidate(str(i), name, withdrawn=i in withdrawn) for i, name in enumerate(names, start=1)
    ]
    ids = [c.id for c in candidates]
    ballots = [Ballot(tuple(ids[p - 1] for p in prefs), w) for w, prefs in raw_ballots]
    return BltData(candidates, ballots, seats, title)


def _format_weight(w: int | Fraction) -> str:
    w = Fraction(w)
    if w.denominator == 1:
        return str(w.numerator)
    places = places_needed([w], limit=30)
    if (w * 10**places).denominator != 1:
        raise BltError(f"weight {w} has no exact decimal form")
    return str(Decimal(w.numerator) / Decimal(w.denominator))


def format_blt(
    candidates: Sequence[Candidate], ballots: Sequence[Ballot], seats: int, title: str = ""
) -> str:
    number = {c.id: i for i, c in enumerate(candidates, start=1)}
    out = [f"{len(candidates)} {seats}"]
    withdrawn = [f"-{number[c.id]}" for c in candidates if c.withdrawn]
    if withdrawn:
        out.append(" ".join(withdrawn))
    for b in ballots:
        try:
            prefs = [str(number[c]) for c in b.ranking]
        except KeyError as e:
            raise BltError(f"a ballot names unknown candidate {e.args[0]!r}") from None
        out.append(" ".join([_format_weight(b.weight), *prefs, "0"]))
    out.append("0")
    for text in [*(c.name for c in candidates), title]:
        if '"' in text or "\n" in text:
            raise BltError(f"a name or title may not hold quotes or line breaks: {text!r}")
        out.append(f'"{text}"')
    return "\n".join(out) + "\n"


def write_blt(data: BltData, target: str | os.PathLike[str] | TextIO | None = None) -> str:
    """Write ``data`` as BLT text, to ``target`` (a path or stream) if given; return the text.

    Gender is not part of the BLT format and is not written."""
    text = format_blt(data.candidates, data.ballots, data.seats, data.title)
    if isinstance(target, str | os.PathLike):
        Path(target).write_text(text, encoding="utf-8")
    elif target is not None:
        target.write(text)
    return text
