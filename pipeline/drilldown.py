""" "Why did it move": from a chart selection to the articles and terms behind a period (issue 5.2).

Pure functions only; the SQL lives in ``pipeline.insights.top_contributors``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from pipeline.coverage import period_end, period_start
from pipeline.index import COMPOSITE


def period_span(start: pd.Timestamp | date, period: str) -> tuple[date, date]:
    """The first and last day of the period beginning at ``start``."""
    first = period_start(start, period)
    return first.date(), period_end(first, period).date()


def _x_values(selection: Mapping[str, Any]) -> list[pd.Timestamp]:
    xs: list[Any] = [p.get("x") for p in selection.get("points") or [] if isinstance(p, Mapping)]
    for box in selection.get("box") or []:
        if isinstance(box, Mapping):
            xs.extend(box.get("x") or [])
    found = []
    for x in xs:
        try:
            found.append(pd.Timestamp(x))
        except (TypeError, ValueError):
            continue
    return [x for x in found if not pd.isna(x)]


def selection_span(selection: Mapping[str, Any] | None, period: str) -> tuple[date, date] | None:
    """The days covered by a Plotly selection (clicked points or a box), snapped to periods."""
    if not selection:
        return None
    xs = _x_values(selection)
    if not xs:
        return None
    first = period_start(min(xs).tz_localize(None) if min(xs).tzinfo else min(xs), period)
    last = period_start(max(xs).tz_localize(None) if max(xs).tzinfo else max(xs), period)
    return first.date(), period_end(last, period).date()


def _explanation(raw: object) -> dict[str, Any]:
    """A stored explanation's JSON object (empty when missing or broken)."""
    if not isinstance(raw, str):
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def parse_explanation(raw: object) -> dict[str, list[tuple[str, float]]]:
    """The ``up``/``down`` term lists of a stored explanation (empty when missing or broken)."""
    data = _explanation(raw)
    return {side: _pairs(data.get(side)) for side in ("up", "down")}


def top_sentence(raw: object) -> str:
    """The sentence that pushed the score hardest, with its push in log-odds ("" if none)."""
    data = _explanation(raw)
    sentence, weight = data.get("sentence"), data.get("sentence_weight")
    if not isinstance(sentence, str) or not sentence.strip():
        return ""
    push = f" ({float(weight):+.2f})" if isinstance(weight, int | float) else ""
    return f"sentence that pushed it most{push}: {' '.join(sentence.split())}"


def _pairs(items: Any) -> list[tuple[str, float]]:
    pairs = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, list | tuple) and len(item) == 2:
            try:
                pairs.append((str(item[0]), float(item[1])))
            except (TypeError, ValueError):
                continue
    return pairs


def top_terms(raw: object, n: int = 5) -> str:
    """A one-line summary of an explanation: the terms that pushed the score up and down."""
    terms = parse_explanation(raw)
    up = ", ".join(t for t, _ in terms["up"][:n]) or "-"
    down = ", ".join(t for t, _ in terms["down"][:n]) or "-"
    return f"up: {up}; down: {down}"


@dataclass(frozen=True, slots=True)
class Baseline:
    """The composite a selection moved from: the last period before it with data."""

    period: date
    composite: float


def previous_composite(frame: pd.DataFrame, first: pd.Timestamp) -> Baseline | None:
    """The unsmoothed composite (the chart's points) of the last period before ``first`` that has
    one; None when no earlier period has data. Same number the selection metric's delta uses."""
    before = frame.loc[: first - pd.Timedelta(days=1), COMPOSITE].dropna()
    if before.empty:
        return None
    return Baseline(pd.Timestamp(before.index[-1]).date(), float(before.iloc[-1]))


def contributions(
    rows: pd.DataFrame, signals: Sequence[str], count: int, baseline: Baseline | None
) -> pd.DataFrame:
    """The table shown under "Why did it move": each article's part in the change, and its terms.

    ``vs_previous`` is the article's composite minus the previous period's; ``contribution`` is
    that divided by ``count``, the selection's articles with a composite
    (``insights.contribution_count``), so the contributions of all of them add up to the change
    of the selection's mean article composite from the baseline: negative pulled it down,
    positive pushed it up, whatever the weights' signs (QA5 #2). Without a baseline both are
    empty (NaN): there is no move to explain, only a level.
    """
    columns = ["id", "title", "source", "event_date", "article_composite"]
    moves = ["vs_previous", "contribution"]
    if rows.empty:
        return pd.DataFrame(columns=[*columns, *moves, *[f"{s}_terms" for s in signals]])
    out = rows[columns].copy()
    composite = pd.to_numeric(rows["article_composite"], errors="coerce").astype(float)
    distance = composite - baseline.composite if baseline else composite * float("nan")
    out["vs_previous"] = distance.round(3)
    out["contribution"] = (distance / count).round(4) if count > 0 else distance * float("nan")
    for signal in signals:
        out[f"{signal}_terms"] = [top_terms(x) for x in rows[f"{signal}_explanation"]]
    return out


def why_caption(baseline: Baseline | None, count: int, periods: int, period: str) -> str:
    """What the "Why did it move" table means for this selection, in one paragraph."""
    if count == 0:
        return "No relevant scored article in the selection."
    if baseline is None:
        return (
            f"No {period} before the selection has data, so there is no move to explain: the "
            f"{count} relevant articles are ranked by their own composite (the level)."
        )
    across = f" across its {periods} {period}s" if periods > 1 else ""
    return (
        f"Why it moved from {baseline.composite:.3f}, the composite of the {period} of "
        f"{baseline.period.isoformat()} (the chart's point, not the smoothed line): each "
        f"article's contribution is (its composite - {baseline.composite:.3f}) / {count}, the "
        f"relevant articles of the selection{across}. Negative pulled the composite down, "
        f"positive pushed it up; over all {count} they add up to the change of the articles' "
        "mean (the delta above when every article has every signal scored). Largest first."
    )


def term_weights(explanations: Iterable[object]) -> dict[str, float]:
    """Sum each term's weight over explanations (up terms positive, down terms negative)."""
    totals: dict[str, float] = defaultdict(float)
    for raw in explanations:
        terms = parse_explanation(raw)
        for term, weight in terms["up"]:
            totals[term] += abs(weight)
        for term, weight in terms["down"]:
            totals[term] -= abs(weight)
    return dict(totals)


def snap_to_options(options: Sequence[str], span: tuple[date, date]) -> tuple[str, str] | None:
    """The first and last option (ISO period starts) inside a span, else the nearest one."""
    if not options:
        return None
    inside = [o for o in options if span[0] <= date.fromisoformat(o) <= span[1]]
    if inside:
        return inside[0], inside[-1]
    nearest = min(options, key=lambda o: abs((date.fromisoformat(o) - span[0]).days))
    return nearest, nearest
