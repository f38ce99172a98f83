"""docs/deploy.md's backup commands, run as written: a restore holds everything the store held.

The shell blocks are read from the guide; only the paths and database names it uses for a real
site are swapped for test values, so a change to the guide that breaks a backup breaks this test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from pipeline import schema
from pipeline.store import open_store, save_label
from tests.conftest import ROOT, require, write_config
from tests.pg import pg_url_fixture, second_pg_url_fixture  # noqa: F401

TABLES = (
    schema.articles,
    schema.article_sources,
    schema.scores,
    schema.current_scores,
    schema.labels,
    schema.runs,
    schema.raw_items,
)


def backup_blocks() -> list[str]:
    """The ```sh blocks of the guide's "Backups" section: PostgreSQL's, then SQLite's."""
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = text[text.index("## 4. Backups") : text.index("## 5. ")]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) == 2, "docs/deploy.md's Backups section should hold two sh blocks"
    return [str(block) for block in blocks]


def swapped(block: str, values: dict[str, str]) -> str:
    """The block with the guide's site paths swapped; each must be in it."""
    for site, test in values.items():
        assert site in block, f"docs/deploy.md's backup block no longer has {site!r}"
        block = block.replace(site, test)
    return block


def run_shell(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the block with /bin/sh, as cron runs a nightly job (dash on Debian: no bashisms)."""
    done = subprocess.run(
        ["/bin/sh", "-eu", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
    return done


def policy_risk(config: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "--config", str(config), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def stored_with_a_label(config: Path, url: str) -> dict[str, int]:
    """Ingest and score the config's seeds into ``url``, add an analyst label; return the
    number of rows of each table."""
    done = policy_risk(config, url, "run", "--workers", "0")
    assert done.returncode == 0, done.stderr
    engine = open_store(url)
    with engine.connect() as conn:
        article = conn.execute(select(schema.articles.c.article_id).limit(1)).scalar_one()
    save_label(engine, article, "decertification_risk", 0.9, "analyst@example.org")
    counts = row_counts(url)
    engine.dispose()
    assert all(counts.values()), counts
    return counts


def row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in TABLES
            }
    finally:
        engine.dispose()


def assert_restored(config: Path, url: str, expected: dict[str, int]) -> None:
    assert row_counts(url) == expected
    done = policy_risk(config, url, "db", "current", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "up to date" in done.stdout + done.stderr


@pytest.mark.postgres
def test_the_guides_postgres_backup_restores_every_row(
    tmp_path: Path,
    seed_dir: Path,
    pg_url: str,  # noqa: F811
    second_pg_url: str,  # noqa: F811
) -> None:
    require(shutil.which("pg_dump") is not None, "pg_dump not found (apt-get install postgresql)")
    assert "+psycopg" in pg_url  # the form the guide's env file holds, which pg_dump refuses
    config = write_config(tmp_path, seeds=[seed_dir])
    expected = stored_with_a_label(config, pg_url)
    env_file = tmp_path / "env"
    env_file.write_text(f"DATABASE_URL={pg_url}\nPOLICY_RISK_CONFIG={config}\n", encoding="utf-8")
    backups = tmp_path / "backups"
    backups.mkdir()
    restore_into = second_pg_url.replace("+psycopg", "")
    postgres_block, _ = backup_blocks()
    script = swapped(
        postgres_block,
        {
            "/etc/policy-risk/env": str(env_file),
            "/var/backups/policy-risk/": f"{backups}/",
            "postgresql://monitor@db.internal/policy_risk_restored": restore_into,
            "2026-11-27.dump": "$(date +%F).dump",
        },
    )
    run_shell(script, tmp_path)
    assert len(list(backups.glob("*.dump"))) == 1
    assert_restored(config, second_pg_url, expected)


def test_the_guides_sqlite_backup_is_a_whole_store(tmp_path: Path, seed_dir: Path) -> None:
    require(shutil.which("sqlite3") is not None, "sqlite3 not found (apt-get install sqlite3)")
    (tmp_path / "data").mkdir()
    (tmp_path / "backups").mkdir()
    config = write_config(tmp_path, seeds=[seed_dir], db_name="data/policy_risk.db")
    url = f"sqlite:///{tmp_path / 'data' / 'policy_risk.db'}"
    stored_with_a_label(config, url)
    # A writer still connected: its last commit is in the WAL file, not yet in the store's file
    # (what a plain `cp` would miss).
    writer = open_store(url)
    try:
        with writer.connect() as conn:
            article = conn.execute(select(schema.articles.c.article_id)).scalars().all()[-1]
        save_label(writer, article, "cooperation_tone", -0.5, "analyst@example.org")
        assert (tmp_path / "data" / "policy_risk.db-wal").stat().st_size > 0
        expected = row_counts(url)
        _, sqlite_block = backup_blocks()
        run_shell(sqlite_block, tmp_path)  # its paths are relative to the project folder
    finally:
        writer.dispose()
    (copy,) = (tmp_path / "backups").glob("policy_risk-*.db")
    assert_restored(config, f"sqlite:///{copy}", expected)
