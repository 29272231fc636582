"""The engine: binds settings to the store, the taxonomy, the model, the indexes and the matcher.

Each edge (the CLI now, the HTTP API later) makes one Engine from Settings and asks it for work.
"""

from __future__ import annotations

import hashlib
import logging
import threading
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
from sepadan.features.encoder import CachedEncoder, Encoder, open_model
from sepadan.features.lexicon import Lexicon, load_lexicon
from sepadan.features.occupations import OccupationNormaliser
from sepadan.features.profiles import Profiler
from sepadan.features.skills import SkillNormaliser
from sepadan.features.taxonomy import Taxonomy, default_data_dir, load_taxonomy
from sepadan.ingest.importer import ImportReport, import_file, load_records, to_stored
from sepadan.matching.eligibility import Context
from sepadan.matching.index import build_index
from sepadan.matching.matcher import Matcher, Scorer, Side
from sepadan.matching.persist import Manifest, load_index, read_manifest, save_index
from sepadan.matching.rules import RuleBook, load_rules
from sepadan.matching.scorer import TransparentScorer
from sepadan.matching.table import WorkerTable
from sepadan.store.db import Store, UpsertCounts
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
        self.write_lock = threading.RLock()
        self.generation: tuple | None = None  # the store generation the matcher reflects
        self._similarities: dict[tuple[str, str], float] = {}
        self._rebuild_guard = threading.Lock()
        self._rebuild_pending = False
        self._rebuilder: threading.Thread | None = None

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
        return CachedEncoder(self._encoder or open_model(self.settings.model_path, self.settings.model_sha256),
                             self.store)

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
        generation = self.store.generation()
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

    # Live writes (the HTTP API): the store first, in one transaction, then a new matcher with the
    # change applied is swapped in whole. A request holds the matcher it started with, so a swap
    # fails none; only the changed records are profiled and embedded again.

    def write(self, kind: str, models: list[Any]) -> UpsertCounts:
        """Store validated contract models (all or nothing) and make them searchable now."""
        rows = [to_stored(kind, m, self.vault) for m in models]
        with self.write_lock:
            counts = self.store.upsert(kind, rows)
            if counts.inserted or counts.updated:
                self._apply(kind, upserted=[m.to_record() for m in models])
        return counts

    def delete(self, kind: str, id_: str) -> bool:
        """Delete one record; a worker is erased: store row (with NIK and name), outcomes, the index
        row and file, and phrases only they wrote from the phrase cache. False if it did not exist."""
        with self.write_lock:
            own_phrases = self._own_phrases(id_) if kind == "workers" else []
            if not self.store.delete(kind, [id_]):
                return False
            if kind == "workers":
                self.store.delete_outcomes_of(id_)
            self._apply(kind, deleted={id_})
            if own_phrases:
                self.encoder.forget(own_phrases)
            return True

    def import_and_refresh(self, kind: str, path: Path) -> ImportReport:
        """A bulk file (all or nothing), then a full rebuild swapped in when ready."""
        with self.write_lock:
            report = import_file(self.store, self.vault, kind, path)
            if kind in ("workers", "vacancies", "agencies"):
                self.build()
        return report

    def refresh_if_changed(self) -> bool:
        """Rebuild when another process changed the store (polled by the API); True if rebuilt."""
        if self.store.generation() == self.generation:
            return False
        if self._rebuilder is not None and self._rebuilder.is_alive():
            return False  # a rebuild from the store is under way already
        with self.write_lock:
            if self.store.generation() == self.generation:
                return False
            log.info("the store changed outside this process; rebuilding the matcher")
            self.build()
            return True

    def _apply(self, kind: str, *, upserted: list[Any] = (), deleted: set[str] = frozenset()) -> None:
        if "matcher" not in self.__dict__ or kind not in ("workers", "vacancies", "agencies"):
            self.generation = self.store.generation() if "matcher" in self.__dict__ else self.generation
            return
        m: Matcher = self.__dict__["matcher"]
        side = m.workers if kind == "workers" else m.vacancies if kind == "vacancies" else None
        if side is not None and side.index.kind != "exact":
            self._rebuild_soon()  # an ANN graph is rebuilt whole: minutes at a million rows
            return
        workers, vacancies, ctx = m.workers, m.vacancies, m.ctx
        if kind == "workers":
            workers = self._side_with("workers", m.workers, list(upserted), deleted)
        elif kind == "vacancies":
            vacancies = self._side_with("vacancies", m.vacancies, list(upserted), deleted)
        else:
            agencies = {a.licence: a for a in load_records(self.store, "agencies")}
            ctx = Context(self.today, agencies, self.rules)
        table = WorkerTable(workers.records, workers.profiles) if kind == "workers" else m.table
        self.__dict__["matcher"] = Matcher(workers=workers, vacancies=vacancies, table=table, ctx=ctx,
                                           scorer=m.scorer, candidates=m.candidates)
        self.generation = self.store.generation()

    def _rebuild_soon(self) -> None:
        """Rebuild the matcher from the store in a background thread and swap it in when done;
        the old one serves meanwhile. Writes during a rebuild start another when it ends."""
        with self._rebuild_guard:
            self._rebuild_pending = True
            if self._rebuilder is not None and self._rebuilder.is_alive():
                return
            self._rebuilder = threading.Thread(target=self._rebuild_loop, name="sepadan-rebuild", daemon=True)
            self._rebuilder.start()

    def _rebuild_loop(self) -> None:
        while True:
            with self._rebuild_guard:
                if not self._rebuild_pending:
                    return
                self._rebuild_pending = False
            try:
                self.build()
            except Exception:  # noqa: BLE001 - the previous matcher keeps serving; logged in full
                log.exception("background rebuild failed; serving the previous matcher")

    def _side_with(self, side: str, old: Side, upserted: list[Any], deleted: set[str]) -> Side:
        started = time.perf_counter()
        fresh = {r.id: r for r in upserted}
        profile = self.profiler.worker if side == "workers" else self.profiler.vacancy
        phrases = self.profiler.worker_phrases if side == "workers" else self.profiler.vacancy_phrases
        profiles = {i: profile(r) for i, r in fresh.items()}
        new_vectors = dict(zip(fresh, self.profiler.vectors([phrases(fresh[i], profiles[i]) for i in fresh])))
        records, profs, rows = [], [], []
        for pos, r in enumerate(old.records):
            if r.id in deleted:
                continue
            if r.id in fresh:
                records.append(fresh[r.id]), profs.append(profiles[r.id]), rows.append(new_vectors.pop(r.id))
            else:
                records.append(r), profs.append(old.profiles[pos]), rows.append(old.index.vectors[pos])
        for id_, vector in new_vectors.items():
            records.append(fresh[id_]), profs.append(profiles[id_]), rows.append(vector)
        vectors = np.stack(rows) if rows else np.zeros((0, self.encoder.dim), dtype=np.float32)
        s = self.settings
        index = build_index(vectors, exact_max=s.index_exact_max, ann=s.index_ann, hnsw_m=s.hnsw_m,
                            ef_search=s.hnsw_ef_search, exact_filter_max=s.exact_filter_max)
        fingerprint = f"{self._inputs_digest}:{self.store.fingerprint(side)}"
        manifest = save_index(self.settings.home / "index" / side, index, [r.id for r in records], side=side,
                              model=self.encoder.name, fingerprint=fingerprint,
                              build_seconds=time.perf_counter() - started)
        self.index_status[side] = IndexStatus(side, True, "updated by a write", manifest)
        return Side(records, profs, index)

    def _own_phrases(self, worker_id: str) -> list[str]:
        """Free-text phrases of this worker that no other record uses and no taxonomy label is."""
        m = self.__dict__.get("matcher")
        if m is None or worker_id not in m.workers.positions:
            return []
        pos = m.workers.positions[worker_id]
        mine = {t for t, _ in self.profiler.worker_phrases(m.workers.records[pos], m.workers.profiles[pos])}
        mine |= set(m.workers.records[pos].skills)
        others: set[str] = set()
        for i, (r, p) in enumerate(zip(m.workers.records, m.workers.profiles)):
            if i != pos:
                others |= {t for t, _ in self.profiler.worker_phrases(r, p)} | set(r.skills)
        for r, p in zip(m.vacancies.records, m.vacancies.profiles):
            others |= {t for t, _ in self.profiler.vacancy_phrases(r, p)}
        labels = self.taxonomy_labels
        return sorted(t for t in mine - others if t not in labels)

    def match_unstored(self, w: Any, **options: Any) -> Any:
        """Recommendations for a worker record that is not stored (a portal's profile); its new
        phrases are encoded but neither cached nor stored."""
        with self.encoder.ephemeral():
            wp = self.profiler.worker(w)
            vector = self.profiler.vectors([self.profiler.worker_phrases(w, wp)])[0]
        return self.matcher.recommend_for(w, wp, vector, **options)

    def personal(self, worker_id: str) -> dict[str, Any]:
        """The worker's sealed personal fields (NIK, name) and birth date, decrypted."""
        raw = self.store.raw("workers", worker_id)
        if raw is None:
            return {}
        out = self.vault.open(raw["pii_enc"])
        if raw.get("birth_date") is not None:
            out["birth_date"] = raw["birth_date"].isoformat()
        return out

    def personal_many(self, worker_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Decrypted personal fields for stored workers (absent ids are left out: erased)."""
        return self.store.personal_many(worker_ids, self.vault.open)

    @cached_property
    def taxonomy_labels(self) -> frozenset[str]:
        t = self.taxonomy
        return frozenset(s.label for s in t.skills.values()) | frozenset(o.label for o in t.occupations.values())

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
