"""The watch loop: schedule, no overlap, survives failures, stops cleanly on signals (issue 3)."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli_feeds import watch_command
from pipeline.config import Config, DatabaseConfig, load_config
from pipeline.errors import ConfigError, PipelineError, SourceError
from pipeline.store import open_store
from pipeline.watch import lock_path, parse_interval, run_watch, watch_lock
from tests.feed_server import FeedServer, feed_server_fixture, ingest, make_config, rss, story  # noqa: F401


@dataclass(frozen=True)
class Summary:
    """The RunSummary fields the watch reports."""

    added: int = 0
    updated: int = 0
    scored: int = 0
    sources_ok: int = 0
    sources_failed: int = 0
    sources_skipped: int = 0
    backing_off: tuple[str, ...] = ()


@pytest.mark.parametrize(("text", "seconds"), [
    ("15m", 900), ("30s", 30), ("1h", 3600), ("1h30m", 5400), ("90", 90), ("2d", 172_800),
    ("1.5m", 90), (" 10 m ", 600),
])
def test_parse_interval_reads_units(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "15x", "m", "0s", "-5m", "0.5"])
def test_parse_interval_refuses_nonsense(text: str) -> None:
    with pytest.raises(ConfigError, match="--every"):
        parse_interval(text)


def test_watch_runs_cycles_and_logs_one_line_each(tmp_path: Path) -> None:
    config = make_config(tmp_path, [])
    lines: list[str] = []
    calls: list[str] = []

    def cycle(_config: Config, worker: str) -> Summary:
        calls.append(worker)
        return Summary(added=2, sources_ok=1)

    count = run_watch(config, every_s=0.01, worker="w1", max_cycles=3, cycle=cycle,
                      report=lines.append)
    assert count == 3 and calls == ["w1"] * 3
    assert len(lines) == 3 and lines[0].startswith("cycle 1: sources ok 1, failed 0; articles "
                                                   "added 2, updated 0, scored 0 in ")


def test_watch_line_counts_feeds_that_were_not_due(tmp_path: Path) -> None:
    lines: list[str] = []
    run_watch(make_config(tmp_path, []), every_s=0.01, max_cycles=1,
              cycle=lambda _c, _w: Summary(sources_ok=1, sources_skipped=2,
                                           backing_off=("feed:a", "feed:b", "feed:c")),
              report=lines.append)
    assert lines[0].startswith(
        "cycle 1: sources ok 1, failed 0, not due 2, backing off 3; articles added 0")


def test_watch_survives_failing_cycles(tmp_path: Path) -> None:
    config = make_config(tmp_path, [])
    failures = iter([SourceError("feed store locked"), RuntimeError("bug"), None])
    lines: list[str] = []

    def cycle(_config: Config, _worker: str) -> Summary:
        failure = next(failures)
        if failure is not None:
            raise failure
        return Summary()

    assert run_watch(config, every_s=0.01, max_cycles=3, cycle=cycle, report=lines.append) == 3
    assert "failed after" in lines[0] and "feed store locked" in lines[0]
    assert "crashed after" in lines[1] and "RuntimeError('bug')" in lines[1]
    assert lines[2].startswith("cycle 3: sources ok")


def test_watch_never_overlaps_itself(tmp_path: Path) -> None:
    config = make_config(tmp_path, [])
    assert lock_path(config) == tmp_path / "store.db.watch.lock"
    with watch_lock(lock_path(config)):
        with pytest.raises(PipelineError, match="another watch is already running"):
            run_watch(config, every_s=1, max_cycles=1, cycle=lambda c, w: Summary())
    assert run_watch(config, every_s=1, max_cycles=1, cycle=lambda c, w: Summary()) == 1


def test_watch_locks_a_postgresql_store_per_database_not_per_folder(tmp_path: Path) -> None:
    def at(url: str) -> Path:
        config = make_config(tmp_path, [])
        return lock_path(config.model_copy(update={"database": DatabaseConfig(url=url)}))

    team = at("postgresql+psycopg://monitor:one@db.internal:5432/team")
    assert team.parent == tmp_path and team.name.endswith(".lock")
    assert at("postgresql+psycopg://monitor:two@db.internal:5432/team") == team  # same database
    assert at("postgresql+psycopg://monitor:one@db.internal:5432/other") != team
    assert "one" not in team.name


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_watch_stops_after_the_current_cycle_on_signal(tmp_path: Path, signum: int) -> None:
    config = make_config(tmp_path, [])
    finished: list[int] = []
    before = signal.getsignal(signum)

    def cycle(_config: Config, _worker: str) -> Summary:
        if len(finished) == 1:
            os.kill(os.getpid(), signum)  # arrives mid-batch...
        finished.append(len(finished))  # ...and the batch still completes
        return Summary()

    count = run_watch(config, every_s=0.01, max_cycles=50, cycle=cycle, report=lambda _: None)
    assert count == 2 and finished == [0, 1]
    assert signal.getsignal(signum) == before


def test_watch_with_real_feeds_keeps_going_past_a_broken_one(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    good = feed_server.add("/watch/good.xml", rss("G", [story(1), story(2)]), etag='"g"')
    broken = feed_server.add("/watch/broken.xml", b"nope", status=500)
    config = make_config(tmp_path, [{"name": "good", "url": good}, {"name": "broken", "url": broken}])
    engine = open_store(config.database.url)

    def cycle(cfg: Config, worker: str) -> Summary:
        result = ingest(cfg, engine, worker=worker)
        return Summary(
            added=sum(r.added for r in result.upserts.values()),
            sources_ok=sum(o.status in ("ok", "not-modified") for o in result.outcomes.values()),
            sources_failed=sum(o.status == "failed" for o in result.outcomes.values()),
        )

    lines: list[str] = []
    run_watch(config, every_s=0.01, max_cycles=2, cycle=cycle, report=lines.append)
    assert "sources ok 1, failed 1; articles added 2" in lines[0]
    assert "sources ok 1, failed 0; articles added 0" in lines[1]  # 304, and broken backs off


def test_watch_command_runs_and_reports(tmp_path: Path) -> None:
    config = make_config(tmp_path, [])
    result = CliRunner().invoke(watch_command, ["--every", "1s", "--max-cycles", "1"],
                                obj={"config": config})
    assert result.exit_code == 0, result.output
    assert "watching every 1s" in result.output and " cycle 1: " in result.output
    assert "stopped after 1 cycles" in result.output


def test_watch_command_refused_by_the_lock_prints_no_banner(tmp_path: Path) -> None:
    config = make_config(tmp_path, [])
    with watch_lock(lock_path(config)):
        result = CliRunner().invoke(watch_command, ["--every", "1s", "--max-cycles", "1"],
                                    obj={"config": config})
    assert isinstance(result.exception, PipelineError)
    assert "another watch is already running" in str(result.exception)
    assert result.output == ""


def test_watch_command_refuses_bad_interval(tmp_path: Path) -> None:
    result = CliRunner().invoke(watch_command, ["--every", "often"],
                                obj={"config": make_config(tmp_path, [])})
    assert isinstance(result.exception, ConfigError)


def test_watch_command_has_help_with_an_example() -> None:
    result = CliRunner().invoke(watch_command, ["--help"])
    assert result.exit_code == 0 and "Example: policy-risk watch --every 15m" in result.output


_CONFIG_TEXT = """\
database:
  url: sqlite:///store.db   # beside this file
sources:
  feeds:
    - {name: A, url: "http://127.0.0.1:9/a.xml"}
signals:
  risk: {label: Risk, weight: 1.0}
"""


def test_watch_reloads_a_changed_config_and_keeps_the_last_good_one(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(_CONFIG_TEXT, encoding="utf-8")
    edits = iter([
        _CONFIG_TEXT.replace('a.xml"}', 'a.xml"}\n    - {name: B, url: "http://127.0.0.1:9/b.xml"}'),
        "sources: [unclosed\n",  # a bad save: the watch must keep going with the last good config
        None,  # unchanged broken file: reported once, not every cycle
        _CONFIG_TEXT.replace("name: A", "name: C"),
    ])
    seen: list[list[str]] = []
    lines: list[str] = []

    def cycle(config: Config, _worker: str) -> Summary:
        seen.append([feed.name for feed in config.sources.feeds])
        edit = next(edits, None)
        if edit is not None:
            path.write_text(edit, encoding="utf-8")
        return Summary()

    run_watch(load_config(path), every_s=0.01, max_cycles=5, cycle=cycle, report=lines.append)
    assert seen == [["A"], ["A", "B"], ["A", "B"], ["A", "B"], ["C"]]
    notes = [line for line in lines if line.startswith("config ")]
    assert notes[0] == f"config {path} changed: reloaded (2 feeds, 1 signals)"
    assert notes[1].startswith(f"config {path} changed but does not load, still using the last "
                               "good config: config.yaml: invalid YAML")
    assert notes[1].endswith("(line 2)")
    assert notes[2] == f"config {path} changed: reloaded (1 feeds, 1 signals)"
    assert len(notes) == 3 and len(lines) == 8


def test_watch_keeps_its_database_when_the_config_names_another(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(_CONFIG_TEXT, encoding="utf-8")
    urls: list[str] = []
    lines: list[str] = []

    def cycle(config: Config, _worker: str) -> Summary:
        urls.append(config.database.url)
        path.write_text(_CONFIG_TEXT.replace("store.db", "other.db"), encoding="utf-8")
        return Summary()

    run_watch(load_config(path), every_s=0.01, max_cycles=2, cycle=cycle, report=lines.append)
    assert urls == [f"sqlite:///{tmp_path / 'store.db'}"] * 2
    assert "restart watch to switch databases" in lines[1]


def test_a_reloaded_config_whose_models_do_not_load_is_not_taken(tmp_path: Path) -> None:
    """QA 4 #4: a typo in a model path used to be taken as the new config, and then every cycle
    failed before fetching anything. The pipeline's watch checks the models load first."""
    from pipeline.watch import ConfigReloader, _models_load
    from tests.conftest import write_config

    path = write_config(tmp_path, seeds=[])
    lines: list[str] = []
    reloader = ConfigReloader(load_config(path), lines.append, _models_load)
    good = reloader.current()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("models/cooperation_tone", "models/nonexistent"), "utf-8")
    assert reloader.current() is good
    assert lines[0].startswith(f"config {path} changed but does not load, still using the last "
                               "good config: no trained model for signal 'cooperation_tone'")
    path.write_text(text.replace("weight: 0.4", "weight: 0.3"), "utf-8")
    assert reloader.current().signals["cooperation_tone"].weight == 0.3
