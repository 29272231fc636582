"""Rows read into huge-page-backed memory: the same matrix as the file's, read-only, its data on a
2 MiB boundary and (where the kernel gives transparent huge pages) really huge; an index loaded
that way answers as one whose rows are mapped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sepadan.matching.index import build_index
from sepadan.matching.pages import HUGE, give_back_freed, huge_empty, huge_share, read_rows
from sepadan.matching.persist import load_index, save_index


def saved(tmp_path: Path, array: np.ndarray) -> Path:
    path = tmp_path / "rows.npy"
    np.save(path, array, allow_pickle=False)
    return path


def test_read_rows_is_the_files_matrix_read_only_on_a_huge_boundary(tmp_path):
    matrix = np.random.default_rng(1).standard_normal((1237, 48)).astype(np.float32)
    got = read_rows(saved(tmp_path, matrix))
    assert got.dtype == np.float32 and got.shape == matrix.shape and got.flags.c_contiguous
    assert np.array_equal(got, matrix)
    assert not got.flags.writeable
    assert got.ctypes.data % HUGE == 0


@pytest.mark.parametrize("array", [np.arange(12, dtype=np.float64).reshape(3, 4), np.arange(5, dtype=np.float32),
                                   np.asfortranarray(np.eye(3, dtype=np.float32)), np.zeros((0, 8), np.float32)])
def test_any_other_array_reads_as_numpy_reads_it(tmp_path, array):
    got = read_rows(saved(tmp_path, array))
    assert got.dtype == array.dtype and np.array_equal(got, array)


def test_a_file_cut_short_is_an_error(tmp_path):
    path = saved(tmp_path, np.ones((100, 16), dtype=np.float32))
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(ValueError, match="ends 4 bytes before"):
        read_rows(path)


def _thp_enabled() -> bool:
    try:
        setting = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return False
    return "[never]" not in setting


@pytest.mark.skipif(not _thp_enabled(), reason="no transparent huge pages on this machine")
def test_the_rows_lie_in_huge_pages(tmp_path):
    matrix = np.random.default_rng(2).standard_normal((8 * HUGE // (64 * 4), 64)).astype(np.float32)  # 8 MiB
    got = read_rows(saved(tmp_path, matrix))
    assert huge_share(got) >= 0.5  # all of it on an idle machine; a fragmented one may give fewer


def test_an_empty_huge_array_and_the_heap_trim():
    assert huge_empty((0, 4)).shape == (0, 4)
    assert give_back_freed() in (True, False)


@pytest.mark.parametrize("kind", ["exact", "flat", "ivf_sq8"])
def test_an_index_loaded_into_memory_answers_as_one_mapped(kind, tmp_path):
    rng = np.random.default_rng(3)
    rows = rng.standard_normal((3000, 16)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    queries = rows[:5] + 0.01
    save_index(tmp_path / "w", build_index(rows, kind=kind), [str(i) for i in range(len(rows))],
               side="workers", model="m", fingerprint="f")
    held, _, _ = load_index(tmp_path / "w", model="m")
    mapped, _, _ = load_index(tmp_path / "w", model="m", rows="mapped")
    assert not isinstance(held.vectors, np.memmap) and np.array_equal(held.vectors, rows)
    allowed = np.arange(0, 3000, 3, dtype=np.int64)
    for subset in (allowed, None):
        a, b = held.search(queries, 5, allowed=subset), mapped.search(queries, 5, allowed=subset)
        assert np.array_equal(a[1], b[1]) and np.array_equal(a[0], b[0])
    with pytest.raises(ValueError, match="rows must be one of"):
        load_index(tmp_path / "w", model="m", rows="swap")



@pytest.mark.parametrize("rows", ["memory", "mapped"])
def test_the_engine_holds_a_loaded_index_s_rows_as_its_setting_says(rows, tmp_path):
    """SEPADAN_INDEX_ROWS reaches the load: a reopened engine's worker rows are a mapping of the
    stored file (mapped) or read into memory (memory), and both answer as the engine that built them."""
    from conftest import TODAY, FakeEncoder, load_engine, make_settings
    from faultkit import answers, market

    from sepadan.engine import Engine

    built = load_engine(tmp_path, market(), encoder=FakeEncoder(), index_exact_max=5, index_ann="ivf")
    built.build()
    want = answers(built)
    reopened = Engine(make_settings(tmp_path / "home", index_exact_max=5, index_ann="ivf", index_rows=rows),
                      encoder=FakeEncoder(), today=TODAY)
    assert answers(reopened) == want
    index = reopened.matcher.workers.index
    assert index.kind == "ivf"
    assert isinstance(index.vectors, np.memmap) == (rows == "mapped")
