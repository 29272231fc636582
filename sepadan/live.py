"""Live writes and background rebuilds: what the HTTP API calls to change records while serving.

The store is written first, in one transaction; then a new matcher with the change applied is
swapped into the engine whole. A request holds the matcher it started with, so a swap fails none;
only the changed records are profiled and embedded again. On an ANN-sized pool the graph is
rebuilt whole in a background thread while the old matcher serves.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sepadan.ingest.importer import ImportReport, import_file, load_records, to_stored
from sepadan.matching.eligibility import Context
from sepadan.matching.matcher import Matcher, Side
from sepadan.matching.table import WorkerTable
from sepadan.store.db import UpsertCounts

if TYPE_CHECKING:
    from sepadan.engine import Engine

log = logging.getLogger(__name__)
MATCHED_KINDS = ("workers", "vacancies", "agencies")


def _carry_masks(new: Matcher, old: Matcher, kind: str, written: set[str]) -> None:
    """The new matcher keeps the old one's eligibility masks: a worker write re-evaluates only the
    written workers' rows, a vacancy write drops those vacancies' masks, an agency write every one."""
    n = new.table.n
    if kind == "workers":
        kept = np.array([-1 if r.id in written else old.workers.positions.get(r.id, -1)
                         for r in new.workers.records], dtype=np.int64)
        new.inherit_masks(old, kept, np.flatnonzero(kept < 0))
    elif kind == "vacancies":
        new.inherit_masks(old, np.arange(n), [], vacancies=frozenset(written))
    else:
        new.inherit_masks(old, np.arange(n), [], every_vacancy=True)


class LiveWrites:
    """Writes through one engine: searchable when they return (exact index) or after a rebuild."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lock = threading.RLock()
        self._guard = threading.Lock()
        self._pending = False
        self._rebuilder: threading.Thread | None = None

    def write(self, kind: str, models: list[Any]) -> UpsertCounts:
        """Store validated contract models (all or nothing) and make them searchable now."""
        rows = [to_stored(kind, m, self.engine.vault) for m in models]
        with self.lock:
            counts = self.engine.store.upsert(kind, rows)
            if kind == "workers":
                self.engine.personal.forget(r.id for r in rows)  # names held in memory
            if counts.inserted or counts.updated:
                self._apply(kind, upserted=[m.to_record() for m in models])
        return counts

    def delete(self, kind: str, id_: str, *, by: str | None = None, route: str | None = None) -> bool:
        """Delete one record; a worker is erased (:meth:`erase`, audited as ``by`` through ``route``
        when given). False if it did not exist."""
        if kind == "workers":
            return self.erase(id_, by=by, route=route)
        with self.lock:
            if not self.engine.store.delete(kind, [id_]):
                return False
            self._apply(kind, deleted={id_})
            return True

    def erase(self, worker_id: str, *, by: str | None = None, route: str | None = None) -> bool:
        """Erase a worker: in one transaction the store row (NIK, name, birth date), their outcomes,
        the phrases only they wrote from the phrase cache, and their id in the audit log (kept under
        a keyed pseudonym, with this erasure); then the WAL is truncated and the worker index is
        written again without them (old versions pruned). On an ANN-sized pool the index files lose
        them when the background rebuild ends (:meth:`wait`). False if no such worker is stored."""
        e = self.engine
        with self.lock:
            phrases = self._own_phrases(worker_id)
            entry = {"key_id": by, "route": route} if by is not None else None
            if not e.store.erase_worker(worker_id, pseudonym=e.vault.pseudonym(worker_id), phrases=phrases,
                                        audit=entry):
                return False
            self._apply("workers", deleted={worker_id})
            e.encoder.forget(phrases)  # the in-memory copies (the store's rows went with the erasure)
            e.personal.forget([worker_id])
            log.info("erased a worker (%d own phrases)", len(phrases))
            return True

    def import_file(self, kind: str, path: Path) -> ImportReport:
        """A bulk file (all or nothing), then a full rebuild swapped in when ready."""
        e = self.engine
        with self.lock:
            report = import_file(e.store, e.vault, kind, path, today=e.today)
            if kind in MATCHED_KINDS:
                e.build()
        return report

    def refresh_if_changed(self) -> bool:
        """Rebuild when another process changed the store (polled by the API); True if rebuilt."""
        e = self.engine
        if e.store.generation() == e.generation or self.rebuilding():
            return False
        with self.lock:
            if e.store.generation() == e.generation:
                return False
            log.info("the store changed outside this process; rebuilding the matcher")
            e.build()
            return True

    def rebuilding(self) -> bool:
        return self._rebuilder is not None and self._rebuilder.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        """Until the background rebuild (if any) has ended."""
        if self._rebuilder is not None:
            self._rebuilder.join(timeout)

    def _apply(self, kind: str, *, upserted: list[Any] = (), deleted: set[str] = frozenset()) -> None:
        e = self.engine
        m = e.built_matcher()
        if m is None or kind not in MATCHED_KINDS:
            if m is not None:
                e.generation = e.store.generation()
            return
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
            agencies = {a.licence: a for a in load_records(e.store, "agencies")}
            ctx = Context(e.today, agencies, e.rules)
        table = WorkerTable(workers.records, workers.profiles) if kind == "workers" else m.table
        new = Matcher(workers=workers, vacancies=vacancies, table=table, ctx=ctx, scorer=m.scorer,
                      candidates=m.candidates)
        _carry_masks(new, m, kind, {getattr(r, "id", None) for r in upserted} | set(deleted))
        e.swap(new)

    def _rebuild_soon(self) -> None:
        """Rebuild the matcher from the store in a background thread and swap it in when done;
        the old one serves meanwhile. Writes during a rebuild start another when it ends."""
        with self._guard:
            self._pending = True
            if self.rebuilding():
                return
            self._rebuilder = threading.Thread(target=self._rebuild_loop, name="sepadan-rebuild", daemon=True)
            self._rebuilder.start()

    def _rebuild_loop(self) -> None:
        while True:
            with self._guard:
                if not self._pending:
                    return
                self._pending = False
            try:
                self.engine.build()
            except Exception:  # noqa: BLE001 - the previous matcher keeps serving; logged in full
                log.exception("background rebuild failed; serving the previous matcher")

    def _side_with(self, side: str, old: Side, upserted: list[Any], deleted: set[str]) -> Side:
        started = time.perf_counter()
        e = self.engine
        fresh = {r.id: r for r in upserted}
        profile = e.profiler.worker if side == "workers" else e.profiler.vacancy
        phrases = e.profiler.worker_phrases if side == "workers" else e.profiler.vacancy_phrases
        profiles = {i: profile(r) for i, r in fresh.items()}
        new_vectors = dict(zip(fresh, e.profiler.vectors([phrases(fresh[i], profiles[i]) for i in fresh])))
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
        vectors = np.stack(rows) if rows else np.zeros((0, e.encoder.dim), dtype=np.float32)
        index = e.save_index(side, vectors, records, profs, reason="updated by a write", started=started)
        return Side(records, profs, index)

    def _own_phrases(self, worker_id: str) -> list[str]:
        """Free-text phrases of this worker that no other record uses and no taxonomy label is
        (the matcher is built first if it was not: its profiles say which phrases are whose)."""
        e = self.engine
        m = e.built_matcher() or e.matcher
        if worker_id not in m.workers.positions:
            return []
        pos = m.workers.positions[worker_id]
        profiler = e.profiler
        mine = {t for t, _ in profiler.worker_phrases(m.workers.records[pos], m.workers.profiles[pos])}
        mine |= set(m.workers.records[pos].skills)
        others: set[str] = set()
        for i, (r, p) in enumerate(zip(m.workers.records, m.workers.profiles)):
            if i != pos:
                others |= {t for t, _ in profiler.worker_phrases(r, p)} | set(r.skills)
        for r, p in zip(m.vacancies.records, m.vacancies.profiles):
            others |= {t for t, _ in profiler.vacancy_phrases(r, p)}
        labels = e.taxonomy_labels
        return sorted(t for t in mine - others if t not in labels)
