"""Exact arithmetic helpers: truncation as the rules prescribe, and display as decimals."""

from __future__ import annotations

from fractions import Fraction


def truncate(value: Fraction, places: int) -> Fraction:
    """Cut ``value`` (>= 0) to ``places`` decimals, ignoring the remainder (never rounds up)."""
    scale = 10**places
    return Fraction((value.numerator * scale) // value.denominator, scale)


def decimal_str(value: Fraction | int, places: int) -> str:
    """``value`` with exactly ``places`` decimals; rounded half up only if it is not exact."""
    value = Fraction(value)
    scale = 10**places
    scaled = value * scale
    units = scaled.numerator if scaled.denominator == 1 else _round_half_up(scaled)
    sign = "-" if units < 0 else ""
    units = abs(units)
    if places == 0:
        return f"{sign}{units}"
    whole, frac = divmod(units, scale)
    return f"{sign}{whole}.{frac:0{places}d}"


def _round_half_up(value: Fraction) -> int:
    # Halves away from zero, as published results round.
    n, d = abs(value.numerator), value.denominator
    q, r = divmod(n, d)
    if 2 * r >= d:
        q += 1
    return q if value >= 0 else -q


def places_needed(values: list[Fraction], limit: int = 5) -> int:
    """The fewest decimals (up to ``limit``) that show every value exactly."""
    for places in range(limit + 1):
        scale = 10**places
        if all((v * scale).denominator == 1 for v in values):
            return places
    return limit
