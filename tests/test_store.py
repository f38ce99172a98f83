"""The article store on SQLite and PostgreSQL: idempotent upserts, dedup, score history, guards.

Tests taking ``store_url`` run twice: on a real SQLite file, then on a fresh PostgreSQL database
(``tests/pg.py``; skipped on a laptop without PostgreSQL, required in CI).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text, update

from pipeline import schema, store
from pipeline.errors import StoreError
from pipeline.normalise import normalise_item
from pipeline.records import Article, RawItem, Score
from pipeline.seeds import read_seeds
from tests.pg import store_url_fixture  # noqa: F401

NOW = datetime(2025, 9, 16, 12, 0, tzinfo=UTC)


def _engine(url: str) -> Engine:
    return store.open_store(url)


def _item(
    title: str = "Colombia decertified",
    url: str | None = "https://Example.org/a?utm_source=x#top",
    source: str = "Wire",
    body: str = "The determination was announced on Monday.",
) -> RawItem:
    return RawItem(
        origin=source,
        source=source,
        title=title,
        text=body,
        url=url,
        language="en",
        page_date=date(2025, 9, 16),
    )


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_sqlite_store_uses_wal_and_creates_parent_folder(tmp_path: Path) -> None:
    engine = store.open_store(f"sqlite:///{tmp_path / 'deep' / 'er' / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    assert (tmp_path / "deep" / "er" / "x.db").exists()


def test_reingesting_same_items_adds_nothing(store_url: str) -> None:
    engine = _engine(store_url)
    items = [_item(), _item(title="Other story", url="https://example.org/b")]
    assert store.save_raw_items(engine, items) == 2
    first = store.upsert_articles(engine, [normalise_item(i, NOW) for i in items])
    assert (first.added, first.updated) == (2, 0)
    assert store.save_raw_items(engine, items) == 0
    again = store.upsert_articles(engine, [normalise_item(i, NOW) for i in items])
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert _count(engine, schema.articles) == 2
    assert _count(engine, schema.raw_items) == 2


def test_tracking_parameters_and_fragments_do_not_create_new_articles(tmp_path: Path) -> None:
    a = normalise_item(_item(url="https://EXAMPLE.org/a?utm_source=x&fbclid=1#top"), NOW)
    b = normalise_item(_item(url="https://example.org/a"), NOW)
    assert a.article_id == b.article_id
    assert a.url == "https://example.org/a"


def test_same_story_from_two_sources_is_stored_once_with_both_sources(store_url: str) -> None:
    engine = _engine(store_url)
    one = normalise_item(_item(url="https://wire.example/a", source="Wire"), NOW)
    two = normalise_item(_item(url="https://paper.example/copy", source="Paper"), NOW)
    store.upsert_articles(engine, [one])
    result = store.upsert_articles(engine, [two])
    assert (result.added, result.duplicates) == (0, 1)
    assert _count(engine, schema.articles) == 1
    with engine.connect() as conn:
        sources = sorted(r[0] for r in conn.execute(select(schema.article_sources.c.source)))
    assert sources == ["Paper", "Wire"]


def test_changed_text_updates_article_and_marks_it_for_rescoring(store_url: str) -> None:
    engine = _engine(store_url)
    first = normalise_item(_item(), NOW)
    store.upsert_articles(engine, [first])
    score = Score(first.article_id, "risk", 0.9, "v1", NOW)
    store.save_scores(engine, [score], {first.article_id: first.content_hash})
    assert store.articles_to_score(engine, {"risk": "v1"}) == []
    changed = normalise_item(_item(body="The determination was withdrawn on Tuesday."), NOW)
    assert store.upsert_articles(engine, [changed]).updated == 1
    pending = store.articles_to_score(engine, {"risk": "v1"})
    assert [a.article_id for a in pending] == [first.article_id]
    assert "withdrawn" in pending[0].text


def test_scores_are_history_plus_one_current_value(store_url: str) -> None:
    engine = _engine(store_url)
    article = normalise_item(_item(), NOW)
    store.upsert_articles(engine, [article])
    hashes = {article.article_id: article.content_hash}
    store.save_scores(engine, [Score(article.article_id, "risk", 0.2, "v1", NOW)], hashes)
    store.save_scores(engine, [Score(article.article_id, "risk", 0.7, "v2", NOW)], hashes)
    store.save_scores(engine, [Score(article.article_id, "risk", 0.7, "v2", NOW)], hashes)
    assert _count(engine, schema.scores) == 2
    with engine.connect() as conn:
        rows = conn.execute(
            select(schema.current_scores.c.value, schema.current_scores.c.model_version)
        ).all()
    assert [tuple(r) for r in rows] == [(0.7, "v2")]
    assert store.articles_to_score(engine, {"risk": "v1"}) != []
    assert store.articles_to_score(engine, {"risk": "v2"}) == []


def test_future_dates_are_flagged_and_fall_back_to_first_seen(tmp_path: Path) -> None:
    item = replace(_item(), page_date=date(2031, 1, 1), event_date=date(1970, 1, 1))
    article = normalise_item(item, NOW)
    assert article.event_date == NOW.date()
    assert set(article.date_flags) == {
        "future-date:2031-01-01",
        "implausible-date:1970-01-01",
        "undated",
    }


def test_an_article_without_any_usable_date_is_flagged_undated() -> None:
    undated = normalise_item(replace(_item(), page_date=None, event_date=None), NOW)
    assert undated.event_date == NOW.date() and undated.date_flags == ("undated",)
    dated = normalise_item(replace(_item(), page_date=date(2025, 3, 2), event_date=None), NOW)
    assert dated.event_date == date(2025, 3, 2) and dated.date_flags == ()


def test_newer_schema_is_refused_with_clear_message(store_url: str) -> None:
    engine = _engine(store_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(StoreError, match="schema revision 0099, newer than this program knows"):
        _engine(store_url)
    with pytest.raises(StoreError, match="newer than this program knows"):
        store.open_store(store_url, create=False)


def test_pre_alembic_store_with_newer_schema_info_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = _engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(update(schema.schema_info).values(value="99"))
    with pytest.raises(StoreError, match="schema version 99, newer than this program knows"):
        _engine(url)


def test_label_correction_keeps_who_when_and_old_value(store_url: str) -> None:
    engine = _engine(store_url)
    article = normalise_item(_item(), NOW)
    store.upsert_articles(engine, [article])
    store.save_scores(
        engine,
        [Score(article.article_id, "risk", 0.3, "v1", NOW)],
        {article.article_id: article.content_hash},
    )
    store.save_label(engine, article.article_id, "risk", 1.0, "ana")
    with engine.connect() as conn:
        row = conn.execute(select(schema.labels)).mappings().one()
    assert (row["old_value"], row["new_value"], row["labelled_by"]) == (0.3, 1.0, "ana")
    with pytest.raises(StoreError, match="no article with id"):
        store.save_label(engine, "missing", "risk", 1.0, "ana")


def test_unopenable_database_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "adir.db").mkdir()
    with pytest.raises(StoreError, match="cannot open database"):
        store.open_store(f"sqlite:///{tmp_path / 'adir.db'}")


def test_run_log_records_errors(store_url: str) -> None:
    engine = _engine(store_url)
    run_id = store.start_run(engine)
    store.record_source_error(engine, run_id, "seeds/bad.txt", "not UTF-8")
    store.finish_run(engine, run_id, "partial", {"articles_added": 3})
    with engine.connect() as conn:
        run = conn.execute(select(schema.runs)).mappings().one()
    assert (run["status"], run["articles_added"]) == ("partial", 3)
    assert _count(engine, schema.run_errors) == 1


def _run_counts(engine: Engine, run_id: int) -> tuple[int, int, int]:
    r = schema.runs
    with engine.connect() as conn:
        row = conn.execute(
            select(r.c.articles_added, r.c.articles_updated, r.c.articles_scored).where(
                r.c.run_id == run_id
            )
        ).one()
    return (row[0], row[1], row[2])


def test_batches_count_in_their_run_row_as_they_commit(store_url: str) -> None:
    engine = _engine(store_url)
    run_id = store.start_run(engine)
    articles = [
        normalise_item(_item(title=f"Story {i}", url=f"https://example.org/{i}"), NOW)
        for i in range(3)
    ]
    store.upsert_articles(engine, articles[:2], run_id=run_id)
    changed = replace(articles[0], text="New text.", content_hash="f" * 64)
    store.upsert_articles(engine, [changed, articles[2]], run_id=run_id)
    assert _run_counts(engine, run_id) == (3, 1, 0)  # no finish_run: as a killed run leaves it
    scores = [Score(a.article_id, "risk", 0.5, "v1", NOW) for a in articles[1:]]
    hashes = {a.article_id: a.content_hash for a in articles}
    assert store.save_scores(engine, scores, hashes, skip_current=True, run_id=run_id) == 2
    assert _run_counts(engine, run_id) == (3, 1, 2)


def test_scores_another_run_saved_first_are_skipped_and_not_counted(store_url: str) -> None:
    engine = _engine(store_url)
    articles = [
        normalise_item(_item(title=f"Story {i}", url=f"https://example.org/{i}"), NOW)
        for i in range(3)
    ]
    store.upsert_articles(engine, articles)
    hashes = {a.article_id: a.content_hash for a in articles}
    first, second = store.start_run(engine), store.start_run(engine)
    mine = [Score(a.article_id, "risk", 0.25, "v1", NOW) for a in articles[:2]]
    assert store.save_scores(engine, mine, hashes, skip_current=True, run_id=first) == 2
    later = NOW.replace(hour=13)
    theirs = [Score(a.article_id, "risk", 0.75, "v1", later) for a in articles]
    theirs.append(Score(articles[0].article_id, "risk", 0.75, "v2", later))  # a newer model
    assert store.save_scores(engine, theirs, hashes, skip_current=True, run_id=second) == 2
    assert (_run_counts(engine, first)[2], _run_counts(engine, second)[2]) == (2, 2)
    cs = schema.current_scores
    with engine.connect() as conn:
        values = sorted(tuple(row) for row in conn.execute(select(cs.c.value, cs.c.model_version)))
    assert values == [(0.25, "v1"), (0.75, "v1"), (0.75, "v2")]  # article 2 kept the first's
    # without skip_current (score --rescore) the same version is written again
    assert store.save_scores(engine, theirs[:2], hashes) == 2


def test_unreachable_postgres_is_a_store_error_without_the_password() -> None:
    with pytest.raises(StoreError, match=r"cannot open database postgresql\+psycopg://u:\*\*\*@"):
        store.open_store("postgresql+psycopg://u:s3cret@127.0.0.1:1/none")


def test_opening_without_create_never_creates_a_sqlite_file(tmp_path: Path) -> None:
    missing = tmp_path / "data" / "missing.db"
    with pytest.raises(StoreError, match=f"no database at {missing}"):
        store.open_store(f"sqlite:///{missing}", create=False)
    assert not missing.exists() and not missing.parent.exists()


def test_an_edited_seed_file_is_matched_by_origin_and_records_are_not(store_url: str) -> None:
    """A URL-less seed file is one article: its edit updates it, also when an older store
    already holds two copies of the file (the latest is updated, no third appears). Records of
    a .json/.jsonl file (``#n``) and articles with a URL are never matched by origin."""
    engine = store.open_store(store_url)

    def seed(origin: str, body: str, url: str | None = None) -> Article:
        item = replace(_item(body=body, url=url), origin=origin)
        return normalise_item(item, NOW)

    def upsert(*articles: Article) -> store.UpsertResult:
        origins = {a.origin for a in articles}
        return store.upsert_articles(engine, list(articles), seed_origins=origins)

    assert upsert(seed("seeds/a.txt", "First draft.")).added == 1
    assert upsert(seed("seeds/a.txt", "Second draft.")).updated == 1
    # an older program stored each edit as a new article: two copies of one file
    store.upsert_articles(engine, [seed("seeds/b.txt", "Old copy.")])
    store.upsert_articles(engine, [seed("seeds/b.txt", "Newer copy.")])
    result = upsert(seed("seeds/b.txt", "Fixed copy."), seed("seeds/r.jsonl#1", "Record one."),
                    seed("feeds/c.txt", "Linked.", url="https://example.org/c"))
    assert (result.added, result.updated) == (2, 1)
    assert upsert(seed("seeds/r.jsonl#1", "Record one, edited.")).added == 1  # records move
    with engine.connect() as conn:
        rows = conn.execute(
            select(schema.articles.c.origin, schema.articles.c.text).order_by("origin", "text")
        ).all()
    assert [tuple(r) for r in rows] == [
        ("feeds/c.txt", "Linked."),
        ("seeds/a.txt", "Second draft."),
        ("seeds/b.txt", "Fixed copy."),
        ("seeds/b.txt", "Old copy."),
        ("seeds/r.jsonl#1", "Record one, edited."),
        ("seeds/r.jsonl#1", "Record one."),
    ]


def test_a_renamed_seed_file_keeps_its_article_and_a_later_edit_updates_it(
    store_url: str,
) -> None:
    """QA 4 #3: a file renamed (or moved, or its folder renamed) in one run and edited in a
    later one was stored a second time: the article kept the old path, so the edit found
    nothing by its new one. Now the article moves to the file that carries it, once the old
    file is gone from the seed read; a file that is still there keeps its article."""
    engine = store.open_store(store_url)

    def run(*files: tuple[str, str, str | None]) -> store.UpsertResult:
        batch = [
            normalise_item(replace(_item(body=body, url=url), origin=origin), NOW)
            for origin, body, url in files
        ]
        return store.upsert_articles(engine, batch, seed_origins={o for o, _, _ in files})

    def stored() -> list[tuple[str, str]]:
        with engine.connect() as conn:
            rows = select(schema.articles.c.origin, schema.articles.c.text).order_by("origin")
            return [tuple(r) for r in conn.execute(rows)]

    assert run(("seeds/peru.txt", "Coca rises.", None)).added == 1
    assert run(("seeds/peru-survey.txt", "Coca rises.", None)).added == 0  # renamed
    assert stored() == [("seeds/peru-survey.txt", "Coca rises.")]
    assert run(("seeds/peru-survey.txt", "Coca rises sharply.", None)).updated == 1  # edited
    assert run(("archive/peru-survey.txt", "Coca rises sharply.", None)).added == 0  # moved
    assert stored() == [("archive/peru-survey.txt", "Coca rises sharply.")]
    # a record with a URL in a renamed folder, edited on the same day: still its own text
    url = "https://example.org/r"
    assert run(("old/r.jsonl#1", "Record.", url)).added == 1
    result = run(("new/r.jsonl#1", "Record, corrected.", url))
    assert (result.added, result.updated) == (0, 1)
    # two files with the same text: the one stored keeps the article, nothing flips
    assert run(("seeds/a.txt", "Twin.", None), ("seeds/b.txt", "Twin.", None)).added == 1
    assert run(("seeds/a.txt", "Twin.", None), ("seeds/b.txt", "Twin.", None)).added == 0
    assert ("seeds/a.txt", "Twin.") in stored() and ("seeds/b.txt", "Twin.") not in stored()


def test_renaming_one_of_two_files_with_one_url_is_a_rename(store_url: str, tmp_path: Path) -> None:
    """QA 5 #11: a.jsonl and b.jsonl carry one story (two wires, one URL); renaming a.jsonl to
    c.jsonl replaced the stored text with b's, filed it under c.jsonl#1 and counted an update,
    and c's later edits were ignored. The rename keeps text A and moves the origin (and Wire
    A's source row) to c.jsonl#1; deleting the file instead hands the article to b, whole."""
    engine = store.open_store(store_url)
    folder = tmp_path / "seeds"
    folder.mkdir()
    text_a = "Ministers met in Quito on September 14. Version A of the text."
    text_b = "Ministers met in Quito on September 14. Version B, corrected."
    text_c = "Ministers met in Quito on September 14. Version A, second edit."

    def write(name: str, source: str, body: str) -> None:
        record = {
            "title": "Ministers meet in Quito",
            "text": body,
            "source": source,
            "published": "2025-09-15",
            "url": "https://wire.example/story-1",
        }
        (folder / name).write_text(json.dumps(record) + "\n", encoding="utf-8")

    def run() -> tuple[int, int]:
        read = read_seeds([folder])
        assert read.errors == []
        batch = [normalise_item(item, NOW) for item in read.items]
        origins = {item.origin for item in read.items}
        result = store.upsert_articles(engine, batch, seed_origins=origins)
        return result.added, result.updated

    def stored() -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
        a, s = schema.articles, schema.article_sources
        with engine.connect() as conn:
            [article] = conn.execute(select(a.c.origin, a.c.source, a.c.text)).all()
            sources = conn.execute(select(s.c.source, s.c.origin).order_by(s.c.source)).all()
        return tuple(article), [tuple(row) for row in sources]

    write("a.jsonl", "Wire A", text_a)
    write("b.jsonl", "Wire B", text_b)
    assert run() == (1, 0)
    assert run() == (0, 0)
    (folder / "a.jsonl").rename(folder / "c.jsonl")
    assert run() == (0, 0)
    assert stored() == (
        ("seeds/c.jsonl#1", "Wire A", text_a),
        [("Wire A", "seeds/c.jsonl#1"), ("Wire B", "seeds/b.jsonl#1")],
    )
    assert run() == (0, 0)
    write("c.jsonl", "Wire A", text_c)
    assert run() == (0, 1)
    assert stored()[0] == ("seeds/c.jsonl#1", "Wire A", text_c)
    (folder / "b.jsonl").rename(folder / "d.jsonl")  # the other wire's file renamed (QA 6b #3)
    assert run() == (0, 0)
    assert stored()[1] == [("Wire A", "seeds/c.jsonl#1"), ("Wire B", "seeds/d.jsonl#1")]
    (folder / "c.jsonl").unlink()  # gone for good: the other file carries the story now
    assert run() == (0, 1)
    # Wire B's file takes the article over; Wire A's row keeps its last file, not Wire B's
    assert stored() == (
        ("seeds/d.jsonl#1", "Wire B", text_b),
        [("Wire A", "seeds/c.jsonl#1"), ("Wire B", "seeds/d.jsonl#1")],
    )
