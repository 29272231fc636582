"""Personal data at rest: the NIK as a keyed HMAC for lookups, NIK and name encrypted (Fernet).

The key lives outside the database: a key file in SEPADAN_HOME (mode 0600) or a configured value.
An unkeyed hash of a NIK can be reversed in milliseconds, so only a keyed HMAC is ever stored in clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any


class Vault:
    """HMAC and symmetric encryption for personal fields, from one secret."""

    def __init__(self, secret: bytes) -> None:
        from cryptography.fernet import Fernet

        self._mac_key = hashlib.sha256(b"sepadan-nik-hmac|" + secret).digest()
        self._alias_key = hashlib.sha256(b"sepadan-erased-alias|" + secret).digest()
        enc_key = hashlib.sha256(b"sepadan-pii-fernet|" + secret).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(enc_key))

    def nik_hmac(self, nik: str) -> str:
        return hmac.new(self._mac_key, nik.encode("ascii"), hashlib.sha256).hexdigest()

    def pseudonym(self, record_id: str) -> str:
        """An erased worker's name in the audit log: a keyed HMAC of the id. Whoever holds the key
        and an id can find that trail; the database alone names no one."""
        return "erased:" + hmac.new(self._alias_key, record_id.encode(), hashlib.sha256).hexdigest()[:32]

    def seal(self, fields: dict[str, Any]) -> str | None:
        kept = {k: v for k, v in fields.items() if v is not None}
        return self._fernet.encrypt(json.dumps(kept, sort_keys=True).encode()).decode() if kept else None

    def open(self, token: str | None) -> dict[str, Any]:
        return json.loads(self._fernet.decrypt(token.encode())) if token else {}


def load_secret(home: Path, configured: str | None) -> bytes:
    """The configured key, or the key file in home, created on first use."""
    if configured:
        return configured.encode()
    path = home / "pii.key"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.urlsafe_b64encode(os.urandom(32)))
    return path.read_bytes().strip()
