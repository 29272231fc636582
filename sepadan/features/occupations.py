"""Job titles and experience to KBJI 2014 / ISCO-08 unit groups and ESCO occupations.

Order of evidence: a code given as such (4-digit ISCO/KBJI or an ESCO URI), the Indonesian title
lexicon, KBJI 2014 titles, ESCO labels, then the nearest ESCO occupation label by embedding above a
threshold. ISCO's hierarchy gives partial credit: same unit group 1, minor group 0.6, sub-major 0.3.

Titles are first read by :class:`~sepadan.features.titles.TitleReader` ("Operator Pengeluaran
(Production Operator) - URGENT" is ``production operator``): the lookups try the title as written,
without its noise, and each of its alternatives; the embedding scores the whole reading and its
best alternative (:func:`~sepadan.features.titles.mix_variants`). Given the ESCO skills a job order
asks for, the embedding step adds ``skill_weight`` x the share of those skills that ESCO relates
to each occupation (essential or optional): "Executive" asking for bookkeeping is a bookkeeper.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sepadan.features.encoder import CachedEncoder
from sepadan.features.lexicon import Lexicon
from sepadan.features.skills import LabelSpace
from sepadan.features.taxonomy import Taxonomy
from sepadan.features.text import normalise_text
from sepadan.features.titles import TitleReader, load_title_words, mix_variants

_ISCO = re.compile(r"^\d{4}$")
SKILL_WEIGHT = 1.0  # per share of the order's skills ESCO relates to the occupation (dev set)
WHOLE_WEIGHT = 0.7  # the whole reading against its best alternative (tuned on the dev split)


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
                 whole_weight: float = WHOLE_WEIGHT, skill_weight: float = SKILL_WEIGHT) -> None:
        self.taxonomy, self.lexicon, self.threshold = taxonomy, lexicon, threshold
        self.reader = reader or TitleReader(load_title_words(), lexicon)
        self.whole_weight, self.skill_weight = whole_weight, skill_weight
        uris = sorted(taxonomy.occupations)
        labels = [taxonomy.occupations[u].label for u in uris]
        self.space = LabelSpace(uris, labels, encoder) if encoder is not None else None
        self.encoder = encoder
        self._memo: dict[tuple[str, tuple[str, ...]], OccupationMatch] = {}
        self._by_skill: dict[str, list[int]] | None = None

    def normalise(self, text: str, *, code: str | None = None,
                  skills: Iterable[str] = ()) -> OccupationMatch:
        """The occupation of a title; ``skills`` (ESCO skill URIs the order asks for) weigh in
        when the title is matched by embedding (exact lookups and codes come first)."""
        if code:
            coded = self._coded(text, code.strip())
            if coded:
                return coded
        key = normalise_text(text)
        wanted = tuple(sorted(set(skills))) if self.skill_weight else ()
        if (key, wanted) not in self._memo:
            reading = self.reader.read(text)
            found = (self._exact(text, k) for k in reading.lookup_keys)
            self._memo[key, wanted] = next((m for m in found if m), None) or self._embedded(
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

    def _embedded(self, text: str, key: str, skills: tuple[str, ...] = ()) -> OccupationMatch:
        if self.space is None or not key:
            return OccupationMatch(text, None, None, text, "free", 0.0)
        cosine = self._scores([text])[0]
        scores = cosine + self.skill_weight * self.skill_share(skills) if skills else cosine
        idx = int(np.argmax(scores))
        score = float(min(scores[idx], 1.0))
        if score < self.threshold:
            return OccupationMatch(text, None, None, text, "free", score)
        occ = self.taxonomy.occupations[self.space.uris[idx]]
        return OccupationMatch(text, occ.isco, occ.uri, occ.label, "embedding", score)

    def rank(self, texts: list[str], k: int = 10) -> list[list[tuple[str, float]]]:
        if self.space is None:
            raise ValueError("ranking needs an encoder")
        scores = self._scores(texts)
        k = min(k, scores.shape[1])
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return [[(self.space.uris[i], float(row[i])) for i in ids] for row, ids in zip(scores, top)]

    def _scores(self, texts: list[str]) -> np.ndarray:
        """Cosine of each title's readings to every preferred label, mixed (one row per title)."""
        readings = [self.reader.read(t).variants or (self.lexicon.translate(normalise_text(t)),)
                    for t in texts]
        vectors = self.encoder.encode(list(dict.fromkeys(v for r in readings for v in r)))
        row = {v: i for i, v in enumerate(dict.fromkeys(v for r in readings for v in r))}
        scores = vectors @ self.space.matrix.T
        return np.stack([mix_variants(scores[[row[v] for v in r]], self.whole_weight)
                         for r in readings])
