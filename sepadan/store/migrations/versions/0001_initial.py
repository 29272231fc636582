"""Initial schema: workers, vacancies, trainings, agencies, outcomes, phrase vector cache.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _common() -> list[sa.Column]:
    return [
        sa.Column("doc", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("nik_hmac", sa.String(64), nullable=True),
        sa.Column("pii_enc", sa.Text, nullable=True),
        sa.Column("birth_date", sa.Date, nullable=True),
        sa.Column("gender", sa.String(1), nullable=True),
        sa.Column("region", sa.String(32), nullable=True),
        sa.Column("available", sa.Boolean, nullable=True),
        *_common(),
    )
    op.create_index("ix_workers_nik_hmac", "workers", ["nik_hmac"])
    op.create_index("ix_workers_region", "workers", ["region"])
    op.create_table(
        "vacancies",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("region", sa.String(32), nullable=True),
        sa.Column("agency_licence", sa.String(64), nullable=True),
        sa.Column("open", sa.Boolean, nullable=True),
        sa.Column("deadline", sa.Date, nullable=True),
        *_common(),
    )
    op.create_index("ix_vacancies_country", "vacancies", ["country"])
    op.create_table(
        "trainings",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("region", sa.String(32), nullable=True),
        *_common(),
    )
    op.create_table(
        "agencies",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("valid_until", sa.Date, nullable=True),
        *_common(),
    )
    op.create_table(
        "outcomes",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("worker_id", sa.String(64), nullable=False),
        sa.Column("vacancy_id", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("date", sa.Date, nullable=True),
        *_common(),
    )
    op.create_index("ix_outcomes_vacancy", "outcomes", ["vacancy_id"])
    op.create_index("ix_outcomes_worker", "outcomes", ["worker_id"])
    op.create_table(
        "phrase_vectors",
        sa.Column("model", sa.String(128), primary_key=True),
        sa.Column("text_hash", sa.String(64), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    for table in ("phrase_vectors", "outcomes", "agencies", "trainings", "vacancies", "workers"):
        op.drop_table(table)
