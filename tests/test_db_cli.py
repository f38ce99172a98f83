"""``policy-risk db current|upgrade|copy`` through the real CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, func, select

from pipeline import db_copy, migrations, queries, runlog, schema, store, totals
from pipeline.cli import cli
from pipeline.cli_db import db_group
from pipeline.config import load_config
from pipeline.engine import MIGRATION_LOCK, make_engine, write
from pipeline.errors import StoreError
from pipeline.records import Article, Score
from pipeline.run import run_pipeline, score_stored
from pipeline.scoring import load_models
from tests.conftest import SMALL_SEEDS, write_config
from tests.pg import store_url_fixture  # noqa: F401
from tests.pipeline_runs import trained_models_fixture, write_run_config  # noqa: F401
from tests.store_checks import assert_totals_consistent, per_article_rows

if "db" not in cli.commands:  # the lead registers the group in pipeline/cli.py
    cli.add_command(db_group)

COPIED = (
    "articles",
    "article_sources",
    "current_scores",
    "scores",
    "labels",
    "raw_items",
    "runs",
    "run_errors",
)


def _invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "db", *args])


@pytest.fixture(scope="module", name="filled_config")
def filled_config_fixture(tmp_path_factory: pytest.TempPathFactory, trained_models: Path) -> Path:
    """A SQLite store filled by the real pipeline: articles, scores, runs, an error, a label;
    and a feed whose fields hold what a plain-text copy must escape."""
    folder = tmp_path_factory.mktemp("filled")
    seeds = folder / "seeds"
    seeds.mkdir()
    for name, body in SMALL_SEEDS.items():
        (seeds / name).write_text(body, encoding="utf-8")
    (seeds / "broken.json").write_text("{not json", encoding="utf-8")
    config = write_run_config(folder, [seeds], trained_models)
    run_pipeline(load_config(config), include_feeds=False)
    engine = store.open_store(load_config(config).database.url)
    score_stored(engine, load_models(load_config(config)), rescore=True)  # a run of kind "score"
    article_id = queries.article_table(engine, ["decertification_risk"])["id"].iloc[0]
    store.save_label(engine, str(article_id), "decertification_risk", 1.0, "ana")
    with engine.begin() as conn:
        conn.execute(schema.feeds.insert().values(AWKWARD_FEED))
    engine.dispose()
    return config


AWKWARD_FEED = {
    "name": "Diario\tAndino",
    "url": "https://diario.example/rss?a=1&b=\\N",
    "etag": 'W/"tab\there"',
    "last_modified": None,
    "last_attempt_at": datetime(2026, 11, 2, 7, 30, 15, 123456, tzinfo=UTC),
    "last_success_at": datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC),
    "http_status": 304,
    "last_error": "line one\nline two\r\n\\ back\\slash, tab\t, \\N, café",
    "problems": "",
    "consecutive_failures": 2,
    "entries_seen": 10,
    "articles_added": 3,
    "next_attempt_at": datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
    "claimed_by": None,
    "claimed_until": None,
}


def _every_row(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Each copied table's rows; a key the target numbers itself shows as what it stands for."""
    engine = make_engine(url)
    found = {}
    with engine.connect() as conn:
        for plan in db_copy.PLANS:
            table, a = plan.table, schema.articles
            kept = [c for c in table.columns if c.name not in {"article_key", *plan.skip}]
            stmt = select(*kept)
            if "article_key" in table.c and table is not a:
                stmt = stmt.add_columns(a.c.article_id.label("owner")).join_from(
                    table, a, a.c.article_key == table.c.article_key
                )
            rows = [tuple(_utc(value) for value in row) for row in conn.execute(stmt)]
            found[table.name] = sorted(rows, key=repr)
    engine.dispose()
    return found


def _utc(value: object) -> object:
    """SQLite returns stored UTC times without their zone, PostgreSQL with it."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        out = {
            t: conn.execute(
                select(func.count()).select_from(schema.metadata.tables[t])
            ).scalar_one()
            for t in COPIED
        }
    engine.dispose()
    return out


def test_every_db_command_has_help_with_an_example() -> None:
    assert isinstance(db_group, click.Group)
    for name, command in db_group.commands.items():
        result = CliRunner().invoke(cli, ["db", name, "--help"])
        assert result.exit_code == 0, result.output
        assert "Example: policy-risk db" in (command.help or ""), name


def test_current_and_upgrade_on_a_new_store(tmp_path: Path, trained_models: Path) -> None:
    config = write_run_config(tmp_path, [], trained_models)
    result = _invoke(config, "current", "--check")
    assert result.exit_code == 1 and "no database at" in result.output
    result = _invoke(config, "upgrade")
    assert result.exit_code == 0, result.output
    assert f"created the schema at revision {schema.HEAD_REVISION}" in result.output
    assert _invoke(config, "upgrade").output.endswith("(head); nothing to do.\n")
    result = _invoke(config, "status", "--check")
    assert result.exit_code == 0 and "up to date" in result.output


def test_current_on_a_missing_sqlite_file_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A status check reports the missing file instead of creating an empty database there
    (after which the dashboard would say "no articles" rather than "no database yet")."""
    (tmp_path / "cfg").mkdir()
    config = write_config(tmp_path / "cfg")
    database = tmp_path / "data" / "y.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    result = _invoke(config, "current")
    assert result.exit_code == 0, result.output
    assert f"no database at {database}" in result.output
    checked = _invoke(config, "status", "--check")
    assert checked.exit_code == 1 and f"no database at {database}" in checked.output
    assert not database.exists() and not database.parent.exists()
    database.parent.mkdir()
    database.touch()  # an existing empty file is a store without a schema
    result = _invoke(config, "current", "--check")
    assert result.exit_code == 1 and "empty database" in result.output


def test_upgrade_moves_an_old_store_to_head(
    store_url: str, tmp_path: Path, trained_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(store_url)
    write(engine, lambda conn: migrations.upgrade(conn, "0001"), lock=MIGRATION_LOCK)
    monkeypatch.setenv("DATABASE_URL", store_url)
    config = write_run_config(tmp_path, [], trained_models)
    result = _invoke(config, "current", "--check")
    assert result.exit_code == 1 and "run `policy-risk db upgrade`" in result.output
    result = _invoke(config, "upgrade")
    assert result.exit_code == 0, result.output
    assert f"upgraded from revision 0001 to {schema.HEAD_REVISION}" in result.output
    engine.dispose()


def test_copy_into_an_empty_store_twice_duplicates_nothing(
    filled_config: Path, store_url: str
) -> None:
    source_url = load_config(filled_config).database.url
    first = _invoke(filled_config, "copy", "--to", store_url, "--batch-size", "2")
    assert first.exit_code == 0, first.output
    assert "target was at: empty" in first.output
    expected = _counts(source_url)
    assert _counts(store_url) == expected and expected["articles"] == 3
    again = _invoke(filled_config, "copy", "--to", store_url)
    assert again.exit_code == 0, again.output
    assert _counts(store_url) == expected
    source, target = store.open_store(source_url), store.open_store(store_url)
    signals = ["decertification_risk", "cooperation_tone"]
    for engine in (source, target):
        assert_totals_consistent(engine, signals)
    want = queries.daily_signal_stats(source, signals)
    got = queries.daily_signal_stats(target, signals)
    assert got.astype(str).values.tolist() == want.astype(str).values.tolist()
    assert queries.store_summary(target)["scored"] == 3
    assert queries.recent_runs(target)["kind"].tolist() == ["score", "run"]  # the kinds copied
    assert store.start_run(target) > max(queries.recent_runs(source)["run_id"])  # ids move on


def test_copy_keeps_every_value_of_every_row(filled_config: Path, store_url: str) -> None:
    """Times stay the same instants; text keeps its tabs, line breaks and backslashes."""
    result = _invoke(filled_config, "copy", "--to", store_url, "--batch-size", "2")
    assert result.exit_code == 0, result.output
    source = _every_row(load_config(filled_config).database.url)
    assert all(source[p.table.name] for p in db_copy.PLANS)  # every table has rows to carry
    assert _every_row(store_url) == source


def test_a_row_whose_article_the_target_lacks_stops_the_batch_and_loses_nothing(
    store_url: str,
) -> None:
    """Rows of a per-article table are keyed by their article's id in the target; none may
    be dropped silently (PostgreSQL's join would) or crash without naming the article."""
    engine = store.open_store(store_url)
    plan = next(p for p in db_copy.PLANS if p.table is schema.article_score_keys)
    kept = {"article_key": 1, "score_key": "abc", db_copy.OWNER: "present"}
    article = {
        "article_id": "present",
        "title": "T",
        "text": "Body",
        "source": "S",
        "language": "en",
        "url": None,
        "page_date": None,
        "event_date": date(2026, 1, 2),
        "ingested_at": datetime(2026, 1, 2, tzinfo=UTC),
        "updated_at": datetime(2026, 1, 2, tzinfo=UTC),
        "content_hash": "h",
        "origin": "o",
        "date_flags": "",
        "article_key": 7,
    }
    articles = next(p for p in db_copy.PLANS if p.table is schema.articles)
    write(engine, partial(db_copy.insert_batch, plan=articles, rows=[article]))
    write(engine, partial(db_copy.insert_batch, plan=plan, rows=[kept]))
    orphan = {**kept, "article_key": 2, db_copy.OWNER: "gone-story"}
    with pytest.raises(
        StoreError, match="cannot copy article_score_keys: a row belongs to article 'gone-story'"
    ):
        write(
            engine,
            partial(db_copy.insert_batch, plan=plan, rows=[{**kept, "score_key": "new"}, orphan]),
        )
    with engine.connect() as conn:
        stored = conn.execute(select(schema.article_score_keys.c.score_key)).scalars().all()
    assert stored == ["abc"]  # the batch rolled back whole; the row stored before stays
    engine.dispose()


def test_copy_into_a_store_with_its_own_articles_keys_every_row_by_its_article(
    filled_config: Path, store_url: str
) -> None:
    """Article keys are numbered per store: the source's keys 1.. are taken in the target."""
    target = store.open_store(store_url)
    own = Article(
        article_id="own-story",
        title="Coca eradication talks resume",
        text="Officials met again about eradication targets.",
        source="Local desk",
        language="en",
        url=None,
        page_date=None,
        event_date=date(2025, 9, 1),
        ingested_at=datetime(2025, 9, 1, 12, tzinfo=UTC),
        content_hash="own-hash",
    )
    store.upsert_articles(target, [own])
    score = Score("own-story", "decertification_risk", 0.4, "own-v1", own.ingested_at)
    store.save_scores(target, [score], {"own-story": "own-hash"})
    mine = per_article_rows(target)
    result = _invoke(filled_config, "copy", "--to", store_url)
    assert result.exit_code == 0, result.output
    source = store.open_store(load_config(filled_config).database.url)
    theirs, after = per_article_rows(source), per_article_rows(target)
    assert after == {t: sorted(mine[t] + theirs[t]) for t in after}
    with target.connect() as conn:
        keys = conn.execute(select(schema.articles.c.article_key)).scalars().all()
    assert sorted(keys) == list(range(1, 5))
    assert_totals_consistent(target, ["decertification_risk", "cooperation_tone"])


def test_copy_into_an_older_store_upgrades_it_first(filled_config: Path, store_url: str) -> None:
    engine = make_engine(store_url)
    write(engine, lambda conn: migrations.upgrade(conn, "0001"), lock=MIGRATION_LOCK)
    result = _invoke(filled_config, "copy", "--to", store_url)
    assert result.exit_code == 0, result.output
    assert "target was at: 0001" in result.output
    assert _counts(store_url)["articles"] == 3
    engine.dispose()


def test_copy_refuses_a_newer_target_and_the_source_itself(
    filled_config: Path, tmp_path: Path
) -> None:
    target = f"sqlite:///{tmp_path / 'newer.db'}"
    with store.open_store(target).begin() as conn:
        conn.execute(schema.metadata.tables["schema_info"].update().values(value="2"))
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0999'")
    result = _invoke(filled_config, "copy", "--to", target)
    assert result.exit_code == 1
    assert "revision 0999, newer than this program knows" in result.output
    same = _invoke(filled_config, "copy", "--to", load_config(filled_config).database.url)
    assert same.exit_code == 1 and "source and target are the same database" in same.output


def _closed_port() -> int:
    """A local port nothing listens on (bound once to find a free one, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_server_is_one_line_with_the_password_masked(
    filled_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`db current` is the connection check deploy.md recommends: no traceback, no password."""
    port = _closed_port()
    url = f"postgresql+psycopg://postgres:S3CRETpw@127.0.0.1:{port}/a"
    shown = f"Error: cannot open database postgresql+psycopg://postgres:***@127.0.0.1:{port}/a: "
    copied = _invoke(filled_config, "copy", "--to", url)
    monkeypatch.setenv("DATABASE_URL", url)
    checked = _invoke(write_config(tmp_path), "current", "--check")
    for result in (checked, copied):
        assert result.exit_code == 1, result.output
        assert shown in result.output and "connection" in result.output
        assert "S3CRETpw" not in result.output and "Traceback" not in result.output


def test_copy_from_a_missing_sqlite_file_creates_nothing(
    filled_config: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "gone" / "nonexist.db"
    target = f"sqlite:///{tmp_path / 'target.db'}"
    result = _invoke(filled_config, "copy", "--from", f"sqlite:///{missing}", "--to", target)
    assert result.exit_code == 1
    assert f"no database at {missing}" in result.output
    assert not missing.exists() and not missing.parent.exists()


def _labels(engine: Engine) -> list[tuple[object, ...]]:
    """Every label as what it records (its id is the store's own number)."""
    lb = schema.labels
    names = ("article_id", "signal", "new_value", "labelled_by", "labelled_at", "content_hash")
    with engine.connect() as conn:
        rows = conn.execute(select(*(lb.c[n] for n in names))).all()
    return sorted(tuple(_utc(v) for v in row) for row in rows)


def _run_errors(engine: Engine) -> list[tuple[object, ...]]:
    """Every run error with its run's start time, as any store knows it."""
    r, e = schema.runs, schema.run_errors
    stmt = select(r.c.started_at, e.c.source, e.c.message).join_from(e, r)
    with engine.connect() as conn:
        return sorted(tuple(_utc(v) for v in row) for row in conn.execute(stmt))


def _assert_score_keys_recomputed(engine: Engine) -> None:
    """Each stored score key is the one the article's content and current scores give."""
    k, a = schema.article_score_keys, schema.articles
    with engine.connect() as conn:
        stored = dict(conn.execute(select(a.c.article_id, k.c.score_key).join_from(a, k)).all())
        state = totals.load_state(conn, list(stored))
    assert stored == totals.score_keys(state)


def test_copy_into_a_store_with_its_own_labels_runs_and_newer_scores_loses_none(
    filled_config: Path, store_url: str, tmp_path: Path
) -> None:
    """QA 2 B: label, run and error ids clash between the two stores, and the target scored an
    article later than the source; the copy keeps every label, run and error of both, keeps the
    newer score, and a second copy adds nothing."""
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    assert _invoke(filled_config, "copy", "--to", source_url).exit_code == 0
    assert _invoke(filled_config, "copy", "--from", source_url, "--to", store_url).exit_code == 0
    source, target = store.open_store(source_url), store.open_store(store_url)
    first, second, *_ = sorted(queries.article_table(source, ["decertification_risk"])["id"])
    store.save_label(source, str(first), "decertification_risk", 0.9, "alice-sqlite")
    store.save_label(target, str(second), "decertification_risk", 0.1, "bob-pg")  # same id
    for engine, name in ((source, "source"), (target, "target")):
        run = store.start_run(engine)  # the same id in both stores
        store.record_source_error(engine, run, f"seeds/{name}.txt", f"broken in the {name}")
        store.finish_run(engine, run, "partial", {})
    with target.connect() as conn:
        content = conn.execute(
            select(schema.articles.c.content_hash).where(schema.articles.c.article_id == first)
        ).scalar_one()
    later = datetime.now(UTC)
    newer = Score(str(first), "decertification_risk", 0.77, "retrained-v2", later)
    store.save_scores(target, [newer], {str(first): content})
    want_labels = sorted({*_labels(source), *_labels(target)})
    assert all(label[-1] for label in want_labels)  # each records the text it was given on
    want_errors = sorted({*_run_errors(source), *_run_errors(target)})
    runs = len(queries.recent_runs(source)) + 1

    for _ in range(2):  # the second copy of the same source adds nothing
        result = _invoke(filled_config, "copy", "--from", source_url, "--to", store_url)
        assert result.exit_code == 0, result.output
        assert _labels(target) == want_labels and len(want_labels) == 3
        assert _run_errors(target) == want_errors
        assert _counts(store_url)["runs"] == runs
        current = queries.article_table(target, ["decertification_risk"])
        kept = current.loc[current["id"] == first, "decertification_risk"]
        assert kept.tolist() == [0.77]  # not reverted to the source's older score
        assert_totals_consistent(target, ["decertification_risk", "cooperation_tone"])
        _assert_score_keys_recomputed(target)
    assert store.start_run(target) > runs  # the target's ids move on past both stores' runs
    source.dispose()
    target.dispose()


def _run_row(engine: Engine, started_at: datetime) -> tuple[object, ...]:
    r = schema.runs
    names = ("status", "finished_at", "articles_added", "sources_failed")
    with engine.connect() as conn:
        rows = conn.execute(select(*(r.c[n] for n in names), r.c.started_at)).all()
    [row] = [row[:-1] for row in rows if _utc(row[-1]) == started_at]
    return tuple(_utc(v) for v in row)


def test_a_run_copied_while_running_gets_its_end_from_a_later_copy(
    filled_config: Path, store_url: str, tmp_path: Path
) -> None:
    """A copy taken mid-run stores the run as running; copying again after it ended brings the
    end, status and counts; an older copy of the source never takes an ended run back."""
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    older_url = f"sqlite:///{tmp_path / 'older.db'}"
    assert _invoke(filled_config, "copy", "--to", source_url).exit_code == 0
    source = store.open_store(source_url)
    run = store.start_run(source)
    with source.connect() as conn:
        started = _utc(
            conn.execute(select(schema.runs.c.started_at).where(schema.runs.c.run_id == run))
            .scalar_one()
        )
    for url in (store_url, older_url):  # the copy mid-run, and a backup taken then
        assert _invoke(filled_config, "copy", "--from", source_url, "--to", url).exit_code == 0
    target = store.open_store(store_url)
    assert _run_row(target, started)[:2] == ("running", None)
    write(source, lambda conn: runlog.add_counts(conn, run, articles_added=7))
    store.finish_run(source, run, "partial", {"sources_failed": 2})
    ended = _run_row(source, started)
    assert ended[0] == "partial" and ended[2:] == (7, 2)

    result = _invoke(filled_config, "copy", "--from", source_url, "--to", store_url)
    assert result.exit_code == 0, result.output
    assert _run_row(target, started) == ended
    result = _invoke(filled_config, "copy", "--from", older_url, "--to", store_url)
    assert result.exit_code == 0, result.output
    assert _run_row(target, started) == ended  # the older "running" row does not win
    source.dispose()
    target.dispose()
