"""Alembic environment: runs migrations on the connection Conveyor hands over."""

from alembic import context

from conveyor.adapters.store.database import SCHEMA

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=list(SCHEMA), render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
