"""Job titles and experience to KBJI 2014 / ISCO-08 unit groups and ESCO occupations.

Order of evidence: a code given as such (4-digit ISCO/KBJI or an ESCO URI), the Indonesian title
lexicon, KBJI 2014 titles, ESCO labels, then a ranking of every ESCO occupation, the best above a
threshold. ISCO's hierarchy gives partial credit: same unit group 1, minor group 0.6, sub-major 0.3.

Titles are first read by :class:`~sepadan.features.titles.TitleReader` ("Operator Pengeluaran
(Production Operator) - URGENT" is ``production operator``): the lookups try the title as written,
without its noise, and each of its alternatives. The ranking scores each reading against each
occupation by three views: the cosine to its preferred label and, for the ``candidates`` best so
far, to its best preferred-or-alternative label (averaged); BM25 over its labels x
``lexical_weight`` (:mod:`~sepadan.features.bm25`); the whole reading and its best alternative
mixed (:func:`~sepadan.features.titles.mix_variants`). Then ``example_weight`` x the votes of the
nearest labelled job-board titles (:mod:`~sepadan.features.title_examples`, ``examples=None``
turns them off), and, given the ESCO skills a job order asks for, ``skill_weight`` x the share of
those skills that ESCO relates to each occupation: "Executive" asking for bookkeeping is a
bookkeeper.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sepadan.features.bm25 import LabelBM25
from sepadan.features.encoder import CachedEncoder
from sepadan.features.lexicon import Lexicon
from sepadan.features.skills import LabelSpace
from sepadan.features.taxonomy import Taxonomy
from sepadan.features.text import normalise_text
from sepadan.features.title_examples import ExampleVoter, TitleExamples
from sepadan.features.titles import TitleReader, load_title_words, mix_variants

log = logging.getLogger(__name__)
_ISCO = re.compile(r"^\d{4}$")
SKILL_WEIGHT = 2.0  # per share of the skills ESCO relates to the occupation (tuning ranking set)
WHOLE_WEIGHT = 0.7  # the whole reading against its best alternative (tuned on the dev split)
LEXICAL_WEIGHT = 0.2  # BM25 over the labels, scaled to the reading's best (dev split)
EXAMPLE_WEIGHT = 1.0  # the example titles' votes, summing to 1 (2-fold within the dev split)
CANDIDATES = 50  # occupations whose alternative labels are compared (dev: as good as all)
BATCH = 256


@dataclass(frozen=True, slots=True)
class OccupationMatch:
    text: str
    isco: str | None
    uri: str | None
    label: str
    source: str  # code | lexicon | kbji | label | embedding | free
    confidence: float


def isco_similarity(a: str | None, b: str | None) -> float:
    """1 for the same unit group, 0.6 same minor group, 0.3 same sub-major group, else 0."""
    if not a or not b:
        return 0.0
    for digits, credit in ((4, 1.0), (3, 0.6), (2, 0.3)):
        if a[:digits] == b[:digits]:
            return credit
    return 0.0


class OccupationNormaliser:
    def __init__(self, taxonomy: Taxonomy, lexicon: Lexicon, encoder: CachedEncoder | None, *,
                 threshold: float = 0.55, reader: TitleReader | None = None,
                 examples: TitleExamples | None = None, whole_weight: float = WHOLE_WEIGHT,
                 skill_weight: float = SKILL_WEIGHT, lexical_weight: float = LEXICAL_WEIGHT,
                 example_weight: float = EXAMPLE_WEIGHT, candidates: int = CANDIDATES) -> None:
        self.taxonomy, self.lexicon, self.threshold = taxonomy, lexicon, threshold
        self.reader = reader or TitleReader(load_title_words(), lexicon)
        self.whole_weight, self.skill_weight = whole_weight, skill_weight
        self.lexical_weight, self.example_weight = lexical_weight, example_weight
        self.candidates = candidates
        uris = sorted(taxonomy.occupations)
        labels = [taxonomy.occupations[u].label for u in uris]
        self.space = LabelSpace(uris, labels, encoder) if encoder is not None else None
        self.encoder = encoder
        self.voter = (ExampleVoter(examples, uris, self._example_reading, encoder.encode)
                      if encoder is not None and examples is not None and len(examples) else None)
        self._memo: dict[tuple[str, tuple[str, ...]], OccupationMatch] = {}
        self._by_skill: dict[str, list[int]] | None = None
        self._bm25: LabelBM25 | None = None
        self._alt: dict[int, np.ndarray] = {}

    def normalise(self, text: str, *, code: str | None = None,
                  skills: Iterable[str] = ()) -> OccupationMatch:
        """The occupation of a title; ``skills`` (ESCO skill URIs the order asks for) weigh in
        when the title is ranked (exact lookups and codes come first)."""
        if code:
            coded = self._coded(text, code.strip())
            if coded:
                return coded
        key = normalise_text(text)
        wanted = tuple(sorted(set(skills))) if self.skill_weight else ()
        if (key, wanted) not in self._memo:
            reading = self.reader.read(text)
            found = (self._exact(text, k) for k in reading.lookup_keys)
            self._memo[key, wanted] = next((m for m in found if m), None) or self._ranked(
                text, key, wanted)
        return self._memo[key, wanted]

    def skill_share(self, skills: tuple[str, ...]) -> np.ndarray:
        """Per occupation (``space.uris`` order): the share of ``skills`` ESCO relates to it."""
        if self._by_skill is None:
            self._by_skill = {}
            for j, uri in enumerate(sorted(self.taxonomy.occupations)):
                occ = self.taxonomy.occupations[uri]
                for skill in {*occ.essential, *occ.optional}:
                    self._by_skill.setdefault(skill, []).append(j)
        out = np.zeros(len(self.taxonomy.occupations), dtype=np.float32)
        for skill in skills:
            out[self._by_skill.get(skill, [])] += 1.0 / len(skills)
        return out

    def isco_label(self, isco: str | None) -> str | None:
        return self.taxonomy.isco_labels.get(isco) if isco else None

    def _coded(self, text: str, code: str) -> OccupationMatch | None:
        if _ISCO.match(code):
            label = self.taxonomy.isco_labels.get(code, text)
            return OccupationMatch(text, code, None, label, "code", 1.0)
        occ = self.taxonomy.occupations.get(code)
        return OccupationMatch(text, occ.isco, occ.uri, occ.label, "code", 1.0) if occ else None

    def _exact(self, text: str, key: str) -> OccupationMatch | None:
        isco = self.lexicon.isco_for_title(key)
        if isco:
            return OccupationMatch(text, isco, None, self.lexicon.english_title(key) or text, "lexicon", 1.0)
        kbji = self.taxonomy.kbji_by_title(key)
        if kbji:
            return OccupationMatch(text, kbji[0].isco, None, kbji[0].title, "kbji", 1.0)
        uris = self.taxonomy.occupations_by_label(key)
        if uris:
            occ = self.taxonomy.occupations[uris[0]]
            return OccupationMatch(text, occ.isco, occ.uri, occ.label, "label", 1.0)
        return None

    def _ranked(self, text: str, key: str, skills: tuple[str, ...] = ()) -> OccupationMatch:
        """The best-ranked occupation if its evidence (the cosine of its labels, plus the skills'
        share, or of the nearest example title voting for it) reaches the threshold."""
        if self.space is None or not key:
            return OccupationMatch(text, None, None, text, "free", 0.0)
        share = self.skill_weight * self.skill_share(skills) if skills else 0.0
        scores, evidence = self._scores([text])
        idx = int(np.argmax(scores[0] + share))
        score = float(min((evidence[0] + share)[idx], 1.0))
        if score < self.threshold:
            return OccupationMatch(text, None, None, text, "free", score)
        occ = self.taxonomy.occupations[self.space.uris[idx]]
        return OccupationMatch(text, occ.isco, occ.uri, occ.label, "embedding", score)

    def rank(self, texts: list[str], k: int = 10) -> list[list[tuple[str, float]]]:
        if self.space is None:
            raise ValueError("ranking needs an encoder")
        out = []
        for start in range(0, len(texts), BATCH):
            scores = self._scores(texts[start : start + BATCH])[0]
            top = np.argsort(-scores, axis=1, kind="stable")[:, : min(k, scores.shape[1])]
            uris = self.space.uris
            out += [[(uris[i], float(row[i])) for i in ids] for row, ids in zip(scores, top)]
        return out

    def _scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(scores of every occupation, one row per title; the evidence behind each: the best of
        the dense cosine and the nearest voting example's cosine)."""
        readings = [self._readings(t) for t in texts]
        distinct = list(dict.fromkeys(v for r in readings for v in r))
        row = {v: i for i, v in enumerate(distinct)}
        vectors = self.encoder.encode(distinct)
        cosine = vectors @ self.space.matrix.T
        lexical = self._lexical(distinct)
        votes, nearest = self._votes(texts)
        cheap = np.stack([mix_variants(cosine[[row[v] for v in r]] + lexical[[row[v] for v in r]],
                                       self.whole_weight) for r in readings])
        cheap += self.example_weight * votes
        take = min(self.candidates, cheap.shape[1])
        candidates = np.argpartition(-cheap, take - 1, axis=1)[:, :take]
        best = self._best_labels(vectors, np.unique(candidates))
        scores = np.empty_like(cheap)
        dense_out = np.empty_like(cheap)
        for i, r in enumerate(readings):
            rows, cols = [row[v] for v in r], candidates[i]
            dense = cosine[rows]
            dense[:, cols] = 0.5 * (dense[:, cols] + np.maximum(dense[:, cols], best[rows][:, cols]))
            scores[i] = mix_variants(dense + lexical[rows], self.whole_weight)
            dense_out[i] = mix_variants(dense, self.whole_weight)
        return scores + self.example_weight * votes, np.maximum(dense_out, nearest)

    def _readings(self, text: str) -> tuple[str, ...]:
        return self.reader.read(text).variants or (self.lexicon.translate(normalise_text(text)),)

    def _example_reading(self, text: str) -> str:
        return self.reader.read(text).full or normalise_text(text)

    def _lexical(self, texts: list[str]) -> np.ndarray:
        """BM25 of each reading against each occupation's labels, x ``lexical_weight`` / best."""
        if not self.lexical_weight:
            return np.zeros((len(texts), len(self.space.uris)), dtype=np.float32)
        if self._bm25 is None:
            occs = [self.taxonomy.occupations[u] for u in self.space.uris]
            self._bm25 = LabelBM25().fit([" ".join((o.label, *o.alt_labels)) for o in occs])
        scores = self._bm25.score(texts)
        return self.lexical_weight * scores / np.maximum(scores.max(axis=1, keepdims=True), 1e-9)

    def _votes(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        n = (len(texts), len(self.space.uris))
        if self.voter is None or not self.example_weight:
            return np.zeros(n, dtype=np.float32), np.full(n, -1.0, dtype=np.float32)
        return self.voter.votes(self.encoder.encode([self._example_reading(t) for t in texts]))

    def _best_labels(self, vectors: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Cosine of each reading to the best alternative label of each occupation in
        ``columns`` (-1 elsewhere, and where an occupation has none); each occupation's
        alternative labels are encoded once, when it is first a candidate."""
        missing = [int(j) for j in columns if int(j) not in self._alt]
        if missing:
            alts = [list(self.taxonomy.occupations[self.space.uris[j]].alt_labels) for j in missing]
            flat = self.encoder.encode([a for labels in alts for a in labels])
            start = 0
            for j, labels in zip(missing, alts, strict=True):
                self._alt[j] = flat[start : start + len(labels)]
                start += len(labels)
        out = np.full((len(vectors), len(self.space.uris)), -1.0, dtype=np.float32)
        for j in columns:
            alt = self._alt[int(j)]
            if len(alt):
                out[:, j] = (vectors @ alt.T).max(axis=1)
        return out
