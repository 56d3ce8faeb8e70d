"""The command line: python -m elections.counting FILE.blt ..."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from elections.counting.cli import main

ROOT = Path(__file__).resolve().parents[2]

BLT = """\
4 2
6 1 2 0
3 1 3 0
1 1 0
2 2 0
4 3 0
4 4 3 0
0
"Ann"
"Bob"
"Cat"
"Dan"
"Test ward"
"""


@pytest.fixture
def blt(tmp_path: Path) -> Path:
    path = tmp_path / "ward.blt"
    path.write_text(BLT)
    return path


def run_json(capsys, *args: str) -> dict:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_shape(blt: Path, capsys) -> None:
    out = run_json(capsys, str(blt), "--method", "stv")
    assert out["elected"] == ["Ann", "Cat"]
    assert out["quota"] == "7.00000"
    assert [s["action"] for s in out["stages"]] == [
        "First count; Ann elected",
        "Surplus of Ann transferred",
        "Bob excluded",
        "Dan excluded; Cat elected",
    ]
    stage = out["stages"][1]
    assert stage["totals"] == {
        "Ann": "7.00000",
        "Bob": "3.80000",
        "Cat": "4.90000",
        "Dan": "4.00000",
    }
    assert stage["non_transferable"] == "0.30000"
    assert set(stage) >= {"totals", "non_transferable", "action"}


def test_module_entry_point(blt: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "elections.counting", str(blt), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert json.loads(proc.stdout)["elected"] == ["Ann", "Cat"]


def test_readable_sheet(blt: Path, capsys) -> None:
    assert main([str(blt)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Test ward\nMethod: stv (scottish rules); seats: 2\n")
    assert "quota: 7.00000" in out
    assert "Stage 2: Surplus of Ann transferred" in out
    assert "  Bob" in out and "3.80000  (+1.80000)" in out
    assert "Non-transferable" in out
    assert "Elected: Ann, Cat" in out


@pytest.mark.parametrize(
    ("method", "elected"),
    [
        ("plurality", ["Ann", "Dan"]),
        ("block", ["Cat", "Ann"]),
        ("av", ["Ann"]),
        ("exhaustive", []),
        ("stv", ["Ann", "Cat"]),
    ],
)
def test_every_method(blt: Path, capsys, method: str, elected: list[str]) -> None:
    out = run_json(capsys, str(blt), "--method", method, "--seed", "4")
    assert out["method"] == method
    if method == "plurality":
        # First preferences: Ann 10, Bob 2, Cat 4, Dan 4: Cat and Dan tie for seat two.
        assert out["elected"][0] == "Ann" and out["ties"][0]["decided_by"] == "lot"
        assert out["ties"][0]["draw"]["seed"] == 4
    else:
        assert out["elected"] == elected


def test_yes_no(tmp_path: Path, capsys) -> None:
    path = tmp_path / "motion.blt"
    path.write_text('2 1\n5 1 0\n3 2 0\n1 0\n0\n"Motion"\n"Against"\n"Vote"\n')
    out = run_json(capsys, str(path), "--method", "yes_no")
    assert out["elected"] == ["Motion"]
    assert out["stages"][0]["totals"] == {"Motion": "5", "Against": "3"}
    assert out["blank"] == "1"


def test_ers97_rules(blt: Path, capsys) -> None:
    out = run_json(capsys, str(blt), "--rules", "ers97")
    assert out["rules"] == "ers97" and len(out["elected"]) == 2


def test_min_women(blt: Path, tmp_path: Path, capsys) -> None:
    genders = tmp_path / "genders.csv"
    genders.write_text("# candidate,gender\n1,male\nBob,female\n3,m\n4,M\n")
    out = run_json(capsys, str(blt), "--min-women", "1", "--gender", str(genders))
    assert "Bob" in out["elected"]
    assert any("Minimum of 1 women" in n for s in out["stages"] for n in s["notes"])
    genders_json = tmp_path / "genders.json"
    genders_json.write_text('{"Bob": "woman"}')
    assert (
        "Bob"
        in run_json(capsys, str(blt), "--min-women", "1", "--gender", str(genders_json))["elected"]
    )


def test_errors(blt: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.blt"
    bad.write_text("2 1\n1 1=2 0\n0\nA\nB\n")
    assert main([str(bad)]) == 2
    assert "line 2: equal rankings" in capsys.readouterr().err
    assert main([str(blt), "--min-women", "1"]) == 2
    assert "--gender" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.blt")]) == 2
    genders = tmp_path / "g.csv"
    genders.write_text("Zed,female\n")
    assert main([str(blt), "--min-women", "1", "--gender", str(genders)]) == 2
    assert "unknown candidate" in capsys.readouterr().err
