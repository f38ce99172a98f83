"""Timing helpers shared by the read benchmarks: wall and CPU time, cold calls, load average."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from pipeline.store import open_store


def wall_cpu_ms(call: Callable[[], Any]) -> tuple[float, float]:
    """Wall and CPU time of one call: on a shared machine the CPU time shows the work itself."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def wall_ms(call: Callable[[], Any]) -> float:
    """Wall time of one call."""
    return wall_cpu_ms(call)[0]


def warm_ms(call: Callable[[], Any], rounds: int) -> tuple[float, float]:
    """Median wall and median CPU time of ``rounds`` calls in this process."""
    runs = [wall_cpu_ms(call) for _ in range(rounds)]
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def cold_ms(module: str, args: Sequence[str]) -> float:
    """Run ``python -m module *args`` (which prints one wall time in ms) and return that figure:
    the read as the first call of a fresh process."""
    command = [sys.executable, "-m", module, *args]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def load() -> str:
    """The 1-, 5- and 15-minute load averages."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def compare_paths(
    module: str,
    args: Sequence[str],
    cases: Sequence[str],
    paths: Sequence[str],
    read: Callable[[str, str], Any],
    rounds: int,
    note: Callable[[str], str] | None = None,
) -> None:
    """Print a Markdown table timing each case by each path (cold and warm), and stop with an
    error when the paths' results differ. ``module --one PATH CASE`` must print one cold time;
    ``note(case)`` adds a column (the header takes its name from the function's docstring)."""
    print(f"load average before: {load()}")  # noqa: T201
    extra = f" {note.__doc__} |" if note else ""
    print(f"| case |{extra} path | rows | cold ms | warm ms | warm CPU ms |")  # noqa: T201
    print("|---|" + ("---|" if note else "") + "---|---:|---:|---:|---:|")  # noqa: T201
    for case in cases:
        shown = f" {note(case)} |" if note else ""
        results = {}
        for path in paths:
            cold = cold_ms(module, [*args, "--one", path, case])
            results[path] = read(path, case)
            warm, cpu = warm_ms(partial(read, path, case), rounds)
            times = f"{cold:,.0f} | {warm:,.0f} | {cpu:,.0f}"
            line = f"| {case} |{shown} {path} | {len(results[path]):,} | {times} |"
            print(line, flush=True)  # noqa: T201
        first = results[paths[0]].astype(str)
        if any(not first.equals(results[p].astype(str)) for p in paths[1:]):
            raise SystemExit(f"the paths disagree for {case!r}")
    print(f"load average after: {load()}; every path gave the same result")  # noqa: T201


def comparison_main(
    module: str,
    doc: str,
    cases: Sequence[str],
    paths: Sequence[str],
    read: Callable[[Engine, str, str], Any],
    rounds: int,
    note: Callable[[Engine, str], str] | None = None,
) -> None:
    """The command line of a two-path read benchmark: ``--db`` (a SQLite store), ``--rounds``,
    and the hidden ``--one PATH CASE`` its cold calls run in a fresh process."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--one", nargs=2, metavar=("PATH", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    engine = open_store(f"sqlite:///{args.db}", create=False)
    if args.one:
        print(f"{wall_ms(partial(read, engine, *args.one)):.1f}")  # noqa: T201
        return
    shown = None
    if note is not None:
        shown = partial(note, engine)
        shown.__doc__ = note.__doc__
    compare_paths(
        module, ["--db", str(args.db)], cases, paths, partial(read, engine), args.rounds, shown
    )
