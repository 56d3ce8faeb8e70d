"""BLT reading and writing."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import pytest

from elections.counting import Ballot, BltData, BltError, Candidate, read_blt, write_blt

SAMPLE = """\
4 2
-3
12 1 2 4 0
3 2 0
1.5 4 3 1 0
2 0
0
"Ann Smith"
Bob Jones (Lab)
"Cy Withdrawn"
"Di Lee"
"Ward 1 - Somewhere"
"""


def test_read_sample() -> None:
    data = read_blt(io.StringIO(SAMPLE))
    assert data.seats == 2
    assert data.title == "Ward 1 - Somewhere"
    assert [c.name for c in data.candidates] == [
        "Ann Smith",
        "Bob Jones (Lab)",
        "Cy Withdrawn",
        "Di Lee",
    ]
    assert [c.withdrawn for c in data.candidates] == [False, False, True, False]
    assert data.ballots == [
        Ballot(("1", "2", "4"), 12),
        Ballot(("2",), 3),
        Ballot(("4", "3", "1"), Fraction(3, 2)),
        Ballot((), 2),
    ]
    assert data.names["4"] == "Di Lee"


def test_round_trip(tmp_path: Path) -> None:
    data = read_blt(io.StringIO(SAMPLE))
    path = tmp_path / "out.blt"
    text = write_blt(data, path)
    assert path.read_text() == text
    again = read_blt(path)
    assert (again.candidates, again.ballots, again.seats, again.title) == (
        data.candidates,
        data.ballots,
        data.seats,
        data.title,
    )
    assert write_blt(again) == text


def test_write_to_stream_and_weights() -> None:
    data = BltData(
        [Candidate("1", "A"), Candidate("2", "B")],
        [Ballot(("2", "1"), Fraction(1, 8)), Ballot(("1",), 7)],
        1,
        "T",
    )
    buf = io.StringIO()
    write_blt(data, buf)
    assert buf.getvalue().splitlines()[1:3] == ["0.125 2 1 0", "7 1 0"]
    assert read_blt(io.StringIO(buf.getvalue())).ballots == data.ballots


def test_write_refuses_what_blt_cannot_hold() -> None:
    with pytest.raises(BltError, match="exact decimal"):
        write_blt(BltData([Candidate("1", "A")], [Ballot(("1",), Fraction(1, 3))], 1))
    with pytest.raises(BltError, match="quotes"):
        write_blt(BltData([Candidate("1", 'A "the" B')], [], 1))


def test_title_is_optional() -> None:
    data = read_blt(io.StringIO("2 1\n1 1 0\n0\nA\nB\n"))
    assert data.title == "" and len(data.candidates) == 2


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "empty"),
        ("two 1\n", 1, "first line must be 'candidates seats'"),
        ("2 1 3\n", 1, "first line"),
        ("2 0\n0\nA\nB\n", 1, "at least one"),
        ("2 1\n-5\n0\nA\nB\n", 2, "withdrawn candidate 5"),
        ("2 1\n-x\n0\nA\nB\n", 2, "withdrawn candidates must be negative"),
        ("2 1\n1 1 0\n1 1=2 0\n0\nA\nB\n", 3, "equal rankings (1=2) are not supported"),
        ("2 1\n1 1 - 2 0\n0\nA\nB\n", 2, "skipped preferences"),
        ("2 1\n1 1 3 0\n0\nA\nB\n", 2, "candidate 3 is not between 1 and 2"),
        ("2 1\n1 1 1 0\n0\nA\nB\n", 2, "ranked twice"),
        ("2 1\n1 1 2\n0\nA\nB\n", 2, "must end with 0"),
        ("2 1\nx 1 2 0\n0\nA\nB\n", 2, "weight 'x' is not a number"),
        ("2 1\n-1 1 0\n", 2, "withdrawn candidates must be negative"),
        ("2 1\n1 a 0\n0\nA\nB\n", 2, "preference 'a'"),
        ("2 1\n(7) 1 1 0\n0\nA\nB\n", 2, "parentheses"),
        ("2 1\n1 1 0\n1 2 0\n", 3, "do not end with a line '0'"),
        ("2 1\n1 1 0\n0\nA\n", 5, "expected 2 candidate names, found 1"),
        ("2 1\n1 1 0\n0\nA\nB\nTitle\nextra\n", 7, "unexpected text after the title"),
        ("2 1\n\n# note\n1 1 0\n1 2 0 \n1 1 2 3 0\n0\nA\nB\n", 6, "candidate 3"),
    ],
)
def test_malformed_files_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(BltError) as info:
        read_blt(io.StringIO(text))
    assert info.value.line == line
    assert str(info.value).startswith(f"line {line}: ")
    assert message in str(info.value)


DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "scottish-stv-2017"


@pytest.mark.skipif(not DATA.is_dir(), reason=f"official Scottish data not found at {DATA}")
def test_real_file_round_trips() -> None:
    path = DATA / "renfrewshire_2017_ward3" / "ballots.blt"
    data = read_blt(path)
    again = read_blt(io.StringIO(write_blt(data)))
    assert again.ballots == data.ballots and again.candidates == data.candidates
    assert again.title == "Ward 3 - Paisley Northeast and Ralston"
