"""The count sheet as text: stage by stage, each candidate's total and change."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from .numbers import decimal_str
from .types import Result


def format_sheet(result: Result, names: Mapping[str, str], title: str = "") -> str:
    p = result.places
    label = {c: names.get(c, c) for s in result.stages for c in s.totals}
    width = max([len(v) for v in label.values()] + [len("Non-transferable")]) + 2

    def num(v: Fraction) -> str:
        return decimal_str(v, p)

    method = str(result.method)
    if result.rules:
        method += f" ({result.rules} rules)"
    lines = [title] if title else []
    lines.append(f"Method: {method}; seats: {result.seats}")
    head = f"Valid poll: {num(result.valid_poll)}; blank: {num(result.blank)}"
    if result.quota is not None:
        head += f"; quota: {num(result.quota)}"
    lines += [head, ""]
    previous: dict[str, Fraction] = {}
    prev_nt = Fraction(0)
    for stage in result.stages:
        lines.append(f"Stage {stage.number}: {stage.action}")
        for c, v in stage.totals.items():
            change = ""
            if previous and v != previous.get(c, Fraction(0)):
                delta = v - previous.get(c, Fraction(0))
                change = f"  ({'+' if delta > 0 else ''}{num(delta)})"
            mark = " *elected*" if c in stage.elected else ""
            mark += " *excluded*" if c in stage.excluded else ""
            lines.append(f"  {label[c]:<{width}}{num(v):>14}{change}{mark}")
        nt = stage.non_transferable
        change = f"  (+{num(nt - prev_nt)})" if previous and nt != prev_nt else ""
        lines.append(f"  {'Non-transferable':<{width}}{num(nt):>14}{change}")
        lines += [f"  Note: {n}" for n in stage.notes]
        lines.append("")
        previous, prev_nt = stage.totals, nt
    lines.append("Elected: " + (", ".join(names.get(c, c) for c in result.elected) or "none"))
    for t in result.ties:
        how = t.decided_by
        if t.draw:
            how += (
                f" (seed {t.draw['seed']!r}, draw {t.draw['draw']}, order drawn: "
                f"{', '.join(names.get(c, c) for c in t.draw['order'])})"
            )
        lines.append(
            f"Tie at stage {t.stage} for {t.purpose} between "
            f"{', '.join(names.get(c, c) for c in t.candidates)}: "
            f"{names.get(t.chosen, t.chosen)} chosen by {how}"
        )
    return "\n".join(lines) + "\n"
