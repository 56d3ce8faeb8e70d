"""Contests run through the real services, one per counting method."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import User
from elections.models import Contest, Method
from tests.results.helpers import run_contest

A, B, C, D = "Ann Archer", "Ben Baker", "Cat Carter", "Dev Dhillon"

# method id -> (method, candidates, rounds of papers, rules). Chosen so that no
# tie is decided by lot: a recount from the BLT file must elect the same people.
SCENARIOS: dict[str, tuple[str, tuple[str, ...], list[list[list[str]]], dict[str, Any]]] = {
    "plurality": (
        Method.PLURALITY,
        (A, B, C),
        [[[A], [B], [B], [B], [C], []]],
        {},
    ),
    "block": (
        Method.PLURALITY,
        (A, B, C, D),
        [[[A, B], [A, C], [A, B], [B, D], [C], []]],
        {"seats": 2},
    ),
    "av": (
        Method.AV,
        (A, B, C),
        [[[A, B], [A, B], [A, B], [B, A], [B, A], [B], [C, B], []]],
        {},
    ),
    "stv": (
        Method.STV,
        (A, B, C, D),
        [[[A, B]] * 4 + [[B]] * 2 + [[C, B]] * 2 + [[D, C]] + [[]]],
        {"seats": 2},
    ),
    "exhaustive": (
        Method.EXHAUSTIVE,
        (A, B, C),
        [
            [[A], [A], [B], [B], [C]],
            [[A], [A], [B], [B], [A]],
        ],
        {},
    ),
    "yes_no": (
        Method.YES_NO,
        (A,),
        [[["yes"], ["yes"], ["yes"], ["no"], []]],
        {},
    ),
}


@pytest.fixture
def run(
    make_contest: Callable[..., Contest], make_members: Callable[[int], list[User]], sam: User
) -> Callable[..., Contest]:
    def build(scenario: str, *, declare: bool = True, **extra: Any) -> Contest:
        method, names, rounds, rules = SCENARIOS[scenario]
        return run_contest(
            make_contest,
            make_members,
            sam,
            method,
            names,
            rounds,
            declare=declare,
            **{**rules, **extra},
        )

    return build
