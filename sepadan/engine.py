"""The engine: binds settings to the store, the taxonomy, the model, the indexes and the matcher.

Each edge (the CLI, the HTTP API, the web app) makes one Engine from Settings and asks it for work.
The engine wires and answers; writes while serving live in ``sepadan.live`` (``engine.live``) and
personal data is read through ``sepadan.store.personal`` (``engine.personal``).
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

import numpy as np

from sepadan.config import Settings
from sepadan.errors import IndexError_
from sepadan.features import profile_codec
from sepadan.features.encoder import CachedEncoder, Encoder, default_model_path, open_encoder
from sepadan.features.lazy_model import LazyEncoder, model_key
from sepadan.features.lexicon import Lexicon, load_lexicon
from sepadan.features.occupations import OccupationNormaliser
from sepadan.features.profiles import Profiler
from sepadan.features.skills import SkillNormaliser
from sepadan.features.taxonomy import Taxonomy, default_data_dir, load_taxonomy
from sepadan.features.title_examples import TitleExamples, load_title_examples
from sepadan.features.titles import TitleReader, load_title_words
from sepadan.ingest.importer import ImportReport, import_file, load_records
from sepadan.matching.eligibility import Context
from sepadan.matching.index import VectorIndex, build_index
from sepadan.matching.matcher import Matcher, Scorer, Side
from sepadan.matching.persist import Manifest, Stored, load_stored, read_manifest, save_index
from sepadan.matching.rules import RuleBook, load_rules
from sepadan.matching.scorer import TransparentScorer
from sepadan.matching.table import WorkerTable
from sepadan.live import LiveWrites
from sepadan.store.db import Store
from sepadan.store.personal import PersonalData
from sepadan.store.pii import Vault, load_secret

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
PROFILE_VERSION = "profile-2"  # 2: titles read (features/titles.py), vacancy skills weigh in
SIDES = {"workers": "workers", "vacancies": "vacancies"}


@dataclass(frozen=True, slots=True)
class IndexStatus:
    side: str
    rebuilt: bool
    reason: str
    manifest: Manifest


@dataclass(frozen=True, slots=True)
class _SideState:
    stored: Stored | None
    fresh: bool  # the stored index and profiles fit the records and inputs as they are
    reason: str


class Engine:
    def __init__(self, settings: Settings, *, encoder: Encoder | None = None, today: date | None = None,
                 progress: Progress | None = None) -> None:
        self.settings = settings
        self.today = today or date.today()
        self._encoder = encoder
        self.progress = progress
        self.index_status: dict[str, IndexStatus] = {}
        self.generation: tuple | None = None  # the store generation the matcher reflects
        self._similarities: dict[tuple[str, str], float] = {}

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
        """The model behind a phrase cache in the store (a CachedEncoder given by the caller is kept);
        the configured model loads on the first phrase that is not cached (:class:`LazyEncoder`)."""
        if isinstance(self._encoder, CachedEncoder):
            return self._encoder
        return CachedEncoder(self._encoder or self._lazy_model(), self.store)

    def _lazy_model(self) -> LazyEncoder:
        s = self.settings
        choice = {k: v for k, v in s.model_dump().items() if k.startswith(("model", "encoder"))}
        key = model_key(choice, s.model_path or default_model_path())
        return LazyEncoder(self._open_model, key=key, card=s.home / "index" / "model-card.json")

    def _open_model(self) -> Encoder:
        s = self.settings  # SEPADAN_ENCODER; the int8 ONNX model is made once in <home>/models
        return open_encoder(s.encoder, model_path=s.model_path, sha256=s.model_sha256, cache_dir=s.home / "models")

    @cached_property
    def profiler(self) -> Profiler:
        s = self.settings
        skills = SkillNormaliser(self.taxonomy, self.lexicon, self.encoder, threshold=s.skill_threshold)
        occupations = OccupationNormaliser(self.taxonomy, self.lexicon, self.encoder,
                                           threshold=s.occupation_threshold,
                                           reader=TitleReader(load_title_words(self.data_dir), self.lexicon),
                                           examples=self._title_examples())
        return Profiler(skills, occupations, self.encoder)

    def _title_examples(self) -> TitleExamples | None:
        """The labelled example titles (setting ``title_examples``; off: none)."""
        if not self.settings.title_examples:
            return None
        return load_title_examples(self.data_dir, known=self.taxonomy.occupations)

    def import_file(self, kind: str, path: Path, *, skip_invalid: bool = False,
                    rejects: Path | None = None) -> ImportReport:
        """Validate and store one file; the matcher's indexes catch up on the next build."""
        report = import_file(self.store, self.vault, kind, path, skip_invalid=skip_invalid,
                             rejects_path=rejects, progress=self._step(f"import {kind}"), today=self.today)
        self.__dict__.pop("matcher", None)
        return report

    @cached_property
    def matcher(self) -> Matcher:
        return self.build(force=False)

    def build(self, *, force: bool = False) -> Matcher:
        """Load records; load each side's index and stored profiles, or profile what changed and
        rebuild a stale index; make the matcher. Unchanged data loads neither model nor profiler."""
        started = time.perf_counter()
        generation = self.store.generation()
        workers, vacancies = load_records(self.store, "workers"), load_records(self.store, "vacancies")
        agencies = {a.licence: a for a in load_records(self.store, "agencies")}
        wstored, vstored = self._stored("workers", workers, force), self._stored("vacancies", vacancies, force)
        wprof, vprof = self._all_profiles(workers, wstored, vacancies, vstored)
        windex = self._index("workers", workers, wprof, wstored)
        vindex = self._index("vacancies", vacancies, vprof, vstored)
        matcher = Matcher(
            workers=Side(workers, wprof, windex), vacancies=Side(vacancies, vprof, vindex),
            table=WorkerTable(workers, wprof), ctx=Context(self.today, agencies, self.rules),
            scorer=self.scorer,
        )
        matcher.warm()
        log.info("matcher ready in %.1fs: %d workers, %d vacancies", time.perf_counter() - started,
                 len(workers), len(vacancies))
        self.__dict__["matcher"] = matcher
        self.generation = generation
        return matcher

    def built_matcher(self) -> Matcher | None:
        """The matcher if one was built (never builds one)."""
        return self.__dict__.get("matcher")

    def swap(self, matcher: Matcher) -> None:
        """Serve a new matcher from now on (live writes); requests keep the one they started with."""
        self.__dict__["matcher"] = matcher
        self.generation = self.store.generation()

    @cached_property
    def live(self) -> LiveWrites:
        """Writes while serving (the HTTP API): records searchable when the write returns."""
        return LiveWrites(self)

    @cached_property
    def personal(self) -> PersonalData:
        """The only way to personal fields (NIK, name, birth date)."""
        return PersonalData(self.store, self.vault)

    def match_unstored(self, w: Any, **options: Any) -> Any:
        """Recommendations for a worker record that is not stored (a portal's profile); its new
        phrases are encoded but neither cached nor stored."""
        with self.encoder.ephemeral():
            wp = self.profiler.worker(w)
            vector = self.profiler.vectors([self.profiler.worker_phrases(w, wp)])[0]
        return self.matcher.recommend_for(w, wp, vector, **options)

    @cached_property
    def taxonomy_labels(self) -> frozenset[str]:
        t = self.taxonomy
        return frozenset(s.label for s in t.skills.values()) | frozenset(o.label for o in t.occupations.values())

    def label_report(self) -> dict[str, Any]:
        """Indonesian labels: rows by kind and source, and how often this process has shown an
        English ESCO label for want of an Indonesian one."""
        labels = self.lexicon.labels
        return {"rows": labels.counts(), **labels.fallbacks.snapshot()}

    @cached_property
    def scorer(self) -> Scorer:
        """The registered champion ranker (followed as its alias moves), else the transparent scorer."""
        from sepadan.models.serving import champion_scorer

        return champion_scorer(self.settings, TransparentScorer(self.taxonomy, similarity=self._similarity))

    @cached_property
    def _inputs_digest(self) -> str:
        """What profiles depend on besides the records: profile code, thresholds, taxonomy, lexicon."""
        digest = hashlib.sha256(f"{PROFILE_VERSION}|{self.settings.skill_threshold}|"
                                f"{self.settings.occupation_threshold}|{self.settings.title_examples}".encode())
        for path in sorted(self.data_dir.glob("*/*.ts*")):
            if path.parent.name in ("esco", "kbji", "lexicon", "labels", "titles"):
                digest.update(path.name.encode() + path.read_bytes())
        return digest.hexdigest()[:16]

    def _similarity(self, a: str, b: str) -> float:
        """Cosine of two phrases' embeddings (each encoded once, each pair computed once: the
        scorer asks for the same few thousand label pairs over and over)."""
        key = (a, b) if a <= b else (b, a)
        cached = self._similarities.get(key)
        if cached is None:
            va, vb = self.encoder.encode([a, b])
            cached = self._similarities[key] = float(va @ vb)
            if len(self._similarities) > 2_000_000:
                self._similarities.clear()
        return cached

    def _stored(self, side: str, records: list[Any], force: bool) -> _SideState:
        """What is on disk for a side, and whether it still fits the records and inputs."""
        if force:
            return _SideState(None, False, "asked to rebuild")
        try:
            stored = load_stored(self.settings.home / "index" / side, model=self.encoder.name,
                                 exact_filter_max=self.settings.exact_filter_max,
                                 ef_search=self.settings.hnsw_ef_search,
                                 exact_filter_share=self.settings.exact_filter_share,
                                 nprobe=self.settings.ivf_nprobe, rows=self.settings.index_rows)
        except IndexError_ as exc:
            return _SideState(None, False, str(exc))
        fresh = stored.manifest.fingerprint == self._fingerprint(side) and stored.ids == [r.id for r in records]
        want = "exact" if len(records) <= self.settings.index_exact_max else self.settings.index_ann
        if fresh and stored.manifest.kind != want:  # SEPADAN_INDEX_ANN or INDEX_EXACT_MAX changed
            return _SideState(stored, False, f"the index kind setting changed ({stored.manifest.kind} -> {want})")
        return _SideState(stored, fresh, "up to date" if fresh else
                          "the data, taxonomy, lexicon or settings changed since it was built")

    def _all_profiles(self, workers: list[Any], wstate: _SideState, vacancies: list[Any],
                      vstate: _SideState) -> tuple[list[Any], list[Any]]:
        """Stored profiles where a record's digest (or the whole side) is unchanged; the rest are
        normalised in one batch and profiled."""
        wkept, vkept = self._kept(workers, wstate), self._kept(vacancies, vstate)
        wtodo = [w for w, p in zip(workers, wkept) if p is None]
        vtodo = [v for v, p in zip(vacancies, vkept) if p is None]
        if wtodo or vtodo:
            log.info("profiling %d workers and %d vacancies (%d and %d stored profiles reused)",
                     len(wtodo), len(vtodo), len(workers) - len(wtodo), len(vacancies) - len(vtodo))
            self.profiler.prepare(wtodo, vtodo)
        wprof = self._profiles("profile workers", workers, wkept, self.profiler.worker if wtodo else None)
        vprof = self._profiles("profile vacancies", vacancies, vkept, self.profiler.vacancy if vtodo else None)
        return wprof, vprof

    def _kept(self, records: list[Any], state: _SideState) -> list[Any]:
        """Each record's stored profile, or None where it must be profiled again."""
        stored = state.stored
        if stored is None or stored.profiles is None or not stored.manifest.fingerprint.startswith(
                self._inputs_digest + ":"):
            return [None] * len(records)
        lines, load = profile_codec.read_lines(stored.profiles), profile_codec.Loader()
        out = []
        for r in records:
            held = lines.get(r.id)
            ok = held is not None and (state.fresh or held[0] == profile_codec.record_digest(r))
            out.append(load(r, held[1]) if ok else None)
        return out

    def _profiles(self, label: str, records: list[Any], kept: list[Any], fn: Callable[[Any], Any] | None
                  ) -> list[Any]:
        if fn is None:
            return kept
        step = self._step(label)
        out = []
        for i, (record, profile) in enumerate(zip(records, kept), start=1):
            out.append(profile if profile is not None else fn(record))
            if step and (i % 1000 == 0 or i == len(records)):
                step(i, len(records))
        return out

    def _index(self, side: str, records: list[Any], profiles: list[Any], state: _SideState) -> VectorIndex:
        stored = state.stored
        if state.fresh and stored is not None:
            if stored.profiles is None:  # an index written before profiles were stored: add them
                self._write(side, stored.index, records, profiles, reason="profiles stored",
                            started=time.perf_counter())
            self.index_status[side] = IndexStatus(side, False, "up to date", stored.manifest)
            return stored.index
        level = logging.INFO if state.reason.startswith(("no ", "asked")) else logging.WARNING
        log.log(level, "rebuilding the %s index: %s", side, state.reason)
        started = time.perf_counter()
        phrases = self.profiler.worker_phrases if side == "workers" else self.profiler.vacancy_phrases
        vectors = self.profiler.vectors([phrases(r, p) for r, p in zip(records, profiles)],
                                        progress=self._step(f"embed {side} phrases"))
        return self.save_index(side, vectors, records, profiles, reason=state.reason, started=started)

    def save_index(self, side: str, vectors: np.ndarray, records: list[Any], profiles: list[Any], *,
                   reason: str, started: float) -> VectorIndex:
        """Build the index over these vectors and write it atomically with its manifest and the
        records' profiles."""
        s = self.settings
        index = build_index(vectors, exact_max=s.index_exact_max, ann=s.index_ann, hnsw_m=s.hnsw_m,
                            ef_search=s.hnsw_ef_search, exact_filter_max=s.exact_filter_max,
                            ef_construction=s.hnsw_ef_construction, exact_filter_share=s.exact_filter_share,
                            nprobe=s.ivf_nprobe)
        return self._write(side, index, records, profiles, reason=reason, started=started)

    def _write(self, side: str, index: VectorIndex, records: list[Any], profiles: list[Any], *, reason: str,
               started: float) -> VectorIndex:
        s = self.settings
        manifest = save_index(s.home / "index" / side, index, [r.id for r in records], side=side,
                              model=self.encoder.name, fingerprint=self._fingerprint(side),
                              build_seconds=time.perf_counter() - started,
                              profiles=profile_codec.dump_lines(records, profiles))
        self.index_status[side] = IndexStatus(side, True, reason, manifest)
        return index

    def _fingerprint(self, side: str) -> str:
        return f"{self._inputs_digest}:{self.store.fingerprint(side)}"

    def manifests(self) -> dict[str, Manifest | None]:
        return {side: read_manifest(self.settings.home / "index" / side) for side in SIDES}

    def market(self) -> Any:
        """The planning view of the current matcher (kept until a write swaps the matcher)."""
        import weakref

        from sepadan.planning.demand import market

        held = self.__dict__.get("_market")
        if held is None or held[0]() is not self.matcher:  # a weak reference: never keeps an old matcher
            held = self.__dict__["_market"] = (weakref.ref(self.matcher), market(self))
        return held[1]

    def job_orders(self, **filters: Any) -> list[Any]:
        """Job orders with their agency's licence status (:func:`sepadan.matching.orders.job_orders`)."""
        from sepadan.matching.orders import job_orders

        return job_orders(self.matcher.vacancies.records, self.matcher.ctx, **filters)

    def one_course_away(self, vacancy_id: str, **options: Any) -> Any:
        """Workers one course away from an order (:func:`sepadan.planning.candidates.one_course_away`)."""
        from sepadan.planning.candidates import one_course_away

        return one_course_away(self.market(), vacancy_id, **options)

    def worker_gaps(self, worker_id: str, *, scope: str = "all") -> Any:
        """A worker's gaps and the courses closing them (:func:`sepadan.planning.gaps.worker_gaps`)."""
        from sepadan.planning.gaps import worker_gaps

        return worker_gaps(self.market(), worker_id, scope=scope)

    def gap_report(self, scope: Any, *, lang: str = "en") -> Any:
        """Demand, supply and the gap table of a region and period (:func:`sepadan.planning.demand.gap_report`)."""
        from sepadan.planning.demand import gap_report

        return gap_report(self.market(), scope, lang=lang)

    def plan_region(self, scope: Any, **options: Any) -> Any:
        """The gap table and the training plan within a budget (:func:`sepadan.planning.demand.plan_region`)."""
        from sepadan.planning.demand import plan_region

        return plan_region(self.market(), scope, **options)

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
