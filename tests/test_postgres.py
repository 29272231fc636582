"""The same store code on a real PostgreSQL server (CI starts one; skipped where none is configured)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from sepadan.errors import InvalidInput
from sepadan.ingest.importer import import_file, load_records
from sepadan.store.db import Store
from sepadan.store.pii import Vault

URL = os.environ.get("SEPADAN_TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(not URL, reason="set SEPADAN_TEST_DATABASE_URL to a PostgreSQL URL")
PAPUA_NIK = "9271014101900003"


@pytest.fixture
def pg_url():
    from sqlalchemy import create_engine, text

    name = f"sepadan_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_postgres_import_is_all_or_nothing_and_idempotent(pg_url, tmp_path):
    store, vault = Store.open(pg_url), Vault(b"test-key")
    good = [{"id": "W-1", "nik": PAPUA_NIK, "name": "Yosina", "region": "92.71",
             "languages": [{"language": "ja", "test": "JLPT", "level": "N4"}]},
            {"id": "W-2", "skills": ["menjahit"]}]
    bad = good + [{"id": "W-3", "languages": [{"language": "ja", "test": "JLPT", "level": "N9"}]}]
    with pytest.raises(InvalidInput) as info:
        import_file(store, vault, "workers", _write(tmp_path / "bad.jsonl", bad))
    assert (info.value.errors[0].row, info.value.errors[0].field) == (3, "languages[0].level")
    assert store.count("workers") == 0

    first = import_file(store, vault, "workers", _write(tmp_path / "good.jsonl", good))
    again = import_file(store, vault, "workers", tmp_path / "good.jsonl")
    assert (first.inserted, again.inserted, again.updated, again.unchanged) == (2, 0, 0, 2)
    assert vault.open(store.raw("workers", "W-1")["pii_enc"])["nik"] == PAPUA_NIK
    assert [w.id for w in load_records(store, "workers")] == ["W-1", "W-2"]


def test_postgres_and_sqlite_agree_on_fingerprints(pg_url, tmp_path):
    rows = [{"licence": "P3MI-1", "status": "active", "valid_until": "2030-01-01"},
            {"licence": "P3MI-2", "status": "revoked"}]
    path = _write(tmp_path / "agencies.jsonl", rows)
    vault = Vault(b"k")
    pg, lite = Store.open(pg_url), Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    for store in (pg, lite):
        import_file(store, vault, "agencies", path)
    assert pg.fingerprint("agencies") == lite.fingerprint("agencies")
