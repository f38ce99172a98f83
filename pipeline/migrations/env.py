"""Alembic environment: run migrations on the connection handed over in the config attributes.

The project never lets Alembic open its own connection: ``pipeline.db`` opens it, takes the
migration lock and the transaction, and passes the connection in (see ``alembic_config``).
"""

from __future__ import annotations

from alembic import context

from pipeline.schema import metadata
from pipeline.search import include_name

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `policy-risk db upgrade`, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    include_name=include_name,  # the search index is not in metadata (it differs per database)
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
