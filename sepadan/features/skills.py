"""Skill phrases, Indonesian or English, to ESCO v1.1.1 skills.

Order of evidence: the Indonesian lexicon (hand phrases and Indonesian labels), then ESCO preferred
and alternative labels, then a lexicon phrase or Indonesian label the phrase nearly equals, then the
nearest ESCO preferred label by embedding (after a word-by-word gloss of Indonesian words) above a
confidence threshold. A phrase nothing matches is kept as free text, never dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sepadan.features.encoder import CachedEncoder
from sepadan.features.lexicon import Lexicon
from sepadan.features.taxonomy import Taxonomy
from sepadan.features.text import normalise_text, split_phrases

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Concept:
    """What one written phrase means: an ESCO skill, or the phrase itself as free text."""

    phrase: str
    uri: str | None
    label: str
    source: str  # lexicon | label | embedding | free
    confidence: float

    @property
    def key(self) -> str:
        return self.uri or f"free:{self.label}"


class LabelSpace:
    """Embeddings of a list of labels, searched by cosine; built lazily through the phrase cache."""

    def __init__(self, uris: list[str], labels: list[str], encoder: CachedEncoder) -> None:
        self.uris, self.labels, self.encoder = uris, labels, encoder
        self._matrix: np.ndarray | None = None

    @property
    def matrix(self) -> np.ndarray:
        if self._matrix is None:
            log.info("embedding %d taxonomy labels (cached after the first time)", len(self.labels))
            self._matrix = self.encoder.encode(self.labels)
        return self._matrix

    def nearest(self, vectors: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        scores = vectors @ self.matrix.T
        k = min(k, scores.shape[1])
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
        top = np.take_along_axis(top, order, axis=1)
        return np.take_along_axis(scores, top, axis=1), top


class SkillNormaliser:
    def __init__(self, taxonomy: Taxonomy, lexicon: Lexicon, encoder: CachedEncoder | None, *,
                 threshold: float = 0.62) -> None:
        self.taxonomy, self.lexicon, self.encoder, self.threshold = taxonomy, lexicon, encoder, threshold
        uris = sorted(taxonomy.skills)
        labels = [taxonomy.skills[u].label for u in uris]
        self.space = LabelSpace(uris, labels, encoder) if encoder is not None else None
        self._memo: dict[str, tuple[Concept, ...]] = {}

    def normalise(self, text: str) -> tuple[Concept, ...]:
        """Concepts for what a person wrote in one field (it may hold several phrases)."""
        phrases = split_phrases(text)
        found = self.normalise_many(phrases)
        return tuple(c for p in phrases for c in found[p])

    def normalise_many(self, texts: Iterable[str]) -> dict[str, tuple[Concept, ...]]:
        """Normalise many phrases at once, embedding the unknown ones in one batch."""
        phrases = list(dict.fromkeys(normalise_text(t) for t in texts))
        todo = [p for p in phrases if p and p not in self._memo]
        unknown = []
        for phrase in todo:
            exact = self._exact(phrase)
            if exact:
                self._memo[phrase] = exact
            else:
                unknown.append(phrase)
        self._memo.update(self._embedded(unknown))
        return {p: self._memo.get(p, ()) for p in phrases}

    def _exact(self, phrase: str) -> tuple[Concept, ...]:
        uris = self.lexicon.skills_for(phrase)
        source = "lexicon"
        if not uris:
            uris, source = self.taxonomy.skills_by_label(phrase), "label"
        confidence = 1.0
        if not uris:  # nearly equal to a lexicon phrase or an Indonesian label (a typo, perawat/merawat)
            (uris, confidence), source = self.lexicon.near(phrase), "lexicon"
        return tuple(Concept(phrase, u, self.taxonomy.skill_label(u), source, confidence) for u in uris[:3])

    def _embedded(self, phrases: list[str]) -> dict[str, tuple[Concept, ...]]:
        if not phrases:
            return {}
        if self.space is None:
            return {p: (_free(p),) for p in phrases}
        glossed = [self.lexicon.translate(p) for p in phrases]
        scores, top = self.space.nearest(self.encoder.encode(glossed), k=1)
        out = {}
        for phrase, score, idx in zip(phrases, scores[:, 0], top[:, 0]):
            if score >= self.threshold:
                uri = self.space.uris[idx]
                out[phrase] = (Concept(phrase, uri, self.space.labels[idx], "embedding", float(score)),)
            else:
                out[phrase] = (_free(phrase),)
        return out

    def rank(self, texts: list[str], k: int = 10) -> list[list[tuple[str, float]]]:
        """The k nearest ESCO skills for each text (for benchmarks and suggestions)."""
        if self.space is None:
            raise ValueError("ranking needs an encoder")
        queries = self.encoder.encode([self.lexicon.translate(normalise_text(t)) for t in texts])
        scores, top = self.space.nearest(queries, k=k)
        return [[(self.space.uris[i], float(s)) for s, i in zip(row_s, row_i)]
                for row_s, row_i in zip(scores, top)]


def _free(phrase: str) -> Concept:
    return Concept(phrase, None, phrase, "free", 0.0)
