"""Job titles and experience to KBJI 2014 / ISCO-08 unit groups and ESCO occupations.

Order of evidence: a code given as such (4-digit ISCO/KBJI or an ESCO URI), the Indonesian title
lexicon, KBJI 2014 titles, ESCO labels, then the nearest ESCO occupation label by embedding above a
threshold. ISCO's hierarchy gives partial credit: same unit group 1, minor group 0.6, sub-major 0.3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sepadan.features.encoder import CachedEncoder
from sepadan.features.lexicon import Lexicon
from sepadan.features.skills import LabelSpace
from sepadan.features.taxonomy import Taxonomy
from sepadan.features.text import normalise_text

_ISCO = re.compile(r"^\d{4}$")


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
                 threshold: float = 0.55) -> None:
        self.taxonomy, self.lexicon, self.threshold = taxonomy, lexicon, threshold
        uris = sorted(taxonomy.occupations)
        labels = [taxonomy.occupations[u].label for u in uris]
        self.space = LabelSpace(uris, labels, encoder) if encoder is not None else None
        self.encoder = encoder
        self._memo: dict[str, OccupationMatch] = {}

    def normalise(self, text: str, *, code: str | None = None) -> OccupationMatch:
        if code:
            coded = self._coded(text, code.strip())
            if coded:
                return coded
        key = normalise_text(text)
        if key not in self._memo:
            self._memo[key] = self._exact(text, key) or self._embedded(text, key)
        return self._memo[key]

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

    def _embedded(self, text: str, key: str) -> OccupationMatch:
        if self.space is None or not key:
            return OccupationMatch(text, None, None, text, "free", 0.0)
        scores, top = self.space.nearest(self.encoder.encode([self.lexicon.translate(key)]), k=1)
        score, idx = float(scores[0, 0]), int(top[0, 0])
        if score < self.threshold:
            return OccupationMatch(text, None, None, text, "free", score)
        occ = self.taxonomy.occupations[self.space.uris[idx]]
        return OccupationMatch(text, occ.isco, occ.uri, occ.label, "embedding", score)

    def rank(self, texts: list[str], k: int = 10) -> list[list[tuple[str, float]]]:
        if self.space is None:
            raise ValueError("ranking needs an encoder")
        queries = self.encoder.encode([self.lexicon.translate(normalise_text(t)) for t in texts])
        scores, top = self.space.nearest(queries, k=k)
        return [[(self.space.uris[i], float(s)) for s, i in zip(rs, ri)] for rs, ri in zip(scores, top)]
