"""A float32 matrix read from an ``.npy`` file into memory backed by transparent huge pages.

An exact search over an allowed subset reaches rows scattered through the whole matrix (1.5 GB at
a million 384-d rows), one 4 KiB page translation or more a row: at 1,000 rows of a million the
in-place kernel took 0.094 ms where no page was huge, 0.071 where half were, against 0.033 for FAISS
flat over a contiguous copy (experiments/results/first-search-1m.md). Linux gives a private
anonymous mapping 2 MiB pages where it is asked to (``madvise(MADV_HUGEPAGE)``, transparent huge
pages set to ``madvise`` or ``always``) and the range is aligned to 2 MiB, which a file mapping or
a malloc'd array is not: so the rows are read once into such a mapping, its start rounded up to
2 MiB. The matrix is read-only, as a mapped file's was; it is resident whole from the start (a
file mapping holds only the pages searched so far), and it is not shared with other processes.
Where a platform has no anonymous mappings or no huge-page advice, the same bytes are read into
ordinary memory.
"""

from __future__ import annotations

import logging
import mmap
import re
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
HUGE = 2 * 2**20  # a transparent huge page on x86-64 and most arm64 kernels
_READ = 64 * 2**20  # bytes a read() call asks for


def read_rows(path: Path) -> np.ndarray:
    """The 2-d float32 (little-endian, C order) matrix of an ``.npy`` file, read into a private
    anonymous mapping aligned to :data:`HUGE` and advised huge, read-only. Any other array in the
    file is read by :func:`numpy.load` (as it was written)."""
    with open(path, "rb") as handle:
        shape, fortran, dtype = _header(handle)
        if len(shape) != 2 or fortran or dtype != np.dtype("<f4"):
            handle.seek(0)
            return np.load(handle, allow_pickle=False)
        out = huge_empty(shape)
        _read_into(handle, out.reshape(-1).view(np.uint8), path)
    out.setflags(write=False)
    return out


def huge_empty(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised float32 array in an anonymous mapping of its own whose data starts on a
    2 MiB boundary, advised to be backed by huge pages (unmapped when the array goes)."""
    nbytes = int(np.prod(shape, dtype=np.int64)) * 4
    if nbytes == 0 or not hasattr(mmap, "MAP_ANONYMOUS"):
        return np.empty(shape, dtype=np.float32)
    buffer = mmap.mmap(-1, nbytes + HUGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    raw = np.frombuffer(buffer, dtype=np.uint8)
    skip = -raw.ctypes.data % HUGE
    if hasattr(mmap, "MADV_HUGEPAGE"):
        try:
            buffer.madvise(mmap.MADV_HUGEPAGE)
        except OSError as exc:  # a kernel built without transparent huge pages: ordinary pages
            log.debug("no huge pages for the rows: %s", exc)
    return raw[skip:skip + nbytes].view(np.float32).reshape(shape)


def _header(handle: object) -> tuple[tuple[int, ...], bool, np.dtype]:
    from numpy.lib import format as npy

    version = npy.read_magic(handle)
    read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
    return read(handle)


def _read_into(handle: object, out: np.ndarray, path: Path) -> None:
    """Fill ``out`` (bytes) from the file's current position; a short file is an error."""
    view, got = memoryview(out), 0
    while got < len(out):
        n = handle.readinto(view[got:got + _READ])  # type: ignore[attr-defined]
        if not n:
            raise ValueError(f"{path}: the file ends {len(out) - got} bytes before its array does")
        got += n


def huge_share(array: np.ndarray) -> float:
    """The share of the bytes under ``array`` that lie in transparent huge pages, from
    ``/proc/self/smaps`` (0.0 where it cannot be read)."""
    start = array.__array_interface__["data"][0]
    end, huge, size, inside = start + array.nbytes, 0, 0, False
    try:
        lines = Path("/proc/self/smaps").read_text().splitlines()
    except OSError:
        return 0.0
    for line in lines:
        at = re.match(r"^([0-9a-f]+)-([0-9a-f]+) ", line)
        if at:
            lo, hi = int(at.group(1), 16), int(at.group(2), 16)
            inside = lo < end and hi > start
            size += max(0, min(hi, end) - max(lo, start)) if inside else 0
        elif inside and line.startswith("AnonHugePages:"):
            huge += int(line.split()[1]) * 1024
    return round(min(huge, size) / max(size, 1), 3)


def give_back_freed() -> bool:
    """Return the free pages inside glibc malloc's heap to the system (``malloc_trim``). FAISS
    grows each inverted list by reallocation while it adds rows, and a built index's lists are
    carved from the heap, whose freed bytes a process keeps: an IVF-SQ8 index of a million rows
    built, saved and dropped left 0.19 GB resident that this gave back. False where the C library
    is not glibc."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        trim = None
    if trim is None:
        return False
    trim(0)
    return True
