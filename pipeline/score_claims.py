"""Score claims: two runs with one backlog share it instead of each scoring all of it.

Every run reads "articles lacking a current score" from the store. Two runs started together
with a large backlog (two ``watch`` workers after a first import or a model roll-out) read the
same articles; their saves were exactly-once already (``scorestore.save_scores`` skips a score
another run saved first), but each spent the CPU of scoring the whole backlog.

So a scorer that finds another run going on claims each batch before handing it to a worker:
one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` per batch, under which the article goes to
whichever run claimed it first, unless that run is no longer running. Every read of pending
articles leaves out those another live run has claimed. A claim is released when its scores
are saved, and all of a run's claims when its scoring ends. Claims of a run that died (killed,
power cut) are ignored from the moment ``pipeline.runlog`` no longer counts it as running: at
once on its own host, where every scoring pass first closes runs whose process is gone
(``store.close_dead_runs``), and after ``runlog.STALE_AFTER`` elsewhere.
A run alone claims nothing, so a single worker pays one small query per batch, not a write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.engine import Connection

from pipeline import schema
from pipeline.engine import insert_for, write
from pipeline.records import Article
from pipeline.runlog import running_now

c, r = schema.score_claims, schema.runs
CHUNK = 1000  # ids per statement: 3,000 parameters, far below SQLite's and PostgreSQL's limits


@dataclass
class Overlap:
    """Articles a run scored that another run had saved first: the work claims are there to
    avoid (a batch read before the other run started claiming, or by a run alone)."""

    articles: int = 0


class RunClaims:
    """One run's claims on the batches it scores: none while it is alone, every batch once
    another run is found going on (checked before each batch until then)."""

    def __init__(self, engine: Engine, run_id: int | None) -> None:
        self._engine, self._run_id = engine, run_id
        self.active = False

    def take(self, articles: Sequence[Article], in_flight: Iterable[str] = ()) -> list[Article]:
        """The articles of this batch that are this run's to score. ``in_flight``: ids handed
        out unclaimed while this run was alone; claimed as soon as another run appears, so it
        leaves them alone."""
        if self._run_id is None or not articles:
            return list(articles)
        now = datetime.now(UTC)
        if not self.active:
            self.active = others_running(self._engine, self._run_id, now)
            if not self.active:
                return list(articles)
            claim(self._engine, self._run_id, list(in_flight), now)
        won = claim(self._engine, self._run_id, [a.article_id for a in articles], now)
        return [a for a in articles if a.article_id in won]

    def saved(self, article_ids: Sequence[str]) -> None:
        """Release the claims on articles whose scores are saved."""
        if self.active and self._run_id is not None and article_ids:
            run_id = self._run_id
            write(self._engine, lambda conn: release(conn, run_id, article_ids))

    def close(self) -> None:
        """Release every claim of this run (its scoring is over, or failed)."""
        if self.active and self._run_id is not None:
            release_all(self._engine, self._run_id)
            self.active = False


def others_running(engine: Engine, run_id: int | None, now: datetime) -> bool:
    """Whether another run is going on against this store (then this one claims its batches)."""
    others = [r.c.run_id != run_id] if run_id is not None else []
    stmt = select(r.c.run_id).where(running_now(now), *others).limit(1)
    with engine.connect() as conn:
        return conn.execute(stmt).first() is not None


def held_by_others(engine: Engine, run_id: int | None, now: datetime) -> int:
    """How many articles other live runs hold claims on (left to them by this scorer)."""
    others = [c.c.run_id != run_id] if run_id is not None else []
    stmt = select(func.count()).select_from(c).where(_holder_alive(now), *others)
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def unclaimed(article_id: Any, run_id: int | None, now: datetime) -> Any:
    """A condition on an articles query: the article is not claimed by another live run."""
    others = [c.c.run_id != run_id] if run_id is not None else []
    claimed = select(c.c.article_id).where(_holder_alive(now), *others)
    return article_id.not_in(claimed)


def claim(engine: Engine, run_id: int, article_ids: Sequence[str], now: datetime) -> set[str]:
    """Claim these articles for ``run_id``; return the ids it now holds (the others belong to
    another live run, which is scoring them)."""
    if not article_ids:
        return set()

    def work(conn: Connection) -> set[str]:
        won: set[str] = set()
        for chunk in _chunks(article_ids):  # within the databases' limits on parameters
            stmt = insert_for(conn, c).values(
                [{"article_id": a, "run_id": run_id, "claimed_at": now} for a in chunk]
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[c.c.article_id],
                set_={"run_id": run_id, "claimed_at": now},
                where=(c.c.run_id == run_id) | ~_holder_alive(now),
            ).returning(c.c.article_id)
            won.update(row[0] for row in conn.execute(stmt))
        return won

    return write(engine, work)


def release(conn: Connection, run_id: int, article_ids: Sequence[str]) -> None:
    """Drop this run's claims on these articles (their scores are saved)."""
    for chunk in _chunks(article_ids):
        conn.execute(delete(c).where(c.c.run_id == run_id, c.c.article_id.in_(chunk)))


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def release_all(engine: Engine, run_id: int) -> None:
    """Drop every claim of this run (its scoring is over, or failed)."""
    write(engine, lambda conn: conn.execute(delete(c).where(c.c.run_id == run_id)))


def clear_dead(conn: Connection, now: datetime) -> None:
    """Delete the claims of runs no longer running (called as a run starts)."""
    conn.execute(delete(c).where(~_holder_alive(now)))


def _holder_alive(now: datetime) -> Any:
    """A condition on a ``score_claims`` row: the run that holds it is still running (not
    correlated: SQLAlchemy would list ``score_claims`` again inside an upsert's subquery)."""
    return c.c.run_id.in_(select(r.c.run_id).where(running_now(now)))
