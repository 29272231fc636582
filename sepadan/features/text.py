"""Text normalisation shared by every lookup table (lexicon, labels, titles)."""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[^\w\s+#/&.-]", re.UNICODE)
_SPACE = re.compile(r"\s+")
_SPLIT = re.compile(r"[;,\n]")


def normalise_text(text: str) -> str:
    """Casefold, strip accents and punctuation, collapse spaces: the key for exact lookups.

    Idempotent: ``normalise_text(normalise_text(s)) == normalise_text(s)``.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _PUNCT.sub(" ", text.casefold())
    text = text.replace("_", " ")
    text = _SPACE.sub(" ", text).strip(" .-/&")
    return text


def split_phrases(text: str) -> list[str]:
    """Split what a person typed into one field ("merawat lansia, memasak") into phrases."""
    parts = (normalise_text(p) for p in _SPLIT.split(text))
    return [p for p in parts if p]
