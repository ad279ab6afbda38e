"""Data management: version lineage, stored profiles and validation, schema overrides, expectations, recipes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dataset_versions") as batch:
        batch.add_column(sa.Column("parents", sa.JSON))
        batch.add_column(sa.Column("recipe", sa.JSON))
        batch.add_column(sa.Column("validation", sa.JSON))
        batch.add_column(sa.Column("report", sa.JSON))
    op.create_table(
        "dataset_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dataset", sa.String(255), nullable=False, unique=True),
        sa.Column("semantic_overrides", sa.JSON, nullable=False),
        sa.Column("expectations", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "recipes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("output", sa.String(255), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("recipes")
    op.drop_table("dataset_settings")
    with op.batch_alter_table("dataset_versions") as batch:
        batch.drop_column("report")
        batch.drop_column("validation")
        batch.drop_column("recipe")
        batch.drop_column("parents")
