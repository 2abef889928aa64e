"""Which way is better for a metric, and when a candidate's change is a regression.

A metric is lower-is-better when the last part of its dotted name (`loss` in `run.loss`,
`toxicity` in `eval.toxicity`) matches one of the `[metrics] lower_is_better` glob patterns
of the promotion policy; every other number is higher-is-better. A worse change whose size,
relative to the current holder's value, exceeds `regression_percent` is a regression.

    [metrics]
    lower_is_better = ["*loss*", "*latency*", "*toxicity*", "*error*", "*perplexity*", "*cost*"]
    regression_percent = 5          # a worse change of more than 5 % is a regression

Pure functions on plain values, shared by `wbadmin promote show` and the Promotions screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal

Direction = Literal["lower", "higher"]
Change = Literal["better", "worse", "same"]

DEFAULT_LOWER_IS_BETTER = ("*loss*", "*latency*", "*toxicity*", "*error*", "*perplexity*",
                           "*cost*")
DEFAULT_REGRESSION_PERCENT = 5.0


@dataclass(frozen=True)
class MetricRules:
    """The policy's `[metrics]` section (the defaults when the file has none)."""

    lower_is_better: tuple[str, ...] = DEFAULT_LOWER_IS_BETTER
    regression_percent: float = DEFAULT_REGRESSION_PERCENT

    def direction(self, key: str) -> Direction:
        name = key.rsplit(".", 1)[-1].lower()
        lower = any(fnmatchcase(name, pattern.lower()) for pattern in self.lower_is_better)
        return "lower" if lower else "higher"

    def compare(self, key: str, candidate: Any, current: Any) -> MetricChange | None:
        """How `candidate` compares with the current holder's value; None when the two are
        not both numbers (text, missing, booleans, NaN) and so have no better or worse."""
        if not (_number(candidate) and _number(current)):
            return None
        direction = self.direction(key)
        if candidate == current:
            return MetricChange(direction, "same", 0.0, False)
        improved = candidate < current if direction == "lower" else candidate > current
        # Relative to the current value; from 0 any move is unboundedly large.
        relative = (candidate - current) / abs(current) if current else None
        worse = not improved
        size = math.inf if relative is None else abs(relative)
        regression = worse and size * 100 > self.regression_percent
        return MetricChange(direction, "worse" if worse else "better", relative, regression)


@dataclass(frozen=True)
class MetricChange:
    direction: Direction
    change: Change
    relative: float | None      # (candidate - current) / |current|; None when current is 0
    regression: bool



def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and not (isinstance(value, float) and math.isnan(value))


def annotate(rows: list[dict[str, Any]], rules: MetricRules) -> list[dict[str, Any]]:
    """Diff rows `{key, candidate, current, ...}` with `direction`, `change`, `relative` and
    `regression` added (None / None / None / False where the row is not a pair of numbers)."""
    out = []
    for row in rows:
        found = rules.compare(row["key"], row["candidate"], row["current"])
        out.append({**row,
                    "direction": found.direction if found else None,
                    "change": found.change if found else None,
                    "relative": found.relative if found else None,
                    "regression": bool(found and found.regression)})
    return out


def percent_text(relative: float | None) -> str:
    """`+12.3%`, `-4.0%`, `+1259%`; `from 0` when the current value was 0."""
    if relative is None:
        return "from 0"
    pct = relative * 100
    return f"{pct:+.0f}%" if abs(pct) >= 100 else f"{pct:+.1f}%"


def verdict(row: dict[str, Any]) -> str:
    """An annotated row's change in words: `better +2.1%`, `worse -3.0%`, `REGRESSION +1259%`,
    `same`; empty when the row is not a pair of numbers."""
    if row.get("change") is None:
        return ""
    if row["change"] == "same":
        return "same"
    word = "REGRESSION" if row["regression"] else row["change"]
    return f"{word} {percent_text(row['relative'])}"


def regressions(rows: list[dict[str, Any]]) -> list[str]:
    """The keys of annotated rows that regress."""
    return [row["key"] for row in rows if row.get("regression")]
