"""Normalised profiles of workers and vacancies, and one embedding per profile.

A profile vector is the weighted mean of the embeddings of its phrases (concept labels, titles,
training), each phrase encoded once through the cache.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from sepadan.features.encoder import CachedEncoder
from sepadan.features.occupations import OccupationMatch, OccupationNormaliser
from sepadan.features.skills import Concept, SkillNormaliser
from sepadan.records import TrainingDone, Vacancy, Worker

Progress = Callable[[int, int], None]
WEIGHTS = {"skill": 1.0, "experience": 0.8, "training_skill": 0.6, "training_title": 0.4,
           "title": 1.5, "required": 1.0, "preferred": 0.5, "occupation": 1.0}


@dataclass(frozen=True, slots=True)
class Requirement:
    """One skill a vacancy asks for, as written, and what it means."""

    phrase: str
    concepts: tuple[Concept, ...]


@dataclass(frozen=True, slots=True)
class WorkerProfile:
    id: str
    skills: tuple[Concept, ...]
    training_skills: tuple[tuple[Concept, TrainingDone], ...]
    occupations: tuple[tuple[OccupationMatch, float], ...]

    def concept_keys(self) -> frozenset[str]:
        return frozenset(c.key for c in self.skills) | frozenset(c.key for c, _ in self.training_skills)


@dataclass(frozen=True, slots=True)
class VacancyProfile:
    id: str
    required: tuple[Requirement, ...]
    preferred: tuple[Requirement, ...]
    occupation: OccupationMatch

    def concept_keys(self) -> frozenset[str]:
        return frozenset(c.key for r in (*self.required, *self.preferred) for c in r.concepts)


class Profiler:
    """Binds the normalisers and the encoder; turns records into profiles and vectors."""

    def __init__(self, skills: SkillNormaliser, occupations: OccupationNormaliser,
                 encoder: CachedEncoder) -> None:
        self.skills, self.occupations, self.encoder = skills, occupations, encoder

    def worker(self, w: Worker) -> WorkerProfile:
        concepts = tuple(c for text in w.skills for c in self.skills.normalise(text))
        trained = tuple((c, t) for t in w.trainings for text in t.skills for c in self.skills.normalise(text))
        skills = [c.uri for c in concepts if c.uri]  # what the worker can do weighs in on each job
        jobs = tuple((self.occupations.normalise(e.occupation, skills=skills), e.years) for e in w.experience)
        return WorkerProfile(w.id, _dedupe(concepts), trained, jobs)

    def vacancy(self, v: Vacancy) -> VacancyProfile:
        required, preferred = self._requirements(v.skills_required), self._requirements(v.skills_preferred)
        skills = [c.uri for r in (*required, *preferred) for c in r.concepts if c.uri]
        return VacancyProfile(v.id, required, preferred,
                              self.occupations.normalise(v.title, code=v.occupation, skills=skills))

    def _requirements(self, texts: tuple[str, ...]) -> tuple[Requirement, ...]:
        out = []
        for text in texts:
            for phrase in _split(text):
                out.append(Requirement(phrase, self.skills.normalise(phrase)))
        return tuple(out)

    def prepare(self, workers: Sequence[Worker], vacancies: Sequence[Vacancy]) -> None:
        """Normalise every distinct phrase in one batch (one embedding pass for the unknown ones)."""
        phrases = [s for w in workers for s in w.skills] + [s for w in workers for t in w.trainings for s in t.skills]
        phrases += [s for v in vacancies for s in (*v.skills_required, *v.skills_preferred)]
        self.skills.normalise_many(p for text in phrases for p in _split(text))

    def worker_phrases(self, w: Worker, p: WorkerProfile) -> list[tuple[str, float]]:
        out = [(self._text(c), WEIGHTS["skill"]) for c in p.skills]
        out += [(m.label, WEIGHTS["experience"] * (0.5 + min(y, 5.0) / 10)) for m, y in p.occupations]
        out += [(self._text(c), WEIGHTS["training_skill"]) for c, _ in p.training_skills]
        out += [(self.skills.lexicon.translate(t.title), WEIGHTS["training_title"]) for t in w.trainings if t.title]
        return out

    def vacancy_phrases(self, v: Vacancy, p: VacancyProfile) -> list[tuple[str, float]]:
        out = [(self.skills.lexicon.translate(v.title), WEIGHTS["title"]), (p.occupation.label, WEIGHTS["occupation"])]
        for kind, reqs in (("required", p.required), ("preferred", p.preferred)):
            for r in reqs:
                share = WEIGHTS[kind] / max(len(r.concepts), 1)
                out += [(self._text(c), share) for c in r.concepts]
        return out

    def _text(self, c: Concept) -> str:
        return c.label if c.uri else self.skills.lexicon.translate(c.phrase)

    def vectors(self, phrase_lists: list[list[tuple[str, float]]], *, progress: Progress | None = None
                ) -> np.ndarray:
        """Weighted means of phrase embeddings, L2-normalised; an empty profile gets a zero row."""
        vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        for i, phrases in enumerate(phrase_lists):
            for text, weight in phrases:
                if text:
                    rows.append(i)
                    cols.append(vocab.setdefault(text, len(vocab)))
                    vals.append(weight)
        table = self.encoder.encode(list(vocab), progress=progress)
        weights = sparse.csr_matrix((vals, (rows, cols)), shape=(len(phrase_lists), len(vocab)))
        out = np.asarray(weights @ table, dtype=np.float32) if len(vocab) else np.zeros(
            (len(phrase_lists), self.encoder.dim), dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


def _split(text: str) -> list[str]:
    from sepadan.features.text import split_phrases

    return split_phrases(text)


def _dedupe(concepts: tuple[Concept, ...]) -> tuple[Concept, ...]:
    seen: dict[str, Concept] = {}
    for c in concepts:
        seen.setdefault(c.key, c)
    return tuple(seen.values())
