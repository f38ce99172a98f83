"""Run the pipeline on a schedule, one cycle at a time, until SIGINT or SIGTERM.

An analyst leaves this running (issue 3), so it must never overlap itself (an exclusive lock
file beside the SQLite database, or beside the config for other databases), must survive any
single cycle's failure (logged, then the next cycle runs on time), and must stop cleanly: a
signal only sets a flag, so the cycle in progress finishes its batch before the loop exits.
A second signal while finishing restores the default handler and interrupts at once.
Each cycle first re-reads the config file if its bytes changed (QA3 #7: feeds added by
``feeds import`` were never fetched until a restart); a file that no longer loads is reported in
one line and the last good config stays in use.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from pipeline.config import Config, load_config
from pipeline.engine import safe_url
from pipeline.errors import ConfigError, PipelineError

log = logging.getLogger(__name__)
_INTERVAL = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}
MIN_INTERVAL_S = 1.0


class CycleSummary(Protocol):
    """The fields of ``pipeline.run.RunSummary`` the watch log line uses."""

    @property
    def added(self) -> int: ...
    @property
    def updated(self) -> int: ...
    @property
    def scored(self) -> int: ...
    @property
    def sources_ok(self) -> int: ...
    @property
    def sources_failed(self) -> int: ...
    @property
    def sources_skipped(self) -> int: ...
    @property
    def backing_off(self) -> tuple[str, ...]: ...


Cycle = Callable[[Config, str], CycleSummary]


def parse_interval(text: str) -> float:
    """Read ``15m``, ``30s``, ``1h30m``, ``2d`` or plain seconds; refuse anything else."""
    compact = text.strip().replace(" ", "")
    parts = _INTERVAL.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ConfigError(f"--every: expected an interval like 30s, 15m or 1h, got {text!r}")
    seconds = sum(float(number) * _UNITS[unit.lower()] for number, unit in parts)
    if seconds < MIN_INTERVAL_S:
        raise ConfigError(f"--every: expected at least {MIN_INTERVAL_S:g} s, got {text!r}")
    return seconds


def lock_path(config: Config) -> Path:
    """Where the watch lock lives: beside the SQLite file, else beside the config file under a
    name drawn from the database URL (password left out), so two configs in one folder that
    name different PostgreSQL databases do not block each other."""
    url = config.database.url
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        database = Path(url[len("sqlite:///"):])
        return database.with_name(database.name + ".watch.lock")
    digest = hashlib.sha256(safe_url(url).encode("utf-8")).hexdigest()[:12]
    return config.base_dir / f".policy-risk-watch-{digest}.lock"


@contextmanager
def watch_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path``; refuse at once if another watch holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PipelineError(
                f"another watch is already running on this database (lock {path})"
            ) from None
        os.ftruncate(handle, 0)
        os.write(handle, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(handle)  # closing releases the lock


class _StopFlag:
    """Set by SIGINT/SIGTERM; the loop checks it between cycles."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach only the main thread; elsewhere the caller stops via max_cycles
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        log.warning("received %s: stopping after the current cycle", signal.Signals(signum).name)
        self.event.set()
        signal.signal(signum, self.previous.get(signum, signal.SIG_DFL))


def run_watch(
    config: Config,
    *,
    every_s: float,
    worker: str = "local",
    max_cycles: int | None = None,
    cycle: Cycle | None = None,
    report: Callable[[str], None] = log.info,
    on_start: Callable[[], None] = lambda: None,
) -> int:
    """Run ``cycle`` every ``every_s`` seconds until a signal or ``max_cycles``; count cycles.

    ``on_start`` runs once the lock is held, so a refused second watch never announces itself.
    """
    run_cycle = cycle or _pipeline_cycle
    stop = _StopFlag()
    with watch_lock(lock_path(config)):
        on_start()
        stop.install()
        try:
            check = _models_load if cycle is None else None  # the pipeline needs its models
            configs = ConfigReloader(config, report, check)
            return _loop(configs, every_s, worker, max_cycles, run_cycle, report, stop.event)
        finally:
            stop.restore()


class ConfigReloader:
    """The config to use for the next cycle: re-read when the file's bytes change.

    A content digest rather than the mtime, so an edit within the same second (or a copy that
    keeps the mtime) is still seen. A file that does not load, or that names another database
    (the watch lock belongs to the first one), is reported once and the last good config kept.
    """

    def __init__(
        self,
        config: Config,
        report: Callable[[str], None],
        check: Callable[[Config], None] | None = None,
    ) -> None:
        self.config = config
        self._report = report
        self._check = check  # raises PipelineError for a config the cycles could not use
        self._seen = _digest(config.path)

    def current(self) -> Config:
        """Return the config for this cycle, reloading it first if the file changed."""
        digest = _digest(self.config.path)
        if digest == self._seen:
            return self.config
        self._seen = digest
        path = self.config.path
        try:
            fresh = load_config(path)
            if self._check is not None:
                self._check(fresh)
        except PipelineError as exc:
            self._report(f"config {path} changed but does not load, "
                         f"still using the last good config: {exc}")
            return self.config
        if fresh.database.url != self.config.database.url:
            self._report(f"config {path} changed its database (now {safe_url(fresh.database.url)})"
                         ": still using the last good config; restart watch to switch databases")
            return self.config
        self.config = fresh
        self._report(f"config {path} changed: reloaded ({len(fresh.sources.feeds)} feeds, "
                     f"{len(fresh.signals)} signals)")
        return fresh


def _models_load(config: Config) -> None:
    """Refuse a config whose models do not load: taken, it would fail every cycle before any
    feed is fetched (a typo in a model path would stop a running watch's ingestion)."""
    from pipeline.scoring import load_models

    load_models(config)


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None  # missing or unreadable: load_config names the problem if it matters


def _loop(
    configs: ConfigReloader,
    every_s: float,
    worker: str,
    max_cycles: int | None,
    run_cycle: Cycle,
    report: Callable[[str], None],
    stop: threading.Event,
) -> int:
    count = 0
    while not stop.is_set():
        started = time.monotonic()
        count += 1
        report(_one_cycle(configs.current(), worker, run_cycle, count, started))
        if max_cycles is not None and count >= max_cycles:
            break
        stop.wait(max(0.0, every_s - (time.monotonic() - started)))
    return count


def _one_cycle(config: Config, worker: str, run_cycle: Cycle, number: int, started: float) -> str:
    """Run one cycle and describe it in one line; a failed cycle is reported, not raised."""
    try:
        summary = run_cycle(config, worker)
    except PipelineError as exc:
        return f"cycle {number}: failed after {time.monotonic() - started:.1f} s: {exc}"
    except Exception as exc:  # noqa: BLE001 - the watch outlives a bad cycle; the trace is logged
        log.exception("cycle %d crashed", number)
        return f"cycle {number}: crashed after {time.monotonic() - started:.1f} s: {exc!r}"[:500]
    not_due = f", not due {summary.sources_skipped}" if summary.sources_skipped else ""
    if summary.backing_off:
        not_due += f", backing off {len(summary.backing_off)}"
    return (
        f"cycle {number}: sources ok {summary.sources_ok}, failed {summary.sources_failed}"
        f"{not_due}; "
        f"articles added {summary.added}, updated {summary.updated}, scored {summary.scored} "
        f"in {time.monotonic() - started:.1f} s"
    )


def _pipeline_cycle(config: Config, worker: str) -> CycleSummary:
    from pipeline.run import run_pipeline

    return run_pipeline(config, worker=worker)
