"""Web sessions and one-time sign-in links, in the store so every server process shares them.

A session is a random token in a cookie; only its SHA-256 is stored, with the API key it stands for,
its CSRF token and its expiry. A session resolves to the key's current record on every request, so
a revoked key ends its sessions at once. A sign-in link is single-use and short-lived: redeeming it
deletes it. Times come from the caller (``now``), so tests control the clock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, DateTime, Index, String, Table, delete, select

from sepadan.store.db import Store
from sepadan.store.keys import ApiKey, hash_key, key_by_id
from sepadan.store.schema import metadata

web_sessions = Table(
    "web_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("key_id", String(16), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_web_sessions_key", "key_id"),
)
web_signin_links = Table(
    "web_signin_links", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("key_id", String(16), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True, slots=True)
class WebSession:
    key: ApiKey
    csrf: str
    expires_at: datetime


def open_session(store: Store, key: ApiKey, *, now: datetime, ttl: timedelta) -> tuple[str, WebSession]:
    """A new session for a live key: (the cookie token, the session)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with store.engine.begin() as conn:
        conn.execute(web_sessions.delete().where(web_sessions.c.expires_at < now))  # tidy expired ones
        conn.execute(web_sessions.insert().values(token_hash=hash_key(token), key_id=key.id, csrf=csrf,
                                                  created_at=now, expires_at=now + ttl))
    return token, WebSession(key, csrf, now + ttl)


def find_session(store: Store, token: str, *, now: datetime) -> WebSession | None:
    """The live session of a cookie token, or None (unknown, expired, or its key revoked)."""
    with store.engine.connect() as conn:
        row = conn.execute(select(web_sessions).where(web_sessions.c.token_hash == hash_key(token))).mappings().first()
    if row is None or _aware(row["expires_at"]) <= now:
        return None
    key = key_by_id(store, row["key_id"])
    if key is None:
        close_session(store, token)
        return None
    return WebSession(key, row["csrf"], _aware(row["expires_at"]))


def close_session(store: Store, token: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == hash_key(token)))


def create_link(store: Store, key: ApiKey, *, now: datetime, ttl: timedelta) -> str:
    """A one-time sign-in token for a key (for a link such as ``/signin?token=...``)."""
    token = secrets.token_urlsafe(32)
    with store.engine.begin() as conn:
        conn.execute(web_signin_links.insert().values(token_hash=hash_key(token), key_id=key.id,
                                                      expires_at=now + ttl))
    return token


def redeem_link(store: Store, token: str, *, now: datetime) -> ApiKey | None:
    """The live key of a sign-in token, used up by this call; None if unknown, used or expired."""
    with store.engine.begin() as conn:
        where = web_signin_links.c.token_hash == hash_key(token)
        row = conn.execute(select(web_signin_links).where(where)).mappings().first()
        if row is None or not conn.execute(delete(web_signin_links).where(where)).rowcount:
            return None
    return key_by_id(store, row["key_id"]) if _aware(row["expires_at"]) > now else None


def _aware(at: datetime) -> datetime:
    """SQLite hands back naive datetimes for what was written in UTC."""
    from datetime import UTC

    return at if at.tzinfo else at.replace(tzinfo=UTC)


DEMO_KEY_LABEL = "demo web admin"


def demo_signin_token(store: Store, *, now: datetime, ttl: timedelta = timedelta(hours=24)) -> str:
    """A one-time sign-in token for the demo home's admin key (made the first time, reused after)."""
    from sepadan.store.keys import create_key, list_keys

    key = next((k for k in list_keys(store) if k.label == DEMO_KEY_LABEL and k.revoked_at is None), None)
    if key is None:
        key, _ = create_key(store, "admin", label=DEMO_KEY_LABEL)  # its token is never shown: links only
    return create_link(store, key, now=now, ttl=ttl)
