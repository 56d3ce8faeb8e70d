"""Command line: count a BLT file by any method and print the count sheet or JSON.

BLT files hold rankings; for the single-choice methods the rankings are cut down:
plurality and exhaustive take the first preference, block vote the first ``seats``.
For yes/no the file holds one candidate, and optionally a second named "Against" (or
"No") whose votes count against.  ``--gender FILE`` gives genders for ``--min-women``:
either a JSON object or lines ``candidate,gender``, where candidate is the number in the
BLT file or the exact name.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .blt import BltData, BltError, read_blt
from .dispatch import RULES, count
from .sheet import format_sheet
from .types import AGAINST, Ballot, Candidate, CountError, Method

AGAINST_NAMES = {"against", "no"}


def read_genders(path: Path, candidates: Sequence[Candidate]) -> list[Candidate]:
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        given = {str(k): str(v) for k, v in json.loads(text).items()}
    else:
        given = {}
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if "," not in line:
                raise CountError(f"{path}, line {n}: expected 'candidate,gender'")
            key, gender = line.rsplit(",", 1)
            given[key.strip()] = gender.strip()
    by_key = {c.id: c for c in candidates} | {c.name: c for c in candidates}
    unknown = [k for k in given if k not in by_key]
    if unknown:
        raise CountError(f"{path}: unknown candidate(s) {', '.join(unknown)}")
    genders = {by_key[k].id: g for k, g in given.items()}
    return [replace(c, gender=genders.get(c.id, c.gender)) for c in candidates]


def adapt(data: BltData, method: Method, seats: int) -> tuple[list[Candidate], list[Ballot]]:
    """Fit the file's rankings to the method's ballot shape."""
    candidates, ballots = list(data.candidates), data.ballots
    if method in (Method.PLURALITY, Method.EXHAUSTIVE):
        ballots = [Ballot(b.ranking[:1], b.weight) for b in ballots]
    elif method is Method.BLOCK:
        ballots = [Ballot(b.ranking[:seats], b.weight) for b in ballots]
    elif method is Method.YES_NO:
        against = {c.id for c in candidates if c.name.strip().lower() in AGAINST_NAMES}
        candidates = [c for c in candidates if c.id not in against]
        ballots = [
            Ballot(tuple(AGAINST if x in against else x for x in b.ranking[:1]), b.weight)
            for b in ballots
        ]
    return candidates, ballots


def parse_seed(text: str | None) -> int | str | None:
    if text is None:
        return None
    return int(text) if text.lstrip("-").isdigit() else text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m elections.counting", description="Count the ballots of a BLT file."
    )
    p.add_argument("file", type=Path, help="ballots in BLT format")
    p.add_argument("--method", default="stv", choices=[m.value for m in Method])
    p.add_argument("--rules", default="scottish", choices=RULES, help="STV rules")
    p.add_argument("--seats", type=int, help="seats to fill (default: as in the file)")
    p.add_argument("--min-women", type=int, default=0, help="minimum number of women elected")
    p.add_argument("--gender", type=Path, help="candidates' genders (for --min-women)")
    p.add_argument("--seed", help="seed for ties decided by lot (int or text)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        data = read_blt(args.file)
        method = Method(args.method)
        seats = args.seats or data.seats
        if method in (Method.AV, Method.EXHAUSTIVE, Method.YES_NO):
            seats = 1
        candidates = data.candidates
        if args.gender:
            candidates = read_genders(args.gender, candidates)
        elif args.min_women:
            raise CountError("--min-women needs --gender FILE to say who is a woman")
        data = BltData(candidates, data.ballots, data.seats, data.title)
        candidates, ballots = adapt(data, method, seats)
        result = count(
            method,
            candidates,
            ballots,
            seats=seats,
            rules=args.rules,
            min_women=args.min_women,
            seed=parse_seed(args.seed),
        )
    except (BltError, CountError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    names = {c.id: c.name for c in data.candidates} | {AGAINST: "Against"}
    if args.json:
        print(json.dumps(result.to_dict(names), indent=1, ensure_ascii=False))
    else:
        print(format_sheet(result, names, data.title), end="")
    return 0
