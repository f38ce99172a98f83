"""Read analysts' label corrections from the store as training examples (read-only).

The dashboard stores each correction in ``labels`` (article, signal, old and new value, who,
when, the article's content hash); the latest correction per article and signal wins, unless
the article's text has changed since, when it is left out (and counted). Values are on the
*score* scale the analyst saw (risk and relevance 0..1, tone -1..1) and are mapped here onto the
label scale the corpus uses (risk: ``positive_from`` when >= 0.5, else 0; tone: doubled, then
the nearest level of -2..+2, a half rounding away from zero). Such examples are always training
data: ``Example.is_analyst`` keeps them out of the held-out split.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from pipeline import schema
from pipeline.examples import ANALYST_ORIGIN, RELEVANCE, Example

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SignalScale:
    """How a signal's scores read: its kind and the label level where positives start."""

    kind: str
    positive_from: float


# Corrections come from a box stepped by 0.05 in floating point (0.1 + 0.05 = 0.15000000000000002):
# values are rounded to this many places before they meet a boundary such as 0.5.
_PLACES = 9


def label_value(value: float, scale: SignalScale) -> float:
    """Map a score-scale correction onto the corpus label scale (values beyond it pass as is).

    A tone is doubled onto -2..+2 and taken to its nearest level, as the corpus labels are
    whole levels: a doubled value within 0.5 of zero is neutral (0), a half rounds away from
    zero (0.25 -> +1, 0.75 -> +2). Taking only its sign trained a correction of +0.05 as
    cooperative. A risk is one class or the other of the head, split at 0.5.
    """
    if scale.kind == "tone":
        return _nearest_level(round(value * 2.0, _PLACES)) if -1.0 <= value <= 1.0 else value
    if 0.0 <= value <= 1.0:
        return scale.positive_from if round(value, _PLACES) >= 0.5 else 0.0
    return value


def _nearest_level(value: float) -> float:
    """The nearest whole level, a half rounding away from zero (``round`` would take 0.5 to 0)."""
    level = math.floor(abs(value) + 0.5)
    return float(math.copysign(level, value)) if level else 0.0


def analyst_examples(
    engine: Engine, scales: Mapping[str, SignalScale]
) -> tuple[list[Example], int]:
    """Return one example per labelled article, carrying its latest label for each signal, and
    how many such latest labels were left out because they were made on an earlier text.

    A label records the article's content hash when it was made (revision 0020): once the text
    changes (an edited seed, an updated feed entry, a later copy replacing it), the label no
    longer describes it, and an older label of the same signal is no better. Labels made before
    0020 carry no hash and are used as before.
    """
    lab, art = schema.labels, schema.articles
    query = (
        select(
            lab.c.article_id,
            lab.c.signal,
            lab.c.new_value,
            lab.c.content_hash.label("labelled_hash"),
            art.c.content_hash,
            art.c.title,
            art.c.text,
            art.c.language,
        )
        .join(art, art.c.article_id == lab.c.article_id)
        .order_by(lab.c.article_id, lab.c.signal, lab.c.labelled_at, lab.c.label_id)
    )
    latest: dict[tuple[str, str], Any] = {}
    with engine.connect() as conn:
        for row in conn.execute(query):
            if row.signal in scales:  # not a signal no longer configured
                latest[(row.article_id, row.signal)] = row
    articles: dict[str, dict[str, Any]] = {}
    earlier = 0
    for (article_id, signal), row in latest.items():
        if row.labelled_hash is not None and row.labelled_hash != row.content_hash:
            earlier += 1
            continue
        entry = articles.setdefault(article_id, {"row": row, "labels": {}})
        entry["labels"][signal] = label_value(float(row.new_value), scales[signal])
    return [_example(article_id, entry) for article_id, entry in articles.items()], earlier


def _example(article_id: str, entry: dict[str, Any]) -> Example:
    row = entry["row"]
    return Example(
        example_id=f"{ANALYST_ORIGIN}:{article_id}",
        language=str(row.language or "und"),
        title=str(row.title),
        text=str(row.text),
        labels=dict(entry["labels"]),
        origin=ANALYST_ORIGIN,
        group=f"{ANALYST_ORIGIN}:{article_id}",
    )


def scales_for(signals: Mapping[str, Any]) -> dict[str, SignalScale]:
    """Every configured signal's scale, plus the relevance gate's."""
    scales = {n: SignalScale(s.kind, float(s.positive_from)) for n, s in signals.items()}
    scales[RELEVANCE] = SignalScale("risk", 1.0)
    return scales


def read_analyst_examples(url: str, signals: Mapping[str, Any]) -> tuple[list[Example], str]:
    """Analyst examples from the database at ``url``, and a note saying what was found.

    A missing database or labels table simply means no corrections yet; an unreachable server
    is logged and training goes on from the labelled files. The note counts the labels left
    out because their article's text changed after they were made.
    """
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
        return [], "no database yet"
    try:
        engine = create_engine(url)
        try:
            tables = set(inspect(engine).get_table_names())
            if not {"labels", "articles"} <= tables:
                return [], "no labels table"
            examples, earlier = analyst_examples(engine, scales_for(signals))
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        log.warning("cannot read analyst labels: %s", exc)
        return [], f"database unavailable ({type(exc).__name__})"
    return examples, _note(len(examples), earlier)


def _note(found: int, earlier: int) -> str:
    """Say what was found, and how many labels were left out for their article's new text."""
    if not earlier:
        return f"{found} analyst-labelled article(s)"
    left_out = f"{earlier} label(s) made on an earlier text of their article left out"
    if not found:  # not "0 ...": that reads as a store without labels (pipeline.evaluate)
        return f"no analyst label on its article's current text ({left_out})"
    return f"{found} analyst-labelled article(s) ({left_out})"
