"""Named fault points for crash tests: the process dies with SIGKILL where a test armed a point.

Library code only calls :func:`point` at the places a crash matters (inside the import's transaction,
between the steps of an index write, around an erasure). Nothing happens unless a point was armed
with :func:`arm`, which only an edge does (the CLI arms the names in ``SEPADAN_FAULT``, a comma-
separated list), so an ordinary run pays one set look-up per point.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable

POINTS = frozenset({
    # the store's upsert transaction (imports and live writes)
    "store.upsert.mid_commit",  # half the rows sent, nothing committed
    "store.upsert.before_commit",  # every row sent, nothing committed
    "import.after_commit",  # committed; the indexes not updated yet
    # one index version being written (matching/persist.py), in the order of the write
    "index.vectors.tmp_written", "index.vectors.renamed",
    "index.ids.tmp_written", "index.ids.renamed",
    "index.faiss.tmp_written", "index.faiss.renamed",
    "index.manifest.tmp_written", "index.manifest.renamed",
    "index.current.tmp_written",  # the new version complete, CURRENT not switched yet
    "index.current.renamed",  # CURRENT switched, old versions not pruned yet
    # erasure of a worker (store/db.py, live.py)
    "erase.mid_commit",  # the worker row deleted, outcomes and the rest not yet, nothing committed
    "erase.after_commit",  # committed; the index files and the WAL not rewritten yet
})
_armed: frozenset[str] = frozenset()


def arm(names: Iterable[str] | str | None) -> frozenset[str]:
    """Arm these points (a comma-separated string or names); an unknown name is an error."""
    global _armed
    if isinstance(names, str) or names is None:
        names = [n.strip() for n in (names or "").split(",")]
    wanted = frozenset(n for n in names if n)
    unknown = wanted - POINTS
    if unknown:
        raise ValueError(f"unknown fault point(s): {', '.join(sorted(unknown))}")
    _armed = wanted
    return _armed


def disarm() -> None:
    global _armed
    _armed = frozenset()


def armed() -> frozenset[str]:
    return _armed


def point(name: str) -> None:
    """Die here, at once and without clean-up (SIGKILL), if ``name`` is armed."""
    if name in _armed:
        os.kill(os.getpid(), signal.SIGKILL)
