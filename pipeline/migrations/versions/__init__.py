"""Numbered migration scripts; Alembic loads them by path (this file only makes them packaged)."""
