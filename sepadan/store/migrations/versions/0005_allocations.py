"""Allocations: each run stored with its inputs' fingerprint, model version and time, and its proposals.

Revision ID: 0005
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "allocations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(32), nullable=True),
        sa.Column("model_version", sa.String(128), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("doc", sa.Text, nullable=False),
        sa.Column("replaces", sa.String(40), nullable=True),
        sa.Column("created_by", sa.String(16), nullable=True),
    )
    op.create_index("ix_allocations_created_at", "allocations", ["created_at"])
    op.create_table(
        "allocation_pairs",
        sa.Column("allocation_id", sa.String(40), primary_key=True),
        sa.Column("vacancy_id", sa.String(64), primary_key=True),
        sa.Column("worker_id", sa.String(64), primary_key=True),
        sa.Column("score", sa.Float, nullable=False),
    )
    op.create_index("ix_allocation_pairs_worker", "allocation_pairs", ["worker_id"])


def downgrade() -> None:
    op.drop_index("ix_allocation_pairs_worker", table_name="allocation_pairs")
    op.drop_table("allocation_pairs")
    op.drop_index("ix_allocations_created_at", table_name="allocations")
    op.drop_table("allocations")
