"""Alembic migrations of the metadata database, applied on first use."""
