"""Reading personal data (NIK, name, birth date): the one place that opens the sealed fields.

Only the edges that may show personal data (officers' and admins' worker reads, the worker export)
ask for it; matching never does.
"""

from __future__ import annotations

from typing import Any

from sepadan.store.db import Store
from sepadan.store.pii import Vault


class PersonalData:
    def __init__(self, store: Store, vault: Vault) -> None:
        self.store = store
        self.vault = vault

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
