"""Shared fixtures: a deterministic fake encoder, the real model (loaded once), tiny engines."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import json
import zlib
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sepadan.config import DEFAULT_MODEL_SHA256, Settings
from sepadan.engine import Engine
from sepadan.features.encoder import CachedEncoder, SentenceEncoder, default_model_path
from sepadan.features.text import normalise_text

TODAY = date(2026, 11, 1)
IMPORT_ORDER = ("agencies", "trainings", "workers", "vacancies", "outcomes")


class FakeEncoder:
    """Hashes words and character trigrams into ``dim`` signed buckets, then L2-normalises.

    Deterministic across processes (CRC32, not Python's salted ``hash``), so equal text gives equal
    vectors and texts that share words or spelling are close: enough for tests of logic.
    """

    def __init__(self, name: str = "fake-hash-64", dim: int = 64) -> None:
        self.name, self.dim = name, dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, weight in _features(text):
                h = zlib.crc32(feature.encode("utf-8"))
                out[row, h % self.dim] += weight if (h >> 16) & 1 else -weight
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


def _features(text: str) -> Iterable[tuple[str, float]]:
    words = normalise_text(text).split()
    for word in words:
        yield "w:" + word, 1.0
        padded = f" {word} "
        for i in range(len(padded) - 2):
            yield "t:" + padded[i : i + 3], 0.5


@pytest.fixture(scope="session")
def fake_encoder() -> CachedEncoder:
    """One in-memory phrase cache over the fake encoder, shared by every logic test."""
    return CachedEncoder(FakeEncoder(), None)


@pytest.fixture(scope="session")
def real_encoder() -> CachedEncoder:
    """The shipped all-MiniLM-L6-v2, loaded once; every real-model test shares its phrase cache."""
    model = SentenceEncoder(default_model_path(), expected_sha256=DEFAULT_MODEL_SHA256)
    return CachedEncoder(model, None)


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def make_settings(home: Path, **overrides: Any) -> Settings:
    return Settings(
        home=home,
        database_url=None,
        model_path=None,
        model_sha256=None,
        data_dir=None,
        pii_key=None,
        **{"mlflow_tracking_uri": None, "web_planner_warm": False, **overrides},  # warming: only where asked
    )


EngineFactory = Callable[..., Engine]


def load_engine(root: Path, data: dict[str, list[dict[str, Any]]], *, encoder: Any,
                home: Path | None = None, today: date = TODAY, **settings: Any) -> Engine:
    """A fresh Engine (home ``root``/home unless given) with ``data`` written as JSON Lines under
    ``root``/in and imported in dependency order."""
    engine = Engine(make_settings(home or root / "home", **settings), encoder=encoder, today=today)
    for kind in IMPORT_ORDER:
        if data.get(kind):
            engine.import_file(kind, write_jsonl(root / "in" / f"{kind}.jsonl", data[kind]))
    return engine


@pytest.fixture
def make_engine(tmp_path: Path, fake_encoder: CachedEncoder) -> EngineFactory:
    """``make_engine({"workers": [...], ...}, encoder=..., home=...)``: write tiny JSONL files,
    import them in dependency order through a fresh Engine (home in tmp_path, today 2026-11-01)."""

    def factory(
        data: dict[str, list[dict[str, Any]]],
        *,
        encoder: Any = None,
        home: Path | None = None,
        today: date = TODAY,
        **settings: Any,
    ) -> Engine:
        return load_engine(tmp_path, data, encoder=encoder or fake_encoder, home=home, today=today,
                           **settings)

    return factory


@pytest.fixture(scope="module")
def taxonomy():
    """The bundled ESCO/KBJI taxonomy (loaded once per process; cached by load_taxonomy)."""
    from sepadan.features.taxonomy import load_taxonomy

    return load_taxonomy()


@pytest.fixture(scope="module")
def lexicon(taxonomy):
    """The bundled Indonesian lexicon with the Indonesian labels, one per test module."""
    from sepadan.features.lexicon import load_lexicon

    return load_lexicon(taxonomy)
