"""Scottish STV against the official results of 2017 council ward elections."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from elections.counting import Method, count, read_blt

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "scottish-stv-2017"
CASES = (
    sorted(p.name for p in DATA.iterdir() if (p / "expected.json").exists())
    if DATA.is_dir()
    else []
)


def rounded(value: Fraction | str, precision: int) -> Decimal:
    q = Decimal(1).scaleb(-precision)
    if isinstance(value, Fraction):
        # Exact at 5 places under these rules; quantize from the exact decimal.
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(value).quantize(q, ROUND_HALF_UP)


@pytest.mark.skipif(not CASES, reason=f"official Scottish data not found at {DATA}")
@pytest.mark.parametrize("case", CASES or ["none"])
def test_official_result(case: str) -> None:
    folder = DATA / case
    expected = json.loads((folder / "expected.json").read_text())
    data = read_blt(folder / "ballots.blt")
    names = data.names
    assert [c.name for c in data.candidates] == expected["candidates"]
    result = count(Method.STV, data.candidates, data.ballots, seats=expected["seats"])
    assert result.valid_poll == expected["valid_poll"]
    assert result.quota == expected["quota"]
    assert [names[c] for c in result.elected] == expected["elected"]
    assert len(result.stages) == len(expected["stages"])
    precision = expected["precision"]
    for stage, published in zip(result.stages, expected["stages"], strict=True):
        ours = [rounded(stage.totals[c.id], precision) for c in data.candidates]
        theirs = [rounded(s, precision) for s in published]
        assert ours == theirs, f"stage {stage.number} ({stage.action})"
        assert sum(stage.totals.values()) + stage.non_transferable == result.valid_poll
