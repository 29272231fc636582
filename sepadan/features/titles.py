"""Job titles as job boards and workers write them, read into wordings an occupation lookup can use.

"Operator Pengeluaran / Production Operator (Shah Alam) - URGENT, RM1800" reads as the whole
title and its alternatives, each with the noise left out and the Indonesian or Malay words in
English: ``production operator`` twice. What is left out: seniority, urgency, contract and salary
words, numbers, experience asks ("min. 2 thn"), company forms, languages asked ("Korean speaker"),
and places. The word list is ``data/titles/title_words.tsv`` (see data/README.md): ``head`` words
(Indonesian/Malay head nouns: their English goes last, "manajer pemasaran" -> "marketing
manager"), ``gloss`` words and phrases, ``noise`` and ``place`` words dropped.

An English part is left in its own words: the lexicon's Indonesian glossary (``air`` is water)
is applied only to a part that holds a word of the title list, so "Air Cargo Executive" stays.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from sepadan.features.lexicon import Lexicon
from sepadan.features.taxonomy import default_data_dir
from sepadan.features.text import normalise_text
from sepadan.features.tsv import row_error, tsv_rows

log = logging.getLogger(__name__)

TITLES_DIR = "titles"
WORDS_FILE = "title_words.tsv"
HEADER = ("word", "english", "kind", "source")
KINDS = frozenset({"head", "gloss", "noise", "place"})
DROPPED = frozenset({"noise", "place"})
# alternatives in one title: "A / B", "A (B)", "A - B", "A | B", "A, B", "A cum B", "A at B"
_SPLIT = re.compile(
    r"\s*(?:[/|()\[\]{},;:+]|\s[-\u2013\u2014~]+\s|\s[-\u2013\u2014]+|[-\u2013\u2014]+\s"
    r"|\b(?:cum|or|atau|aka|at|in|di|@)\b)\s*",
    re.IGNORECASE,
)
_EDGE = frozenset({"of", "for", "the", "a", "an", "and", "&", "with", "dan", "untuk", "yang"})
_SALARY = re.compile(r"\b(?:rm|rp|idr|myr|sgd|usd)\s*\d[\d.,]*\s*k?\b", re.IGNORECASE)
_NUMBER = re.compile(r"^(?:\d[\d.,]*[k+]?|\d+(?:st|nd|rd|th)|x+|#\S*)$")


@dataclass(frozen=True, slots=True, eq=False)
class TitleWords:
    """The title word list: English for head and gloss keys, the keys that are dropped."""

    english: Mapping[str, str] = field(repr=False)
    heads: frozenset[str] = field(repr=False)
    dropped: frozenset[str] = field(repr=False)
    longest: int = 1

    def match(self, tokens: list[str], start: int) -> tuple[str | None, int]:
        """The longest key starting at ``start``: (key, tokens used), or (None, 1)."""
        for size in range(min(self.longest, len(tokens) - start), 0, -1):
            key = " ".join(tokens[start : start + size])
            if key in self.english or key in self.dropped:
                return key, size
        return None, 1


@dataclass(frozen=True, slots=True)
class TitleReading:
    """A title read: the whole (``full``) and each alternative (``parts``), in English, noise
    out; ``kept`` the same before glossing (for exact lookups); ``dropped`` what was left out."""

    text: str
    full: str
    parts: tuple[str, ...]
    kept: tuple[str, ...]
    dropped: tuple[str, ...]

    @property
    def variants(self) -> tuple[str, ...]:
        """Distinct non-empty wordings, the whole title first."""
        return tuple(dict.fromkeys(v for v in (self.full, *self.parts) if v))

    @property
    def lookup_keys(self) -> tuple[str, ...]:
        """Wordings to try in exact lookups: the title as written, without noise, each part."""
        raw = normalise_text(self.text)
        return tuple(dict.fromkeys(k for k in (raw, " ".join(self.kept), *self.kept,
                                               *self.variants) if k))


class TitleReader:
    """Reads job titles with the title word list and, for Indonesian parts, the lexicon."""

    def __init__(self, words: TitleWords, lexicon: Lexicon | None = None) -> None:
        self.words, self.lexicon = words, lexicon
        self._memo: dict[str, TitleReading] = {}

    def read(self, text: str) -> TitleReading:
        if text not in self._memo:
            self._memo[text] = self._read(text)
        return self._memo[text]

    def _read(self, text: str) -> TitleReading:
        english, kept, dropped = [], [], []
        for piece in _SPLIT.split(_SALARY.sub(" ", text or "")):
            words = (t.strip(".") for t in normalise_text(piece).split())
            tokens = [t for t in words if t and not _noise_token(t, dropped)]
            words, out, local = self._part(tokens)
            dropped += local
            if out:
                english.append(out)
                kept.append(" ".join(words))
        parts = tuple(dict.fromkeys(english))
        return TitleReading(text, " ".join(parts), parts, tuple(dict.fromkeys(kept)),
                            tuple(dropped))

    def _part(self, tokens: list[str]) -> tuple[list[str], str, list[str]]:
        """(the words kept, their English, the words dropped) for one alternative."""
        kept: list[tuple[str, str | None]] = []  # (words, the list's English or None)
        dropped: list[str] = []
        i = 0
        while i < len(tokens):
            key, used = self.words.match(tokens, i)
            words = " ".join(tokens[i : i + used])
            if key in self.words.dropped:
                dropped.append(words)
            else:
                kept.append((words, self.words.english.get(key) if key else None))
            i += used
        while kept and kept[0][0] in _EDGE:
            kept.pop(0)
        while kept and kept[-1][0] in _EDGE:
            kept.pop()
        indonesian = any(e is not None and e != w for w, e in kept)
        english = [e if e is not None else self._unknown(w, indonesian) for w, e in kept]
        if indonesian and len(kept) > 1 and kept[0][0] in self.words.heads:
            english = english[1:] + english[:1]  # "manajer pemasaran" -> "marketing manager"
        return [w for w, _ in kept], normalise_text(" ".join(english)), dropped

    def _unknown(self, word: str, indonesian: bool) -> str:
        if indonesian and self.lexicon is not None:
            return self.lexicon.translate(word) or word
        return word


def mix_variants(scores: np.ndarray, whole_weight: float) -> np.ndarray:
    """One title's scores from its readings' (row 0 the whole title, rows 1.. its parts):
    ``whole_weight`` x whole + (1 - ``whole_weight``) x the best part, per column."""
    if len(scores) == 1:
        return scores[0]
    return whole_weight * scores[0] + (1 - whole_weight) * scores[1:].max(axis=0)


def _noise_token(token: str, dropped: list[str]) -> bool:
    """Numbers, hashtags and words in another script are left out (and listed as dropped)."""
    if _NUMBER.match(token) or not token.isascii():
        dropped.append(token)
        return True
    return False


def load_title_words(data_dir: Path | None = None) -> TitleWords:
    """Read ``<data_dir>/titles/title_words.tsv``; errors name the file, the row and the field."""
    path = Path(data_dir or default_data_dir()) / TITLES_DIR / WORDS_FILE
    english: dict[str, str] = {}
    heads, dropped = set(), set()
    for row, cells in _rows(path):
        key = normalise_text(cells["word"])
        if not key:
            raise _error(path, row, "word", "is empty")
        if key in english or key in dropped:
            raise _error(path, row, "word", f"duplicate entry {key!r}")
        kind = cells["kind"]
        if kind not in KINDS:
            raise _error(path, row, "kind", f"{kind!r} is not one of {', '.join(sorted(KINDS))}")
        if not cells["source"]:
            raise _error(path, row, "source", "is empty")
        if kind in DROPPED:
            dropped.add(key)
            continue
        if not normalise_text(cells["english"]) or cells["english"] == "-":
            raise _error(path, row, "english", "is empty")
        english[key] = normalise_text(cells["english"])
        if kind == "head":
            heads.add(key)
    log.info("loaded %d title words (%d heads, %d dropped) from %s", len(english), len(heads),
             len(dropped), path)
    longest = max((len(k.split()) for k in (*english, *dropped)), default=1)
    return TitleWords(MappingProxyType(english), frozenset(heads), frozenset(dropped), longest)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    return tsv_rows(path, HEADER, what="title word list")


def _error(path: Path, row: int, name: str, problem: str) -> ValueError:
    return row_error(path, row, name, problem)
