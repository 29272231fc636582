"""One-time messages for a web session (a flash): written by a POST, read once by the page its
redirect leads to, then gone.

A new API key's token is the one such message: the POST that creates the key keeps it here and
answers 303; the page after the redirect takes it (the row is deleted in the same transaction) and
shows it; a reload finds nothing. Rows live in the store, so every server process
(``sepadan serve --workers N``) sees them, and they are sealed with a key derived from the session's
cookie token, which the store never holds (only its SHA-256): the database alone cannot read a
flash. A flash expires after ``ttl`` whether it was read or not. Times come from the caller.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta

from sqlalchemy import Column, DateTime, String, Table, Text, delete, select

from sepadan.store.db import Store
from sepadan.store.keys import hash_key
from sepadan.store.schema import metadata

web_flashes = Table(
    "web_flashes", metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("sealed", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


def put_flash(store: Store, session_token: str, name: str, value: str, *, now: datetime,
              ttl: timedelta) -> None:
    """Keep ``value`` for the session of ``session_token`` under ``name`` (replacing one there)."""
    where = (web_flashes.c.session_hash == hash_key(session_token)) & (web_flashes.c.name == name)
    with store.engine.begin() as conn:
        conn.execute(delete(web_flashes).where(web_flashes.c.expires_at < now))  # tidy expired ones
        conn.execute(delete(web_flashes).where(where))
        conn.execute(web_flashes.insert().values(
            session_hash=hash_key(session_token), name=name, expires_at=now + ttl,
            sealed=_fernet(session_token).encrypt(value.encode()).decode()))


def take_flash(store: Store, session_token: str, name: str, *, now: datetime) -> str | None:
    """The value kept under ``name`` for this session, deleted by this call; None if there is none
    (never kept, already taken, or expired)."""
    where = (web_flashes.c.session_hash == hash_key(session_token)) & (web_flashes.c.name == name)
    with store.engine.begin() as conn:
        row = conn.execute(select(web_flashes).where(where)).mappings().first()
        if row is None or not conn.execute(delete(web_flashes).where(where)).rowcount:
            return None  # another request took it first
    if _aware(row["expires_at"]) <= now:
        return None
    return _fernet(session_token).decrypt(row["sealed"].encode()).decode()


def _fernet(session_token: str):  # noqa: ANN202 - cryptography's Fernet
    from cryptography.fernet import Fernet

    key = hashlib.sha256(b"sepadan-web-flash|" + session_token.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _aware(at: datetime) -> datetime:
    from datetime import UTC

    return at if at.tzinfo else at.replace(tzinfo=UTC)
