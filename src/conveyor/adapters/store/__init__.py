"""The metadata store: SQLAlchemy 2 Core tables, Alembic migrations, and the repository over them."""

from conveyor.adapters.store.repository import SqlMetadataStore

__all__ = ["SqlMetadataStore"]
