"""Tables of the store (SQLAlchemy Core). Changes go through a new Alembic revision in migrations/."""

from __future__ import annotations

from sqlalchemy import (
    Boolean, Column, Date, DateTime, Float, Index, Integer, LargeBinary, MetaData, String, Table, Text,
)

metadata = MetaData()


def _common() -> list[Column]:
    return [
        Column("doc", Text, nullable=False),
        Column("content_hash", String(64), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    ]


workers = Table(
    "workers", metadata,
    Column("id", String(64), primary_key=True),
    Column("nik_hmac", String(64), nullable=True),
    Column("pii_enc", Text, nullable=True),
    Column("birth_date", Date, nullable=True),
    Column("gender", String(1), nullable=True),
    Column("region", String(32), nullable=True),
    Column("available", Boolean, nullable=True),
    *_common(),
    Index("ix_workers_nik_hmac", "nik_hmac"),
    Index("ix_workers_region", "region"),
)

vacancies = Table(
    "vacancies", metadata,
    Column("id", String(64), primary_key=True),
    Column("country", String(2), nullable=True),
    Column("region", String(32), nullable=True),
    Column("agency_licence", String(64), nullable=True),
    Column("open", Boolean, nullable=True),
    Column("deadline", Date, nullable=True),
    *_common(),
    Index("ix_vacancies_country", "country"),
)

trainings = Table(
    "trainings", metadata,
    Column("id", String(64), primary_key=True),
    Column("region", String(32), nullable=True),
    *_common(),
)

agencies = Table(
    "agencies", metadata,
    Column("id", String(64), primary_key=True),
    Column("status", String(16), nullable=True),
    Column("valid_until", Date, nullable=True),
    *_common(),
)

outcomes = Table(
    "outcomes", metadata,
    Column("id", String(200), primary_key=True),
    Column("worker_id", String(64), nullable=False),
    Column("vacancy_id", String(64), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("date", Date, nullable=True),
    *_common(),
    Index("ix_outcomes_vacancy", "vacancy_id"),
    Index("ix_outcomes_worker", "worker_id"),
)

phrase_vectors = Table(
    "phrase_vectors", metadata,
    Column("model", String(128), primary_key=True),
    Column("text_hash", String(64), primary_key=True),
    Column("text", Text, nullable=False),
    Column("vector", LargeBinary, nullable=False),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", String(16), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("regions", Text, nullable=False),  # JSON list of Kemendagri prefixes; [] = every region
    Column("agency", String(64), nullable=True),  # the tenant: an agency licence, or none
    Column("label", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("action", String(16), nullable=False),  # read | create | update | delete | export | match
    Column("kind", String(16), nullable=False),
    Column("record_id", String(200), nullable=False),
    Column("route", String(200), nullable=True),
    Index("ix_audit_log_record", "kind", "record_id"),
)

rate_limits = Table(
    "rate_limits", metadata,
    Column("key", String(255), primary_key=True),  # a limit and who it counts: a key id, an address
    Column("hits", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),  # epoch seconds when the current window ends
)

TABLES = {"workers": workers, "vacancies": vacancies, "trainings": trainings,
          "agencies": agencies, "outcomes": outcomes}
