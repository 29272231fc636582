"""Reading personal data (NIK, name, birth date): the one place that opens the sealed fields.

Only the edges that may show personal data (officers' and admins' worker reads, the worker export)
ask for it; matching never does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sepadan.store.changes import Bounded
from sepadan.store.db import Store
from sepadan.store.pii import Vault


class PersonalData:
    def __init__(self, store: Store, vault: Vault, *, names_max: int = 50_000) -> None:
        self.store = store
        self.vault = vault
        self.names = NameCache(names_max)

    def of(self, worker_id: str) -> dict[str, Any]:
        """The worker's sealed personal fields (NIK, name) and birth date, decrypted ({} if none)."""
        raw = self.store.raw("workers", worker_id)
        if raw is None:
            return {}
        out = self.vault.open(raw["pii_enc"])
        if raw.get("birth_date") is not None:
            out["birth_date"] = raw["birth_date"].isoformat()
        return out

    def of_many(self, worker_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Decrypted personal fields for stored workers (absent ids are left out: erased)."""
        return self.store.personal_many(worker_ids, self.vault.open)

    def names_of(self, worker_ids: list[str]) -> dict[str, str | None]:
        """id -> name (None if none was given) for the stored workers among ``worker_ids`` (absent
        ids are left out: erased, here or by another process). Each sealed field is decrypted once
        while it stays the same (:class:`NameCache`); the sealed fields are read from the store
        unless nothing was written to it since they were last read (every id held, checked at the
        store's current :meth:`~sepadan.store.changes.ChangeWatch.version`)."""
        version = self.store.changes.version()  # before the read: what is read is at least as new
        held = self.names.all_at(worker_ids, version)
        if held is not None:
            return held
        out: dict[str, str | None] = {}
        for id_, token in self.store.sealed_many(worker_ids):
            digest = _digest(token)
            hit, name = self.names.get(id_, digest)
            if not hit:
                name = self.vault.open(token).get("name")
            self.names.put(id_, digest, name, version)
            out[id_] = name
        if len(out) < len(worker_ids):
            self.names.forget(i for i in worker_ids if i not in out)
        return out

    def forget(self, worker_ids: Iterable[str]) -> None:
        """Drop what is held in memory of these workers (their write or erasure)."""
        self.names.forget(worker_ids)


class NameCache(Bounded):
    """Decrypted names, in this process's memory only, at most ``max_entries`` workers (the least
    recently read dropped first). An entry is keyed by the worker id and holds the digest of the
    sealed fields it was opened from: it answers only while the store holds the same ciphertext, so
    a write (sealed anew, with a fresh IV) is seen by the next read without any signal, from any
    process. It also holds the store's version when that ciphertext was last read
    (:meth:`all_at`). Writes and erasures through this process drop their entries at once
    (:meth:`PersonalData.forget`); an id found absent from the store is dropped when read."""

    def get(self, worker_id: str, digest: bytes) -> tuple[bool, str | None]:
        with self._lock:
            hit = self._held.get(worker_id)
            if hit is None or hit[0] != digest:
                return False, None
            self._held.move_to_end(worker_id)
            return True, hit[1]

    def all_at(self, worker_ids: list[str], version: int | None) -> dict[str, str | None] | None:
        """The names of all of ``worker_ids`` if each was read from the store at ``version`` (so,
        the store unchanged since, the same now); else None: read the store. Never for a None
        version."""
        if version is None:
            return None
        out: dict[str, str | None] = {}
        with self._lock:
            for worker_id in worker_ids:
                hit = self._held.get(worker_id)
                if hit is None or hit[2] != version:
                    return None
                out[worker_id] = hit[1]
            for worker_id in worker_ids:
                self._held.move_to_end(worker_id)
        return out

    def put(self, worker_id: str, digest: bytes, name: str | None, version: int | None = None) -> None:
        self._keep(worker_id, (digest, name, version))


def _digest(token: str | None) -> bytes:
    return hashlib.blake2b(token.encode(), digest_size=16).digest() if token else b""
