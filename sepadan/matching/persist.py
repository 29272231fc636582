"""Indexes on disk, written atomically, with a manifest that says what built them.

Layout of one side (``<home>/index/workers``)::

    CURRENT              name of the live version folder (replaced atomically)
    v<ns>/manifest.json  model, dim, count, kind, data fingerprint, sha256 of every file
    v<ns>/vectors.npy    float32 rows (exact search and rebuilds)
    v<ns>/ids.json       row position -> record id
    v<ns>/index.faiss    the FAISS index, when the kind is not exact
    v<ns>/profiles.jsonl the records' profiles (computed once per input digest; see
                         :mod:`sepadan.features.profile_codec`), when the writer gives them

Every file is written to a temporary name, fsynced and renamed; the version folder is complete before
CURRENT points to it, so a write killed half-way leaves the previous version live. A missing,
corrupt or mismatched index raises :class:`IndexError_`, and the caller rebuilds it. Versions older
than the live one are deleted after each write and each load (a write killed before its clean-up
leaves none behind for long: an erased worker's id must not stay in an old ``ids.json``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sepadan.errors import IndexError_
from sepadan.faults import point
from sepadan.matching.index import ExactIndex, FaissIndex, VectorIndex
from sepadan.matching.pages import give_back_freed, read_rows

log = logging.getLogger(__name__)
FORMAT = 1
ROWS = ("memory", "mapped")  # how the float32 rows are held once loaded
_OWN_ROWS = ("flat", "hnsw")  # FAISS kinds that hold the rows themselves: the file's are not read


@dataclass(frozen=True, slots=True)
class Manifest:
    side: str
    model: str
    dim: int
    count: int
    kind: str
    fingerprint: str
    built_at: str
    build_seconds: float
    files: dict[str, str]
    format: int = FORMAT


PROFILES = "profiles.jsonl"


@dataclass(frozen=True, slots=True)
class Stored:
    """The live version of one side: its index, row ids, manifest and stored profile lines."""

    index: VectorIndex
    ids: list[str]
    manifest: Manifest
    profiles: list[str] | None


def save_index(directory: Path, index: VectorIndex, ids: list[str], *, side: str, model: str,
               fingerprint: str, build_seconds: float = 0.0, profiles: Iterable[str] | None = None) -> Manifest:
    """Write a new version of an index (and the profiles' JSON lines, when given) and switch
    CURRENT to it atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    version = directory / f"v{time.time_ns()}"
    version.mkdir()
    files = {"vectors.npy": _write(version / "vectors.npy", lambda p: np.save(p, index.vectors, allow_pickle=False),
                                   step="vectors"),
             "ids.json": _write(version / "ids.json", lambda p: p.write_text(json.dumps(ids)), step="ids")}
    if isinstance(index, FaissIndex):
        files["index.faiss"] = _write(version / "index.faiss", lambda p: _write_faiss(index, p), step="faiss")
    if profiles is not None:
        files[PROFILES] = _write(version / PROFILES, lambda p: _write_lines(p, profiles), step="profiles")
    manifest = Manifest(side, model, int(index.vectors.shape[1]) if index.vectors.ndim == 2 else 0,
                        len(ids), index.kind, fingerprint, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        round(build_seconds, 3), files)
    _write(version / "manifest.json", lambda p: p.write_text(json.dumps(asdict(manifest), indent=2)),
           step="manifest")
    _fsync_dir(version)
    _write(directory / "CURRENT", lambda p: p.write_text(version.name), step="current")
    _fsync_dir(directory)
    _prune(directory, live=version.name)
    log.info("wrote %s index: %d rows, kind %s", side, len(ids), index.kind)
    return manifest


def load_index(directory: Path, *, model: str, exact_filter_max: int | None = None, ef_search: int = 128,
               **search: object) -> tuple[VectorIndex, list[str], Manifest]:
    """The live version, checked against its manifest and the current model."""
    stored = load_stored(directory, model=model, exact_filter_max=exact_filter_max, ef_search=ef_search,
                         profiles=False, **search)
    return stored.index, stored.ids, stored.manifest


def load_stored(directory: Path, *, model: str, exact_filter_max: int | None = None, ef_search: int = 128,
                profiles: bool = True, exact_filter_share: float | None = None, nprobe: int = 32,
                rows: str = "memory") -> Stored:
    """The live version with its stored profile lines (None where it has none), every file checked;
    the search settings as :class:`FaissIndex` takes them (None: the kind's measured planner).

    ``rows``: ``"memory"`` reads the float32 rows into memory backed by huge pages
    (:mod:`sepadan.matching.pages`: the first exact search of a fresh mask reaches its scattered
    rows faster), ``"mapped"`` maps the file (only the pages searched are resident, and processes
    share them). Flat and HNSW indexes hold the rows themselves, and the file's are mapped unread."""
    if rows not in ROWS:
        raise ValueError(f"rows must be one of {', '.join(ROWS)}, not {rows!r}")
    version = _current(directory)
    manifest = _manifest(version)
    if manifest.model != model:
        raise IndexError_(f"{directory.name} index was built by {manifest.model}, not {model}")
    for name, digest in manifest.files.items():
        if not (version / name).exists() or _sha256(version / name) != digest:
            raise IndexError_(f"{directory.name} index file {name} is missing or corrupt")
    vectors = _rows(version / "vectors.npy", mapped=rows == "mapped" or manifest.kind in _OWN_ROWS)
    ids = json.loads((version / "ids.json").read_text())
    if len(ids) != manifest.count or len(vectors) != manifest.count:
        raise IndexError_(f"{directory.name} index holds {len(vectors)} rows, its manifest says {manifest.count}")
    loaded = _index(version, manifest, vectors, {"exact_filter_max": exact_filter_max, "ef_search": ef_search,
                                                 "exact_filter_share": exact_filter_share, "nprobe": nprobe})
    lines = None
    if profiles and PROFILES in manifest.files:
        # split on "\n" only: JSON leaves U+2028, U+2029 and U+0085 unescaped inside strings, and
        # str.splitlines() would cut a record whose text holds one
        lines = (version / PROFILES).read_text(encoding="utf-8").split("\n")
    _prune(directory, live=version.name)
    give_back_freed()  # what an index built and dropped before left in malloc's heap (0.19 GB at 1M)
    return Stored(loaded, ids, manifest, lines)


def _rows(path: Path, *, mapped: bool) -> np.ndarray:
    """The stored float32 rows: mapped read-only, or read into huge-page-backed memory."""
    return np.load(path, allow_pickle=False, mmap_mode="r") if mapped else read_rows(path)


def read_manifest(directory: Path) -> Manifest | None:
    try:
        return _manifest(_current(directory))
    except IndexError_:
        return None


def _index(version: Path, manifest: Manifest, vectors: np.ndarray, search: dict[str, object]) -> VectorIndex:
    if manifest.kind == "exact":
        return ExactIndex(vectors)
    import faiss

    raw = faiss.read_index(str(version / "index.faiss"))
    if raw.ntotal != manifest.count:
        raise IndexError_(f"{manifest.side} FAISS index holds {raw.ntotal} rows, manifest {manifest.count}")
    return FaissIndex(raw, vectors, kind=manifest.kind, **search)  # type: ignore[arg-type]


def _current(directory: Path) -> Path:
    pointer = directory / "CURRENT"
    if not pointer.exists():
        raise IndexError_(f"no {directory.name} index yet")
    version = directory / pointer.read_text().strip()
    if not (version / "manifest.json").exists():
        raise IndexError_(f"{directory.name} index version {version.name} is incomplete")
    return version


def _manifest(version: Path) -> Manifest:
    try:
        data = json.loads((version / "manifest.json").read_text())
        manifest = Manifest(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise IndexError_(f"{version}: unreadable manifest ({exc})") from exc
    if manifest.format != FORMAT:
        raise IndexError_(f"{version}: index format {manifest.format}, this version reads {FORMAT}")
    return manifest


def _write(path: Path, writer: object, *, step: str) -> str:
    """Write through a temporary file, fsync, rename; return the file's sha256. ``step`` names the
    fault points before and after the rename (crash tests)."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{time.time_ns()}-{path.name}")  # one per writer: processes may race
    writer(tmp)  # type: ignore[operator]
    with tmp.open("rb+") as handle:
        os.fsync(handle.fileno())
    point(f"index.{step}.tmp_written")
    os.replace(tmp, path)
    point(f"index.{step}.renamed")
    return _sha256(path)


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line)
            handle.write("\n")


def _write_faiss(index: FaissIndex, path: Path) -> None:
    import faiss

    faiss.write_index(index.index, str(path))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(directory: Path, *, live: str) -> None:
    """Delete the versions older than the live one (a newer one may be another process's write in
    progress; it becomes live, or older than the next live one). A failure is logged, not hidden."""
    for old in directory.glob("v*"):
        if old.is_dir() and old.name[1:].isdigit() and _age(old.name) < _age(live):
            shutil.rmtree(old, onerror=lambda _f, path, exc: log.warning(
                "could not delete old index file %s: %s", path, exc[1]))


def _age(name: str) -> int:
    """A version folder's write time (``v<ns>``)."""
    return int(name[1:]) if name[1:].isdigit() else -1
