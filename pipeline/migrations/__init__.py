"""Alembic migrations of the article store, configured in code (no alembic.ini needed).

Revision ``0001`` is the schema the store had before migrations existed; every later change is a
new numbered revision in ``versions/`` that adds and never drops data (STYLE 5.8). Migrations run
on a connection the caller already holds inside its transaction, so an upgrade is all or nothing
on both SQLite and PostgreSQL (both have transactional DDL), and SQLite table changes use Alembic's
batch mode. See docs/storage.md for how to write the next revision.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

FOLDER = Path(__file__).resolve().parent


def alembic_config(connection: Connection | None = None) -> Config:
    """Build the Alembic config in code; ``env.py`` picks the connection up from its attributes."""
    config = Config()
    config.set_main_option("script_location", str(FOLDER))
    config.attributes["connection"] = connection
    return config


def script_revisions() -> list[str]:
    """Every revision in ``versions/``, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def upgrade(connection: Connection, target: str = "head") -> None:
    """Migrate the database behind ``connection`` to ``target`` inside the caller's transaction."""
    command.upgrade(alembic_config(connection), target)


def stamp(connection: Connection, revision: str) -> None:
    """Record ``revision`` as current without running anything (adopting a pre-Alembic store)."""
    command.stamp(alembic_config(connection), revision)


def downgrade(connection: Connection, target: str) -> None:
    """Migrate down to ``target`` (only derived data is lost above ``0001``); tests use it."""
    command.downgrade(alembic_config(connection), target)
