"""Profiles as JSON, so they are computed once and read back (never pickled).

Each stored profile carries the digest of the record fields it was made from (skills, trainings,
experience, title, ...; never a name, NIK or birth date): a record whose digest still matches
reuses its stored profile, any other record is profiled again. What profiles depend on besides the
record (profile code, thresholds, taxonomy, lexicon, model) is checked by the caller.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from sepadan.features.occupations import OccupationMatch
from sepadan.features.profiles import Requirement, VacancyProfile, WorkerProfile
from sepadan.features.skills import Concept
from sepadan.records import Vacancy, Worker

Profile = WorkerProfile | VacancyProfile


def record_digest(record: Worker | Vacancy) -> str:
    """A digest of the fields a profile is made from (no personal data among them)."""
    if isinstance(record, Worker):
        parts: Any = [record.id, list(record.skills),
                      [[t.title, list(t.skills)] for t in record.trainings],
                      [[e.occupation, e.years] for e in record.experience]]
    else:
        parts = [record.id, record.title, record.occupation, list(record.skills_required),
                 list(record.skills_preferred)]
    return hashlib.blake2b(json.dumps(parts, ensure_ascii=False).encode(), digest_size=12).hexdigest()


def dump_lines(records: Iterable[Worker | Vacancy], profiles: Iterable[Profile]) -> Iterator[str]:
    """One JSON line per record: its id, digest and profile."""
    for record, profile in zip(records, profiles, strict=True):
        yield orjson.dumps({"id": record.id, "digest": record_digest(record),
                            "profile": _dump(record, profile)}).decode()


def read_lines(lines: Iterable[str]) -> dict[str, tuple[str, Any]]:
    """id -> (digest, profile payload) from stored lines (payloads are decoded on use)."""
    out = {}
    for line in lines:
        if line.strip():
            item = orjson.loads(line)
            out[item["id"]] = (item["digest"], item["profile"])
    return out


class Loader:
    """Profiles from stored payloads; equal concepts and occupations are one shared object (a
    million workers hold a few thousand distinct ones)."""

    def __init__(self) -> None:
        self._concepts: dict[tuple, Concept] = {}
        self._occupations: dict[tuple, OccupationMatch] = {}

    def __call__(self, record: Worker | Vacancy, payload: Any) -> Profile:
        """The profile of this record (training references bound to the record's own)."""
        concept, occupation = self._concept, self._occupation
        if isinstance(record, Worker):
            skills, trained, jobs = payload
            return WorkerProfile(record.id, tuple(concept(c) for c in skills),
                                 tuple((concept(c), record.trainings[i]) for c, i in trained),
                                 tuple((occupation(m), y) for m, y in jobs))
        required, preferred, occ = payload
        return VacancyProfile(record.id, self._requirements(required), self._requirements(preferred),
                              occupation(occ))

    def _concept(self, c: list[Any]) -> Concept:
        key = tuple(c)
        held = self._concepts.get(key)
        if held is None:
            held = self._concepts[key] = Concept(*c)
        return held

    def _occupation(self, m: list[Any]) -> OccupationMatch:
        key = tuple(m)
        held = self._occupations.get(key)
        if held is None:
            held = self._occupations[key] = OccupationMatch(*m)
        return held

    def _requirements(self, items: list[Any]) -> tuple[Requirement, ...]:
        return tuple(Requirement(phrase, tuple(self._concept(c) for c in concepts)) for phrase, concepts in items)


def load(record: Worker | Vacancy, payload: Any) -> Profile:
    """The profile of one record from its stored payload."""
    return Loader()(record, payload)


def _dump(record: Worker | Vacancy, p: Profile) -> Any:
    if isinstance(p, WorkerProfile):
        assert isinstance(record, Worker)
        return [[_concept(c) for c in p.skills],
                [[_concept(c), _training_index(record, t)] for c, t in p.training_skills],
                [[_occupation(m), y] for m, y in p.occupations]]
    return [[[r.phrase, [_concept(c) for c in r.concepts]] for r in p.required],
            [[r.phrase, [_concept(c) for c in r.concepts]] for r in p.preferred],
            _occupation(p.occupation)]


def _training_index(w: Worker, done: Any) -> int:
    for i, t in enumerate(w.trainings):
        if t is done:
            return i
    return w.trainings.index(done)


def _concept(c: Concept) -> list[Any]:
    return [c.phrase, c.uri, c.label, c.source, c.confidence]


def _occupation(m: OccupationMatch) -> list[Any]:
    return [m.text, m.isco, m.uri, m.label, m.source, m.confidence]
