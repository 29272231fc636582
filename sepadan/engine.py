"""The engine: binds settings to the store, the taxonomy, the model, the indexes and the matcher.

Each edge (the CLI now, the HTTP API later) makes one Engine from Settings and asks it for work.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from sepadan.config import DEFAULT_MODEL_SHA256, Settings
from sepadan.errors import IndexError_
from sepadan.features.encoder import CachedEncoder, Encoder, SentenceEncoder, default_model_path
from sepadan.features.lexicon import Lexicon, load_lexicon
from sepadan.features.occupations import OccupationNormaliser
from sepadan.features.profiles import Profiler
from sepadan.features.skills import SkillNormaliser
from sepadan.features.taxonomy import Taxonomy, default_data_dir, load_taxonomy
from sepadan.ingest.importer import ImportReport, import_file, load_records
from sepadan.matching.eligibility import Context
from sepadan.matching.index import build_index
from sepadan.matching.matcher import Matcher, Scorer, Side
from sepadan.matching.persist import Manifest, load_index, read_manifest, save_index
from sepadan.matching.retrieve import ConceptIndex
from sepadan.matching.rules import RuleBook, load_rules
from sepadan.matching.scorer import TransparentScorer
from sepadan.matching.table import WorkerTable
from sepadan.store.db import Store
from sepadan.store.pii import Vault, load_secret

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
PROFILE_VERSION = "profile-1"
SIDES = {"workers": "workers", "vacancies": "vacancies"}


@dataclass(frozen=True, slots=True)
class IndexStatus:
    side: str
    rebuilt: bool
    reason: str
    manifest: Manifest


class Engine:
    def __init__(self, settings: Settings, *, encoder: Encoder | None = None, today: date | None = None,
                 progress: Progress | None = None) -> None:
        self.settings = settings
        self.today = today or date.today()
        self._encoder = encoder
        self.progress = progress
        self.index_status: dict[str, IndexStatus] = {}

    @cached_property
    def store(self) -> Store:
        return Store.open(self.settings.url)

    @cached_property
    def vault(self) -> Vault:
        return Vault(load_secret(self.settings.home, self.settings.pii_key))

    @cached_property
    def data_dir(self) -> Path:
        return self.settings.data_dir or default_data_dir()

    @cached_property
    def taxonomy(self) -> Taxonomy:
        return load_taxonomy(self.data_dir)

    @cached_property
    def lexicon(self) -> Lexicon:
        return load_lexicon(self.taxonomy, self.data_dir)

    @cached_property
    def rules(self) -> RuleBook:
        return load_rules(self.data_dir / "rules" / "programmes.json")

    @cached_property
    def encoder(self) -> CachedEncoder:
        """The model behind a phrase cache in the store (a CachedEncoder given by the caller is kept)."""
        if isinstance(self._encoder, CachedEncoder):
            return self._encoder
        return CachedEncoder(self._encoder or self._load_model(), self.store)

    def _load_model(self) -> Encoder:
        path = self.settings.model_path or default_model_path()
        expected = self.settings.model_sha256 or (DEFAULT_MODEL_SHA256 if self.settings.model_path is None else None)
        return SentenceEncoder(path, expected_sha256=expected)

    @cached_property
    def profiler(self) -> Profiler:
        s = self.settings
        skills = SkillNormaliser(self.taxonomy, self.lexicon, self.encoder, threshold=s.skill_threshold)
        occupations = OccupationNormaliser(self.taxonomy, self.lexicon, self.encoder,
                                           threshold=s.occupation_threshold)
        return Profiler(skills, occupations, self.encoder)

    def import_file(self, kind: str, path: Path, *, skip_invalid: bool = False,
                    rejects: Path | None = None) -> ImportReport:
        """Validate and store one file; the matcher's indexes catch up on the next build."""
        report = import_file(self.store, self.vault, kind, path, skip_invalid=skip_invalid,
                             rejects_path=rejects, progress=self._step(f"import {kind}"))
        self.__dict__.pop("matcher", None)
        return report

    @cached_property
    def matcher(self) -> Matcher:
        return self.build(force=False)

    def build(self, *, force: bool = False) -> Matcher:
        """Load records, profile them, load each index or rebuild it if stale, and make the matcher."""
        started = time.perf_counter()
        workers, vacancies = load_records(self.store, "workers"), load_records(self.store, "vacancies")
        agencies = {a.licence: a for a in load_records(self.store, "agencies")}
        self.profiler.prepare(workers, vacancies)
        wprof = self._profiles("profile workers", workers, self.profiler.worker)
        vprof = self._profiles("profile vacancies", vacancies, self.profiler.vacancy)
        wphr = [self.profiler.worker_phrases(w, p) for w, p in zip(workers, wprof)]
        vphr = [self.profiler.vacancy_phrases(v, p) for v, p in zip(vacancies, vprof)]
        windex = self._index("workers", workers, wphr, force)
        vindex = self._index("vacancies", vacancies, vphr, force)
        matcher = Matcher(
            workers=Side(workers, wprof, windex, ConceptIndex([p.concept_keys() for p in wprof])),
            vacancies=Side(vacancies, vprof, vindex, ConceptIndex([_vacancy_keys(p) for p in vprof])),
            table=WorkerTable(workers, wprof), ctx=Context(self.today, agencies, self.rules),
            scorer=self.scorer,
        )
        log.info("matcher ready in %.1fs: %d workers, %d vacancies", time.perf_counter() - started,
                 len(workers), len(vacancies))
        self.__dict__["matcher"] = matcher
        return matcher

    @cached_property
    def scorer(self) -> Scorer:
        """The registered champion ranker (followed as its alias moves), else the transparent scorer."""
        from sepadan.models.serving import champion_scorer

        return champion_scorer(self.settings, TransparentScorer(self.taxonomy, similarity=self._similarity))

    @cached_property
    def _inputs_digest(self) -> str:
        """What profiles depend on besides the records: profile code, thresholds, taxonomy, lexicon."""
        digest = hashlib.sha256(f"{PROFILE_VERSION}|{self.settings.skill_threshold}|"
                                f"{self.settings.occupation_threshold}".encode())
        for path in sorted(self.data_dir.glob("*/*.ts*")):
            if path.parent.name in ("esco", "kbji", "lexicon"):
                digest.update(path.name.encode() + path.read_bytes())
        return digest.hexdigest()[:16]

    def _similarity(self, a: str, b: str) -> float:
        """Cosine of two phrases' embeddings (each encoded once, then cached)."""
        va, vb = self.encoder.encode([a, b])
        return float(va @ vb)

    def _profiles(self, label: str, records: list[Any], fn: Callable[[Any], Any]) -> list[Any]:
        step = self._step(label)
        out = []
        for i, record in enumerate(records, start=1):
            out.append(fn(record))
            if step and (i % 1000 == 0 or i == len(records)):
                step(i, len(records))
        return out

    def _index(self, side: str, records: list[Any], phrases: list[list[tuple[str, float]]], force: bool):
        directory = self.settings.home / "index" / side
        fingerprint = f"{self._inputs_digest}:{self.store.fingerprint(side)}"
        ids = [r.id for r in records]
        if not force:
            try:
                index, stored_ids, manifest = load_index(
                    directory, model=self.encoder.name, exact_filter_max=self.settings.exact_filter_max,
                    ef_search=self.settings.hnsw_ef_search)
                if manifest.fingerprint == fingerprint and stored_ids == ids:
                    self.index_status[side] = IndexStatus(side, False, "up to date", manifest)
                    return index
                reason = "the data, taxonomy, lexicon or settings changed since it was built"
            except IndexError_ as exc:
                reason = str(exc)
            level = logging.INFO if reason.startswith("no ") else logging.WARNING
            log.log(level, "rebuilding the %s index: %s", side, reason)
        else:
            reason = "asked to rebuild"
        return self._rebuild(side, directory, ids, phrases, fingerprint, reason)

    def _rebuild(self, side: str, directory: Path, ids: list[str], phrases: list[list[tuple[str, float]]],
                 fingerprint: str, reason: str):
        started = time.perf_counter()
        vectors = self.profiler.vectors(phrases, progress=self._step(f"embed {side} phrases"))
        s = self.settings
        index = build_index(vectors, exact_max=s.index_exact_max, ann=s.index_ann, hnsw_m=s.hnsw_m,
                            ef_search=s.hnsw_ef_search, exact_filter_max=s.exact_filter_max)
        manifest = save_index(directory, index, ids, side=side, model=self.encoder.name,
                              fingerprint=fingerprint, build_seconds=time.perf_counter() - started)
        self.index_status[side] = IndexStatus(side, True, reason, manifest)
        return index

    def manifests(self) -> dict[str, Manifest | None]:
        return {side: read_manifest(self.settings.home / "index" / side) for side in SIDES}

    def describe_vacancy(self, vacancy_id: str) -> dict[str, Any]:
        m = self.matcher
        v = m.vacancies.records[m.vacancies.position(vacancy_id, "vacancy")]
        return {"title": v.title, "country": v.country, "employer": v.employer}

    def describe_worker(self, worker_id: str) -> dict[str, Any]:
        m = self.matcher
        w = m.workers.records[m.workers.position(worker_id, "worker")]
        return {"region": w.region}

    def _step(self, label: str) -> Callable[[int, int], None] | None:
        if self.progress is None:
            return None
        progress = self.progress
        return lambda done, total: progress(label, done, total)


def _vacancy_keys(p: Any) -> set[str]:
    return {c.key for r in (*p.required, *p.preferred) for c in r.concepts}
