"""Re-score every stored article with the loaded models (``policy-risk score --rescore``).

``pipeline.run.score_pending`` only scores articles lacking a current score from the loaded
model versions, which is what ``run`` needs after ingesting or after a new model version. This
walks *all* articles in id order (keyset pages, read-only SQL) for when the explanations or the
scoring code changed but the model version did not; writes go through ``store.save_scores``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, select

from pipeline import schema, store
from pipeline.records import Article
from pipeline.scorestore import article_from_row
from pipeline.scoring import ModelSet, score_articles

BATCH = 1000


def rescore_all(
    engine: Engine,
    models: ModelSet,
    progress: Callable[[str, int], None] | None = None,
    *,
    run_id: int | None = None,
) -> int:
    """Score every article again; return how many were scored (``run_id``: each save is
    counted in that run's row as it commits)."""
    total, after = 0, ""
    while True:
        batch = _page(engine, after)
        if not batch:
            return total
        scores = score_articles(models, batch, store.now_utc())
        hashes = {a.article_id: a.content_hash for a in batch}
        store.save_scores(engine, scores, hashes, run_id=run_id)
        total += len(batch)
        after = batch[-1].article_id
        if progress is not None:
            progress("re-scored", total)


def _page(engine: Engine, after: str) -> list[Article]:
    a = schema.articles
    stmt = select(a).where(a.c.article_id > after).order_by(a.c.article_id).limit(BATCH)
    with engine.connect() as conn:
        return [article_from_row(row._mapping) for row in conn.execute(stmt)]
