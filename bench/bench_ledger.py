"""Memory and time of remembering N handed-out article ids: a set of strings against IdLedger.

``BackgroundScorer`` remembers every id it hands to the workers during one run (issue 6: a
million-article backlog). Prints traced memory (``tracemalloc``) and CPU time for both, with ids
shaped like the store's (32 hex characters).

Usage:
    .venv/bin/python -m bench.bench_ledger --n 1000000
"""

from __future__ import annotations

import argparse
import hashlib
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

from pipeline.id_ledger import IdLedger

BATCH = 1000


def _batches(n: int) -> Iterator[list[str]]:
    """Fresh id strings a batch at a time, as the scorer meets them (freed unless kept)."""
    for start in range(0, n, BATCH):
        yield [
            hashlib.sha256(str(i).encode()).hexdigest()[:32] for i in range(start, start + BATCH)
        ]


def _measure(build: Callable[[int], Any], n: int) -> tuple[float, float]:
    """MB traced while the structure is alive, and CPU seconds to build it (ids included),
    each in its own pass: ``tracemalloc`` slows allocation-heavy code several times over."""
    started = time.process_time()
    build(n)
    seconds = time.process_time() - started
    tracemalloc.start()
    kept = build(n)
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return current / 1e6, seconds


def _string_set(n: int) -> set[str]:
    tried: set[str] = set()
    for batch in _batches(n):
        tried.update(i for i in batch if i not in tried)
    return tried


def _ledger(n: int) -> IdLedger:
    tried = IdLedger()
    for batch in _batches(n):
        tried.add([i for i, new in zip(batch, tried.is_new(batch), strict=True) if new])
    return tried


def main() -> None:
    """Print both structures' memory and build time for ``--n`` ids."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.process_time()
    for _batch in _batches(args.n):
        pass
    making = time.process_time() - started
    print(f"making the ids alone: {making:.2f} s CPU")  # noqa: T201
    for name, build in (("set of id strings", _string_set), ("IdLedger", _ledger)):
        megabytes, seconds = _measure(build, args.n)
        print(f"{name}: {megabytes:,.1f} MB, {seconds:.2f} s CPU for {args.n:,} ids")  # noqa: T201


if __name__ == "__main__":
    main()
