"""Two ``policy-risk run`` processes started together on one stored, unscored backlog.

What a team sees after a first import or a model roll-out when two workers' cycles overlap:
both find the same backlog pending. Prints one JSON line: the wall time until both finished,
the CPU time of the runs and their scoring workers together, and what each run scored and
scored in vain. ``--root`` runs another checkout's ``pipeline`` (to compare before and after).

    python -m bench.bench_two_runs --n 20000 [--workers 1] [--root /path/to/checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_SCORED = re.compile(r"Run \d+: (\d+) added, (\d+) updated, (\d+) scored")
_IN_VAIN = re.compile(r"(\d+) article\(s\) scored by this run had been saved by another run first")


def write_config(folder: Path, seeds: Path, models: Path) -> Path:
    """A config on a SQLite file in ``folder`` reading ``seeds`` with the models in ``models``."""
    signals = "".join(
        f"  {name}:\n    label: {name}\n    kind: {kind}\n    weight: 0.5\n"
        f"    model: {models / name}\n"
        for name, kind in (("decertification_risk", "risk"), ("cooperation_tone", "tone"))
    )
    text = (
        f"database:\n  url: sqlite:///{folder / 'two.db'}\n"
        f"sources:\n  seeds: [{json.dumps(str(seeds))}]\n"
        f"monitor:\n  relevance_model: {models / 'relevance'}\nsignals:\n{signals}"
    )
    path = folder / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def prepare(folder: Path, n: int, root: Path) -> Path:
    """Generate ``n`` articles and store them unscored, with ``root``'s pipeline."""
    from bench.generate_articles import write_jsonl

    seeds = folder / "seeds"
    write_jsonl(seeds, n, per_file=5000, seed=17)
    config = write_config(folder, seeds, ROOT / "models")
    script = (
        "import sys; from pipeline.config import load_config;"
        " from pipeline.run import ingest_items; from pipeline.seeds import read_seeds;"
        " from pipeline.store import open_store;"
        " c = load_config(sys.argv[1]);"
        " ingest_items(open_store(c.database.url), read_seeds(c.sources.seeds).items)"
    )
    command = [sys.executable, "-c", script, str(config)]
    subprocess.run(command, cwd=root, env=_env(root), check=True)
    return config


def race(config: Path, runs: int, workers: int, root: Path) -> dict[str, object]:
    """Start ``runs`` runs at once; wall time, children's CPU, and each run's output figures."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [sys.executable, "-m", "pipeline", "--config", str(config), "run", "--no-feeds"]
    procs = [
        subprocess.Popen(
            [*command, "--workers", str(workers)],
            cwd=root,
            env=_env(root),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(runs)
    ]
    outputs = [proc.communicate()[0] for proc in procs]
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    scored = [int(m.group(3)) for text in outputs for m in _SCORED.finditer(text)]
    in_vain = [sum(int(x) for x in _IN_VAIN.findall(text)) for text in outputs]
    if any(proc.returncode for proc in procs) or len(scored) != runs:
        raise SystemExit("a run failed:\n" + "\n---\n".join(o[-2000:] for o in outputs))
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "scored": scored, "in_vain": in_vain}


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(root)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="articles in the backlog")
    parser.add_argument("--runs", type=int, default=2, help="runs started together")
    parser.add_argument("--workers", type=int, default=1, help="scoring processes per run")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose pipeline runs")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-two-runs-"))
    config = prepare(folder, args.n, args.root.resolve())
    result = race(config, args.runs, args.workers, args.root.resolve())
    row = {"n": args.n, "runs": args.runs, "workers": args.workers, "root": str(args.root)}
    print(json.dumps({**row, **result}))  # noqa: T201


if __name__ == "__main__":
    main()
