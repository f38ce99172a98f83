"""Alembic migrations on SQLite and PostgreSQL: create, refuse, upgrade, adopt, and keep data."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, column, func, insert, inspect, select, table, text
from sqlalchemy.engine import Connection

from pipeline import db, insights, migrations, queries, schema, search, store
from pipeline.engine import MIGRATION_LOCK, make_engine, write
from pipeline.errors import StoreError
from pipeline.labels import SignalScale, analyst_examples
from tests.pg import store_url_fixture  # noqa: F401
from tests.store_checks import (
    PER_ARTICLE_TABLES,
    assert_search_facts_consistent,
    assert_totals_consistent,
    per_article_foreign_keys,
    per_article_rows,
)

NOW = datetime(2025, 9, 16, 12, 0, tzinfo=UTC)
VERSIONS = {"decertification_risk": "d-v1", "cooperation_tone": "c-v1", "relevance": "r-v1"}


def _at_revision(url: str, revision: str) -> Engine:
    engine = make_engine(url)
    write(engine, lambda conn: migrations.upgrade(conn, revision), lock=MIGRATION_LOCK)
    return engine


def _fill_0001(engine: Engine, count: int = 6) -> None:
    """Rows as the 0001 schema holds them (no score_key, no totals), scored by three models."""
    rows, current = [], []
    for n in range(count):
        aid = f"art{n:03d}"
        rows.append(
            {
                "article_id": aid,
                "title": f"T{n}",
                "text": "x",
                "source": f"S{n % 2}",
                "language": "en" if n % 3 else "es",
                "url": None,
                "page_date": None,
                "event_date": date(2025, 1, 1 + n),
                "ingested_at": NOW,
                "updated_at": NOW,
                "content_hash": f"h{n}",
                "origin": "o",
                "date_flags": "",
            }
        )
        for signal, version in VERSIONS.items():
            value = (n + 1) / 10 if signal != "relevance" else (0.2 if n % 2 else 0.9)
            current.append(
                {
                    "article_id": aid,
                    "signal": signal,
                    "value": value,
                    "model_version": version,
                    "content_hash": f"h{n}",
                    "confidence": "normal",
                    "explanation": "",
                    "scored_at": NOW,
                }
            )
    with engine.begin() as conn:  # the tables as 0001 has them (scores keyed by article id)
        for name, values in (("articles", rows), ("current_scores", current), ("scores", current)):
            conn.execute(insert(table(name, *(column(k) for k in values[0]))), values)


def _filled_at(url: str, revision: str) -> Engine:
    """A store filled at 0001, then migrated to ``revision``: as an older program left it."""
    engine = _at_revision(url, "0001")
    _fill_0001(engine)
    write(engine, lambda conn: migrations.upgrade(conn, revision), lock=MIGRATION_LOCK)
    return engine


def _revision(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


def _differences_from_the_tables(conn: Connection) -> list[object]:
    """What separates the store's schema from ``schema.metadata`` (alembic's comparison)."""
    # the full-text index differs per database, so schema.metadata leaves it out
    context = MigrationContext.configure(conn, opts={"include_name": search.include_name})
    return list(compare_metadata(context, schema.metadata))


def test_schema_constants_name_the_script_revisions() -> None:
    assert migrations.script_revisions() == list(schema.KNOWN_REVISIONS)
    assert schema.KNOWN_REVISIONS[-1] == schema.HEAD_REVISION


def test_fresh_store_is_migrated_to_head_and_matches_the_tables(store_url: str) -> None:
    engine = store.open_store(store_url)
    assert _revision(engine) == schema.HEAD_REVISION
    with engine.connect() as conn:
        assert _differences_from_the_tables(conn) == []
        version = conn.execute(select(schema.schema_info.c.value)).scalar_one()
    assert version == str(schema.SCHEMA_VERSION)


def test_older_revision_is_refused_until_upgraded_and_keeps_its_data(store_url: str) -> None:
    engine = _at_revision(store_url, "0001")
    _fill_0001(engine)
    for create in (True, False):
        with pytest.raises(StoreError, match=r"revision 0001, older than .*policy-risk db upgrade"):
            store.open_store(store_url, create=create)
    before, after = db.upgrade_store(engine, store_url)
    assert (before.revision, before.status) == ("0001", db.BEHIND)
    assert (after.revision, after.status) == (schema.HEAD_REVISION, db.CURRENT)
    upgraded = store.open_store(store_url)
    with upgraded.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.articles)).scalar_one() == 6
    assert_totals_consistent(upgraded, ["decertification_risk", "cooperation_tone"])
    assert store.articles_to_score(upgraded, VERSIONS) == []
    assert db.upgrade_store(engine, store_url)[0].status == db.CURRENT  # second run: no-op


def test_store_at_0002_gets_volume_rows_and_the_signal_first_key(store_url: str) -> None:
    engine = _at_revision(store_url, "0001")
    _fill_0001(engine)
    write(engine, lambda conn: migrations.upgrade(conn, "0002"), lock=MIGRATION_LOCK)
    with engine.begin() as conn:  # as revision 0002 code left it: no volume rows
        conn.execute(text("DELETE FROM daily_signal_totals WHERE signal = '#articles'"))
    with pytest.raises(StoreError, match="revision 0002, older than"):
        store.open_store(store_url)
    db.upgrade_store(engine, store_url)
    upgraded = store.open_store(store_url)
    assert queries.store_summary(upgraded)["articles"] == 6
    assert_totals_consistent(upgraded, ["decertification_risk", "cooperation_tone"])
    with upgraded.connect() as conn:
        key = inspect(conn).get_pk_constraint("daily_signal_totals")["constrained_columns"]
    assert key[:2] == ["signal", "day"]


def _reference(tmp_path: Path) -> Engine:
    """The same rows migrated from 0001 to the head in one go, on SQLite.

    Today's queries need revision 0014's article keys, so they cannot read a store left at an
    older revision: a store stopped there and upgraded later must answer as this one does.
    """
    return _filled_at(f"sqlite:///{tmp_path / 'reference.db'}", schema.HEAD_REVISION)


def test_store_at_0005_gets_the_lookup_indexes_and_keeps_its_answers(
    store_url: str, tmp_path: Path
) -> None:
    engine = _filled_at(store_url, "0005")
    flt = queries.ArticleFilter(relevance_threshold=0.33)  # off the grid: from the articles
    signals = ["decertification_risk", "cooperation_tone"]
    before = queries._frame(
        _reference(tmp_path), queries._daily_detailed(signals, flt), ["day", "signal", "n", "total"]
    )
    db.upgrade_store(engine, store_url)
    upgraded = store.open_store(store_url)
    lookups = {schema.ARTICLES_LOOKUP: "articles", schema.SCORES_LOOKUP: "current_scores"}
    with upgraded.connect() as conn:
        for name, table in lookups.items():
            assert name in {i["name"] for i in inspect(conn).get_indexes(table)}
    after = queries.daily_signal_stats(upgraded, signals, flt)
    assert after.values.tolist() == before.values.tolist() and len(after) == 6
    write(engine, lambda conn: migrations.downgrade(conn, "0005"), lock=MIGRATION_LOCK)
    with engine.connect() as conn:
        for name, table in lookups.items():
            assert name not in {i["name"] for i in inspect(conn).get_indexes(table)}


def test_store_at_0006_gets_share_counts_that_answer_the_share_view(
    store_url: str, tmp_path: Path
) -> None:
    engine = _filled_at(store_url, "0006")
    kinds = {"decertification_risk": "risk", "cooperation_tone": "tone"}
    flt = queries.ArticleFilter()
    columns = ["day", "source", "articles", *kinds]
    share = insights._share_from_articles(kinds, flt, 0.5)
    before = queries._frame(_reference(tmp_path), share, columns)
    db.upgrade_store(engine, store_url)
    upgraded = store.open_store(store_url)
    after = insights.share_counts(upgraded, kinds, flt, 0.5)
    assert after.values.tolist() == before.values.tolist()
    assert after["decertification_risk"].sum() == 1  # relevant: .1, .3, .5; only .5 reaches it
    assert_totals_consistent(upgraded, list(kinds))
    write(engine, lambda conn: migrations.downgrade(conn, "0006"), lock=MIGRATION_LOCK)
    with engine.connect() as conn:
        names = {c["name"] for c in inspect(conn).get_columns("daily_signal_totals")}
    assert not names & {*schema.RISK_AT_LEAST, *schema.TONE_AT_LEAST} and "total" in names


def test_store_at_0007_gets_the_rank_index_and_sorted_lists_keep_their_order(
    store_url: str, tmp_path: Path
) -> None:
    engine = _filled_at(store_url, "0007")
    query = insights.ArticleQuery(sort_by="decertification_risk")
    names = ["decertification_risk", "cooperation_tone", "relevance"]
    columns = [*insights.BASE_COLUMNS, *names]
    before = queries._frame(_reference(tmp_path), insights._rows(names, query, [], 4), columns)
    db.upgrade_store(engine, store_url)
    upgraded = store.open_store(store_url)
    with upgraded.connect() as conn:
        indexes = {i["name"] for i in inspect(conn).get_indexes("current_scores")}
    assert schema.SCORES_RANK in indexes
    assert insights.walks_scores(upgraded, query, [], 4)  # 6 articles: 36 > 4 * 6
    after = insights.article_rows(upgraded, names[:2], query, limit=4)
    assert after["id"].tolist() == before["id"].tolist() == ["art005", "art004", "art003", "art002"]
    write(engine, lambda conn: migrations.downgrade(conn, "0007"), lock=MIGRATION_LOCK)
    with engine.connect() as conn:
        indexes = {i["name"] for i in inspect(conn).get_indexes("current_scores")}
    assert schema.SCORES_RANK not in indexes


def test_store_at_0008_moves_its_score_keys_into_their_table_and_back(store_url: str) -> None:
    engine = _filled_at(store_url, "0008")
    keys = "SELECT article_id, score_key FROM {} ORDER BY article_id"
    with engine.connect() as conn:
        before = conn.execute(text(keys.format("articles"))).all()
    assert len(before) == 6 and all(key for _aid, key in before)  # all scored by 0002
    db.upgrade_store(engine, store_url)
    upgraded = store.open_store(store_url)
    moved = (
        "SELECT a.article_id, k.score_key FROM article_score_keys AS k"
        " JOIN articles AS a ON a.article_key = k.article_key ORDER BY a.article_id"
    )
    with upgraded.connect() as conn:
        assert conn.execute(text(moved)).all() == before
        columns = {c["name"] for c in inspect(conn).get_columns("articles")}
    assert "score_key" not in columns
    assert store.articles_to_score(upgraded, VERSIONS) == []
    assert len(store.articles_to_score(upgraded, {**VERSIONS, "relevance": "r-v2"})) == 6
    write(engine, lambda conn: migrations.downgrade(conn, "0008"), lock=MIGRATION_LOCK)
    with engine.connect() as conn:
        assert conn.execute(text(keys.format("articles"))).all() == before
        assert "article_score_keys" not in inspect(conn).get_table_names()


def test_store_at_0012_gets_its_facts_copied_beside_the_search_ids_and_back(
    store_url: str, tmp_path: Path
) -> None:
    engine = _filled_at(store_url, "0012")
    signals = ["decertification_risk", "cooperation_tone"]
    flt = queries.ArticleFilter(search="t")  # every title starts with T: the hits lead
    before = queries.daily_signal_stats(_reference(tmp_path), signals, flt)
    db.upgrade_store(engine, store_url)
    upgraded = store.open_store(store_url)
    assert_search_facts_consistent(upgraded)
    after = queries.daily_signal_stats(upgraded, signals, flt)
    assert after.values.tolist() == before.values.tolist() and len(after) == 6
    if upgraded.dialect.name != "sqlite":
        return  # PostgreSQL: nothing to copy
    assert search.score_columns(upgraded, [*signals, "relevance"]) is not None
    write(engine, lambda conn: migrations.downgrade(conn, "0012"), lock=MIGRATION_LOCK)
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns(search.IDS_TABLE)}
        assert columns == {"search_id", "article_id"}
        assert search.SLOTS_TABLE not in inspect(conn).get_table_names()
    _fill_0001_more(engine)  # 0012's insert trigger is back
    db.upgrade_store(engine, store_url)
    assert_search_facts_consistent(store.open_store(store_url))


_FLUSH_0012 = (  # search.flush_pending as revision 0012 had it (by article id)
    """INSERT INTO article_search (rowid, document)
    SELECT p.search_id, a.title || ' ' || a.text FROM article_search_pending AS p
    CROSS JOIN article_search_ids AS i ON i.search_id = p.search_id
    CROSS JOIN articles AS a ON a.article_id = i.article_id""",
    "DELETE FROM article_search_pending",
)


def _fill_0001_more(engine: Engine) -> None:
    with engine.begin() as conn:
        row = conn.execute(text("SELECT * FROM articles WHERE article_id = 'art000'"))
        article = dict(row.mappings().one())  # the columns as 0001 has them
        articles = table("articles", *(column(name) for name in article))
        conn.execute(insert(articles), {**article, "article_id": "art100"})
        for statement in _FLUSH_0012:
            conn.execute(text(statement))
        assert conn.execute(text(f"SELECT count(*) FROM {search.IDS_TABLE}")).scalar_one() == 7


def _keyed_by(engine: Engine, key: str) -> dict[str, list[tuple[object, ...]]]:
    """Each per-article table's one foreign key on ``key``, named as a fresh table's would be."""
    postgres = engine.dialect.name == "postgresql"
    return {
        name: [(f"{name}_{key}_fkey" if postgres else None, [key], "articles", [key])]
        for name in PER_ARTICLE_TABLES
    }


def test_store_at_0013_gets_article_keys_that_key_every_per_article_row_and_back(
    store_url: str,
) -> None:
    engine = _filled_at(store_url, "0013")
    with engine.begin() as conn:  # one story carried by two sources, as 0013 keeps them
        for n, source in ((0, "S0"), (0, "Other"), (3, "S1")):
            conn.execute(
                text(
                    "INSERT INTO article_sources (article_id, source, origin, url, first_seen_at)"
                    " VALUES (:aid, :source, 'o', NULL, :at)"
                ),
                {"aid": f"art{n:03d}", "source": source, "at": NOW},
            )
    before = per_article_rows(engine, "article_id")
    assert [len(rows) for rows in before.values()] == [18, 18, 6, 3]
    keys_before = per_article_foreign_keys(engine)
    assert keys_before == _keyed_by(engine, "article_id")
    db.upgrade_store(engine, store_url)
    upgraded = store.open_store(store_url)
    assert per_article_rows(upgraded, "article_key") == before
    assert per_article_foreign_keys(upgraded) == _keyed_by(upgraded, "article_key")
    with upgraded.connect() as conn:
        # the tables, keys and indexes of a fresh store
        assert _differences_from_the_tables(conn) == []
        keys = dict(conn.execute(text("SELECT article_id, article_key FROM articles")).all())
    assert sorted(keys.values()) == list(range(1, 7))
    assert_search_facts_consistent(upgraded)  # on SQLite: the full-text ids became the keys
    assert_totals_consistent(upgraded, ["decertification_risk", "cooperation_tone"])
    assert store.articles_to_score(upgraded, VERSIONS) == []
    write(engine, lambda conn: migrations.downgrade(conn, "0013"), lock=MIGRATION_LOCK)
    assert per_article_rows(engine, "article_id") == before
    assert per_article_foreign_keys(engine) == keys_before
    with engine.connect() as conn:
        assert "article_key" not in {c["name"] for c in inspect(conn).get_columns("articles")}
    db.upgrade_store(engine, store_url)
    assert per_article_rows(store.open_store(store_url), "article_key") == before


def test_store_at_0014_drops_the_id_copy_beside_the_full_text_ids_and_back(
    store_url: str,
) -> None:
    engine = _filled_at(store_url, "0014")
    write(engine, lambda conn: migrations.upgrade(conn, "0015"), lock=MIGRATION_LOCK)
    if engine.dialect.name != "sqlite":
        return  # PostgreSQL: nothing to change
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns(search.IDS_TABLE)}
    assert "article_id" not in columns and "search_id" in columns
    db.upgrade_store(engine, store_url)  # on to the head: the store functions want it
    upgraded = store.open_store(store_url)
    assert_search_facts_consistent(upgraded)
    with engine.begin() as conn:  # the triggers by key: an edit, a new source, a renamed id
        conn.execute(text("UPDATE articles SET title = 'Glyphosate' WHERE article_id = 'art001'"))
        conn.execute(text("UPDATE articles SET source = 'S9' WHERE article_id = 'art002'"))
        conn.execute(text("UPDATE articles SET article_id = 'art900' WHERE article_id = 'art003'"))
    hits = queries.article_table(upgraded, [], queries.ArticleFilter(search="glyphosate"))
    assert hits["id"].tolist() == ["art001"]
    assert_search_facts_consistent(upgraded)
    write(engine, lambda conn: migrations.downgrade(conn, "0014"), lock=MIGRATION_LOCK)
    with engine.connect() as conn:
        pairs = conn.execute(
            text(
                f"SELECT i.article_id, i.search_id FROM {search.IDS_TABLE} AS i"
                " JOIN articles AS a ON a.article_key = i.search_id AND a.article_id = i.article_id"
            )
        ).all()
    assert len(pairs) == 6
    _fill_0001_more_at_0014(engine)
    db.upgrade_store(engine, store_url)
    assert_search_facts_consistent(store.open_store(store_url))


def _fill_0001_more_at_0014(engine: Engine) -> None:
    """One more article as a 0014 program writes it: the triggers of 0014 are back."""
    with engine.begin() as conn:
        row = conn.execute(text("SELECT * FROM articles WHERE article_id = 'art000'"))
        article = dict(row.mappings().one())
        articles = table("articles", *(column(name) for name in article))
        conn.execute(insert(articles), {**article, "article_id": "art100", "article_key": 7})
        search.flush_pending(conn)
        found = f"SELECT article_id FROM {search.IDS_TABLE} WHERE search_id = 7"
        assert conn.execute(text(found)).scalar_one() == "art100"


def test_store_at_0015_gets_an_empty_claims_table_and_back(store_url: str) -> None:
    engine = _filled_at(store_url, "0015")
    before = queries.article_table(engine, [])
    db.upgrade_store(engine, store_url)
    upgraded = store.open_store(store_url)
    with upgraded.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.score_claims)).scalar() == 0
        assert _differences_from_the_tables(conn) == []
    pd.testing.assert_frame_equal(queries.article_table(upgraded, []), before)
    write(engine, lambda conn: migrations.downgrade(conn, "0015"), lock=MIGRATION_LOCK)
    with engine.connect() as conn:
        assert "score_claims" not in inspect(conn).get_table_names()
    pd.testing.assert_frame_equal(queries.article_table(engine, []), before)


def test_store_at_0016_gets_the_partial_origin_index_and_back(store_url: str) -> None:
    engine = _filled_at(store_url, "0016")
    db.upgrade_store(engine, store_url)

    def indexes() -> set[str]:
        with engine.connect() as conn:
            return {i["name"] for i in inspect(conn).get_indexes("articles")}

    assert schema.SEED_ORIGIN in indexes()
    write(engine, lambda conn: migrations.downgrade(conn, "0016"), lock=MIGRATION_LOCK)
    assert schema.SEED_ORIGIN not in indexes()


def test_store_at_0017_keeps_its_feed_claims_and_gets_their_run_column(store_url: str) -> None:
    engine = _filled_at(store_url, "0017")
    until = datetime(2026, 11, 29, 12, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO feeds (name, url, claimed_by, claimed_until) "
                "VALUES ('wire', 'https://example.org/rss', 'w1:abc', :until)"
            ),
            {"until": until},
        )
    db.upgrade_store(engine, store_url)
    with engine.connect() as conn:
        row = conn.execute(select(schema.feeds)).mappings().one()
    assert (row["claimed_by"], row["claim_run_id"]) == ("w1:abc", None)  # expires by time only
    write(engine, lambda conn: migrations.downgrade(conn, "0017"), lock=MIGRATION_LOCK)
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("feeds")}
        assert "claim_run_id" not in columns
        assert conn.execute(text("SELECT claimed_by FROM feeds")).scalar_one() == "w1:abc"


def test_store_at_0018_keeps_its_runs_as_ingest_runs_and_back(store_url: str) -> None:
    engine = _filled_at(store_url, "0018")
    runs = table("runs", *(column(k) for k in ("started_at", "status", "articles_added")))
    with engine.begin() as conn:  # as an 0018 program recorded them: no kind
        conn.execute(
            insert(runs),
            [
                {"started_at": NOW, "status": "ok", "articles_added": 6},
                {"started_at": NOW, "status": "failed", "articles_added": 0},
            ],
        )
    db.upgrade_store(engine, store_url)
    upgraded = store.open_store(store_url)
    r = schema.runs
    with upgraded.connect() as conn:
        kept = conn.execute(select(r.c.status, r.c.articles_added, r.c.kind).order_by(r.c.run_id))
        assert [tuple(row) for row in kept] == [("ok", 6, "run"), ("failed", 0, "run")]
        assert _differences_from_the_tables(conn) == []
    assert queries.store_summary(upgraded)["last_run"]["status"] == "failed"
    assert len(insights.run_history(upgraded)[0]) == 2  # both count for feed health, as before
    write(engine, lambda conn: migrations.downgrade(conn, "0018"), lock=MIGRATION_LOCK)
    with engine.connect() as conn:
        assert "kind" not in {c["name"] for c in inspect(conn).get_columns("runs")}
        assert conn.execute(select(func.count()).select_from(table("runs"))).scalar() == 2


def test_store_at_0019_keeps_its_labels_which_have_no_text_and_back(store_url: str) -> None:
    engine = _filled_at(store_url, "0019")
    row = {
        "article_id": "art001",
        "signal": "cooperation_tone",
        "new_value": 0.8,
        "labelled_by": "ana",
        "labelled_at": NOW,
    }
    with engine.begin() as conn:  # as an 0019 program recorded it: no content hash
        conn.execute(insert(table("labels", *(column(k) for k in row))).values(row))
    db.upgrade_store(engine, store_url)
    upgraded = store.open_store(store_url)
    lb = schema.labels
    with upgraded.connect() as conn:
        kept = conn.execute(select(lb.c.article_id, lb.c.new_value, lb.c.content_hash)).all()
        assert [tuple(row) for row in kept] == [("art001", 0.8, None)]
        assert _differences_from_the_tables(conn) == []
    scales = {"cooperation_tone": SignalScale("tone", 2.0)}
    examples, earlier = analyst_examples(upgraded, scales)  # used as before: no text to compare
    assert [(e.example_id, e.labels) for e in examples] == [
        ("analyst:art001", {"cooperation_tone": 2.0})
    ]
    assert earlier == 0
    store.save_label(upgraded, "art001", "cooperation_tone", 0.0, "ben")
    with upgraded.connect() as conn:
        hashes = conn.execute(select(lb.c.content_hash).order_by(lb.c.label_id)).scalars().all()
    assert hashes == [None, "h1"]  # a new label records the text it was given on
    upgraded.dispose()
    write(engine, lambda conn: migrations.downgrade(conn, "0019"), lock=MIGRATION_LOCK)
    with engine.connect() as conn:
        assert "content_hash" not in {c["name"] for c in inspect(conn).get_columns("labels")}
        assert conn.execute(select(func.count()).select_from(table("labels"))).scalar() == 2


def test_store_created_before_alembic_is_adopted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    engine = _at_revision(url, "0001")
    _fill_0001(engine, 3)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    with engine.connect() as conn:
        state = db.read_state(conn)
    assert (state.revision, state.status, state.legacy) == ("0001", db.BEHIND, True)
    with pytest.raises(StoreError, match="policy-risk db upgrade"):
        store.open_store(url)
    db.upgrade_store(engine, url)
    assert _revision(store.open_store(url)) == schema.HEAD_REVISION


def test_downgrade_removes_only_derived_data(store_url: str) -> None:
    engine = _at_revision(store_url, "0001")
    _fill_0001(engine, 4)
    db.upgrade_store(engine, store_url)
    write(engine, lambda conn: migrations.downgrade(conn, "0001"))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.current_scores)).scalar() == 12
        assert "daily_signal_totals" not in inspect(conn).get_table_names()
    db.upgrade_store(engine, store_url)
    assert_totals_consistent(store.open_store(store_url), ["decertification_risk"])


def test_two_workers_creating_one_empty_store_both_succeed(store_url: str) -> None:
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            store.open_store(store_url).dispose()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with make_engine(store_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


def test_reader_does_not_create_a_schema(store_url: str) -> None:
    # a missing SQLite file is not created at all; an empty PostgreSQL database gets no tables
    empty = "no database at" if store_url.startswith("sqlite") else "has no tables yet"
    with pytest.raises(StoreError, match=f"{empty}.*fill it with `policy-risk run`"):
        store.open_store(store_url, create=False)


def test_store_tables_without_a_revision_are_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'odd.db'}"
    with make_engine(url).begin() as conn:
        conn.execute(text("CREATE TABLE articles (article_id TEXT)"))
    with pytest.raises(StoreError, match="holds store tables .* but no schema revision"):
        store.open_store(url)
