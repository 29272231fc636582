"""An encoder that loads its model on the first phrase it must encode.

A command whose phrases are all cached (the store's phrase cache, the stored profiles and indexes)
never pays for the model. Its name and dimension, which the indexes are checked against, come from
a small card in the home written the first time the model was loaded, keyed by everything that
chooses the model (the settings and the model folder's files: size and modification time); a card
that does not match is ignored and the model loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sepadan.features.encoder import Encoder

log = logging.getLogger(__name__)
CARD = "model-card.json"


class LazyEncoder:
    """Wraps ``load`` (which returns the real encoder); ``name`` and ``dim`` come from the card when
    it matches ``key``, else from the model, loaded then."""

    def __init__(self, load: Callable[[], Encoder], *, key: str, card: Path) -> None:
        self._load, self.key, self.card = load, key, card
        self._model: Encoder | None = None
        self._known = _read_card(card, key)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> Encoder:
        if self._model is None:
            self._model = self._load()
            self._known = {"name": self._model.name, "dim": int(self._model.dim)}
            _write_card(self.card, self.key, self._known)
        return self._model

    @property
    def name(self) -> str:
        return str(self._known["name"]) if self._known else self.model.name

    @property
    def dim(self) -> int:
        return int(self._known["dim"]) if self._known else int(self.model.dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.encode(texts)


def model_key(choice: dict[str, Any], folder: Path | None) -> str:
    """What picks the model: the settings that choose it and its folder's files (name, size, mtime)."""
    files = []
    if folder is not None and folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                st = path.stat()
                files.append([str(path.relative_to(folder)), st.st_size, st.st_mtime_ns])
    body = json.dumps({"choice": choice, "folder": str(folder), "files": files}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _read_card(card: Path, key: str) -> dict[str, Any] | None:
    try:
        data = json.loads(card.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key or "name" not in data or "dim" not in data:
        return None
    return {"name": data["name"], "dim": data["dim"]}


def _write_card(card: Path, key: str, known: dict[str, Any]) -> None:
    try:
        card.parent.mkdir(parents=True, exist_ok=True)
        tmp = card.with_name(f".tmp-{os.getpid()}-{card.name}")
        tmp.write_text(json.dumps({"key": key, **known}))
        os.replace(tmp, card)
    except OSError as exc:  # a read-only home still works: the model loads every time
        log.warning("could not write the model card %s: %s", card, exc)
