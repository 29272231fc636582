"""Vector indexes: one contract for exact and FAISS (flat, HNSW, IVF), ANN recall measured against
exact, atomic persistence that survives a killed writer, and an engine that rebuilds what it cannot
trust."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEncoder

from sepadan.errors import IndexError_
from sepadan.features.encoder import CachedEncoder
from sepadan.matching.index import ExactIndex, FaissIndex, build_index, exact_search
from sepadan.matching.persist import load_index, read_manifest, save_index

ROOT = Path(__file__).resolve().parents[1]
KINDS = ["exact", "flat", "hnsw", "hnsw_sq8", "ivf", "ivf_sq8"]
ANN = ["hnsw", "hnsw_sq8", "ivf", "ivf_sq8"]
DIM = 32


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, *, seed: int, centres: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Rows around random centres (profile embeddings cluster by occupation), and the centres."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, DIM)) * 3
    return unit(c[rng.integers(0, centres, n)] + rng.standard_normal((n, DIM))), c


def fresh_queries(centres: np.ndarray, n: int, *, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return unit(centres[rng.integers(0, len(centres), n)] + rng.standard_normal((n, DIM)))


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return clustered(2000, seed=11)[0]


@pytest.fixture(scope="module")
def queries(data: np.ndarray) -> np.ndarray:
    return unit(data[::97][:16] + 0.2 * np.random.default_rng(3).standard_normal((16, DIM)))


@pytest.fixture(scope="module", params=KINDS)
def index(request: pytest.FixtureRequest, data: np.ndarray):
    # exact_filter_max=0: filtered searches go through FAISS itself wherever the planner allows it.
    return build_index(data, kind=request.param, exact_filter_max=0)


def _valid(ids: np.ndarray) -> np.ndarray:
    return ids >= 0


class TestIndexContract:
    """Every index answers ``search(queries, k, allowed=...)`` the same way."""

    def test_kind_and_size(self, index, data):
        assert index.size == len(data) and index.vectors.shape == data.shape
        assert isinstance(index, ExactIndex if index.kind == "exact" else FaissIndex)

    def test_shapes_and_dtypes(self, index, queries):
        scores, ids = index.search(queries, 7)
        assert scores.shape == ids.shape == (len(queries), 7)
        assert scores.dtype == np.float32 and ids.dtype == np.int64

    def test_a_single_query_vector_is_accepted(self, index, queries):
        scores, ids = index.search(queries[0], 5)
        assert ids.shape == (1, 5)

    def test_scores_sorted_descending_and_true(self, index, queries, data):
        scores, ids = index.search(queries, 20)
        assert _valid(ids).all()
        assert (np.diff(scores, axis=1) <= 1e-6).all()
        expected = np.einsum("qd,qkd->qk", queries, data[ids])
        np.testing.assert_allclose(scores, expected, atol=1e-4)

    def test_ids_in_range_and_distinct(self, index, queries, data):
        _, ids = index.search(queries, 50)
        assert ((ids >= 0) & (ids < len(data))).all()
        assert all(len(set(row)) == len(row) for row in ids)

    def test_duplicate_query_finds_itself_first(self, index, data):
        rows = np.array([0, 5, 777, 1999])
        scores, ids = index.search(data[rows], 3)
        assert ids[:, 0].tolist() == rows.tolist()
        np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
        allowed = np.union1d(rows, np.arange(1, len(data), 3))
        _, ids = index.search(data[rows], 3, allowed=allowed)
        assert ids[:, 0].tolist() == rows.tolist()

    def test_padding_when_k_exceeds_allowed(self, index, queries):
        allowed = np.array([3, 17, 42, 1500])
        scores, ids = index.search(queries, 10, allowed=allowed)
        assert all(sorted(row[:4]) == allowed.tolist() for row in ids)
        assert (ids[:, 4:] == -1).all() and np.isneginf(scores[:, 4:]).all()
        assert np.isfinite(scores[:, :4]).all()

    def test_nothing_allowed_returns_only_padding(self, index, queries):
        scores, ids = index.search(queries, 5, allowed=np.array([], dtype=np.int64))
        assert (ids == -1).all() and np.isneginf(scores).all()

    @pytest.mark.parametrize("share", [0.5, 0.2, 0.05, 0.01])
    def test_filtered_search_returns_only_allowed_and_never_comes_back_short(
        self, index, queries, share
    ):
        rng = np.random.default_rng(int(share * 1000))
        allowed = np.sort(rng.choice(index.size, int(index.size * share), replace=False))
        _, ids = index.search(queries, 10, allowed=allowed)
        assert np.isin(ids, allowed).all()

    def test_filtered_search_agrees_with_exact_on_the_top_hit(self, index, queries, data):
        allowed = np.arange(0, len(data), 2)
        _, ids = index.search(queries, 1, allowed=allowed)
        _, truth = exact_search(data, queries, 1, allowed)
        assert (ids[:, 0] == truth[:, 0]).mean() >= 0.9

    def test_agrees_with_brute_force(self, index, queries, data):
        """Exact kinds give the very answer of brute force; approximate ones most of it."""
        scores, ids = index.search(queries, 10)
        truth_scores, truth_ids = exact_search(data, queries, 10)
        if index.kind in ("exact", "flat"):
            assert (ids == truth_ids).all()
            np.testing.assert_allclose(scores, truth_scores, atol=1e-5)
        else:
            assert (
                np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, truth_ids, strict=True)])
                >= 0.9
            )


@pytest.mark.parametrize("kind", KINDS)
def test_padding_when_k_exceeds_the_index(kind, data):
    small = build_index(data[:20], kind=kind)
    scores, ids = small.search(data[:2], 30)
    assert sorted(ids[0, :20].tolist()) == list(range(20))
    assert (ids[:, 20:] == -1).all() and np.isneginf(scores[:, 20:]).all()


@pytest.mark.parametrize("kind", ["exact", "flat", "hnsw"])
def test_an_empty_index_answers_with_padding(kind):
    empty = build_index(np.zeros((0, DIM), dtype=np.float32), kind=kind)
    scores, ids = empty.search(np.ones((1, DIM), dtype=np.float32), 3)
    assert (ids == -1).all()


def test_auto_kind_follows_size():
    vectors = clustered(300, seed=1)[0]
    assert build_index(vectors, exact_max=300).kind == "exact"
    assert build_index(vectors, exact_max=299, ann="hnsw").kind == "hnsw"
    with pytest.raises(ValueError):
        build_index(vectors, kind="lsh")


# --------------------------------------------------------------------- recall of ANN against exact
@pytest.fixture(scope="module")
def big() -> tuple[np.ndarray, np.ndarray]:
    vectors, centres = clustered(5000, seed=20261101)
    return vectors, fresh_queries(centres, 200, seed=5)


@pytest.fixture(scope="module")
def ann_indexes(big):
    vectors, _ = big
    return {
        (kind, planned): build_index(vectors, kind=kind, exact_filter_max=20_000 if planned else 0)
        for kind in ANN
        for planned in (True, False)
    }


def recall_at(index, vectors, queries, k, allowed) -> float:
    _, truth = exact_search(vectors, queries, k, allowed)
    _, got = index.search(queries, k, allowed=allowed)
    hits = [
        len(set(g[g >= 0]) & set(t[t >= 0])) / max(1, int((t >= 0).sum()))
        for g, t in zip(got, truth, strict=True)
    ]
    return float(np.mean(hits))


@pytest.mark.parametrize("planned", [False, True], ids=["ann-filter", "planned"])
@pytest.mark.parametrize(
    "share", [None, 0.5, 0.05, 0.01, 0.001], ids=lambda s: "all" if s is None else f"{s:.1%}"
)
@pytest.mark.parametrize("kind", ANN)
def test_ann_recall_at_10_against_exact(kind, share, planned, big, ann_indexes):
    vectors, queries = big
    rng = np.random.default_rng(17)
    allowed = (
        None
        if share is None
        else np.sort(rng.choice(len(vectors), max(1, int(len(vectors) * share)), replace=False))
    )
    recall = recall_at(ann_indexes[kind, planned], vectors, queries, 10, allowed)
    assert recall >= 0.9, f"{kind} recall@10 {recall:.3f} at {share} allowed"


def test_filtered_ivf_falls_back_to_exact_when_it_comes_back_short(big):
    vectors, queries = big
    ivf = build_index(vectors, kind="ivf", exact_filter_max=0)
    ivf.nprobe = 1  # 4 lists of ~128 at a 2% filter (ivf_probes): a handful of allowed rows in reach
    allowed = np.sort(np.random.default_rng(2).choice(len(vectors), 100, replace=False))
    _, ids = ivf.search(queries[:20], 10, allowed=allowed)
    _, truth = exact_search(vectors, queries[:20], 10, allowed)
    assert (ids >= 0).all() and (ids == truth).all()


# ------------------------------------------------------------------------------------- persistence
def _save(directory: Path, index, ids, *, fingerprint: str = "f1", model: str = "fake-hash-64"):
    return save_index(directory, index, ids, side="workers", model=model, fingerprint=fingerprint)


@pytest.mark.parametrize("kind", KINDS)
def test_save_and_load_round_trip(kind, tmp_path, data, queries):
    index = build_index(data, kind=kind)
    ids = [f"W-{i:06d}" for i in range(len(data))]
    written = _save(tmp_path / "workers", index, ids)
    loaded, loaded_ids, manifest = load_index(tmp_path / "workers", model="fake-hash-64")
    assert loaded_ids == ids and manifest == written
    assert (manifest.kind, manifest.count, manifest.dim, manifest.side) == (
        kind,
        len(data),
        DIM,
        "workers",
    )
    assert loaded.kind == kind and np.array_equal(loaded.vectors, index.vectors)
    before, after = index.search(queries, 10), loaded.search(queries, 10)
    assert np.array_equal(before[1], after[1])
    np.testing.assert_allclose(before[0], after[0], atol=1e-6)
    allowed = np.arange(0, len(data), 3)
    assert np.array_equal(
        index.search(queries, 5, allowed=allowed)[1], loaded.search(queries, 5, allowed=allowed)[1]
    )
    assert sorted(p.name for p in (tmp_path / "workers").iterdir()) == sorted(
        ["CURRENT", _current(tmp_path / "workers")]
    )


def _current(directory: Path) -> str:
    return (directory / "CURRENT").read_text().strip()


def test_a_new_version_replaces_the_old_and_prunes_it(tmp_path, data):
    directory = tmp_path / "workers"
    _save(
        directory,
        build_index(data[:100], kind="exact"),
        [str(i) for i in range(100)],
        fingerprint="one",
    )
    _save(
        directory,
        build_index(data[:50], kind="hnsw"),
        [str(i) for i in range(50)],
        fingerprint="two",
    )
    loaded, ids, manifest = load_index(directory, model="fake-hash-64")
    assert (manifest.fingerprint, manifest.kind, len(ids), loaded.size) == ("two", "hnsw", 50, 50)
    assert len(list(directory.glob("v*"))) == 1


KILLER = textwrap.dedent("""
    import io, os, sys
    from pathlib import Path
    import numpy as np
    from sepadan.matching.index import build_index
    from sepadan.matching.persist import save_index

    directory, kind, where = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    v1, v2 = np.load(sys.argv[4]), np.load(sys.argv[5])

    def save(vectors, fingerprint):
        ids = [f"{fingerprint}-{i}" for i in range(len(vectors))]
        save_index(directory, build_index(vectors, kind=kind), ids, side="workers", model="m",
                   fingerprint=fingerprint)

    def torn(data, path):
        with open(path, "wb") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
            os.fsync(handle.fileno())
        os._exit(137)

    save(v1, "v1")
    print("v1 saved", flush=True)
    if where == "npy":
        real_save = np.save
        def half_save(file, arr, allow_pickle=True):
            buffer = io.BytesIO()
            real_save(buffer, arr, allow_pickle=False)
            torn(buffer.getvalue(), file)
        np.save = half_save
    elif where == "faiss":
        import faiss
        real_write = faiss.write_index
        def half_write(index, path, *rest):
            if rest:  # serialize_index writes through a vector writer
                return real_write(index, path, *rest)
            torn(faiss.serialize_index(index).tobytes(), path)
        faiss.write_index = half_write
    elif where == "current":
        real_replace = os.replace
        def replace(src, dst):
            if Path(dst).name == "CURRENT":
                os._exit(137)
            real_replace(src, dst)
        os.replace = replace
    save(v2, "v2")
    print("v2 saved: the kill did not happen", flush=True)
""")


@pytest.mark.parametrize(
    "kind, where", [("exact", "npy"), ("hnsw", "npy"), ("hnsw", "faiss"), ("exact", "current")]
)
def test_a_write_killed_half_way_leaves_the_previous_index_loadable(kind, where, tmp_path):
    v1, _ = clustered(300, seed=1)
    v2, _ = clustered(400, seed=2)
    np.save(tmp_path / "v1.npy", v1)
    np.save(tmp_path / "v2.npy", v2)
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    directory = tmp_path / "index" / "workers"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            str(directory),
            kind,
            where,
            str(tmp_path / "v1.npy"),
            str(tmp_path / "v2.npy"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 137, result.stdout + result.stderr
    assert "v1 saved" in result.stdout and "v2 saved" not in result.stdout
    assert len(list(directory.glob("v*"))) == 2  # the torn version is there, and ignored

    index, ids, manifest = load_index(directory, model="m")
    assert manifest.fingerprint == "v1" and ids == [f"v1-{i}" for i in range(300)]
    assert np.array_equal(index.vectors, v1) and index.kind == kind
    assert index.search(v1[7], 1)[1][0, 0] == 7

    _save(
        directory,
        build_index(v2, kind="exact"),
        [str(i) for i in range(400)],
        fingerprint="v3",
        model="m",
    )
    assert load_index(directory, model="m")[2].fingerprint == "v3"
    assert len(list(directory.glob("v*"))) == 1


@pytest.fixture
def saved(tmp_path, data) -> Path:
    directory = tmp_path / "workers"
    _save(directory, build_index(data[:300], kind="hnsw"), [f"W-{i}" for i in range(300)])
    return directory


def _flip(path: Path, at: float = 0.5, count: int = 8) -> None:
    raw = bytearray(path.read_bytes())
    start = int(len(raw) * at)
    for i in range(start, min(start + count, len(raw))):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("name", ["vectors.npy", "ids.json", "index.faiss"])
def test_a_corrupted_file_raises_index_error(saved, name):
    _flip(saved / _current(saved) / name)
    with pytest.raises(IndexError_, match="corrupt"):
        load_index(saved, model="fake-hash-64")


def test_a_truncated_manifest_raises_index_error(saved):
    manifest = saved / _current(saved) / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:40])
    with pytest.raises(IndexError_):
        load_index(saved, model="fake-hash-64")
    assert read_manifest(saved) is None


def test_a_missing_file_raises_index_error(saved):
    (saved / _current(saved) / "ids.json").unlink()
    with pytest.raises(IndexError_):
        load_index(saved, model="fake-hash-64")


def test_current_naming_a_missing_version_raises_index_error(saved):
    (saved / "CURRENT").write_text("v123")
    with pytest.raises(IndexError_):
        load_index(saved, model="fake-hash-64")


def test_no_index_yet_raises_index_error(tmp_path):
    with pytest.raises(IndexError_, match="no workers index"):
        load_index(tmp_path / "workers", model="fake-hash-64")


def test_a_manifest_naming_another_model_raises_index_error(saved):
    with pytest.raises(IndexError_, match="built by fake-hash-64"):
        load_index(saved, model="all-MiniLM-L6-v2@53aa51172d14")


def test_a_manifest_of_another_format_raises_index_error(saved):
    path = saved / _current(saved) / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(IndexError_, match="format"):
        load_index(saved, model="fake-hash-64")


def test_a_manifest_whose_count_disagrees_raises_index_error(saved):
    path = saved / _current(saved) / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "count": 299}))
    with pytest.raises(IndexError_):
        load_index(saved, model="fake-hash-64")


# --------------------------------------------------------- the engine rebuilds, never serves empty
WORKERS = [
    {"id": f"W-{i}", "region": "35.08", "skills": [skill], "preferences": {"domestic": True}}
    for i, skill in enumerate(["memasak", "menjahit", "merawat lansia", "mengelas", "kasir"])
]
VACANCIES = [
    {
        "id": "V-1",
        "title": "Juru masak",
        "country": "ID",
        "region": "35.08",
        "scheme": "domestic",
        "skills_required": ["memasak"],
    },
    {
        "id": "V-2",
        "title": "Penjahit garmen",
        "country": "ID",
        "region": "35.08",
        "scheme": "domestic",
        "skills_required": ["menjahit"],
    },
]


@pytest.fixture
def built(make_engine):
    engine = make_engine({"workers": WORKERS, "vacancies": VACANCIES})
    engine.build()
    assert {s.side: s.rebuilt for s in engine.index_status.values()} == {
        "workers": True,
        "vacancies": True,
    }
    return engine


def _restart(engine, encoder=None):
    from sepadan.engine import Engine

    return Engine(engine.settings, encoder=encoder or engine.encoder, today=engine.today)


def _serves(engine) -> None:
    matcher = engine.matcher
    assert matcher.workers.index.size == len(WORKERS) and matcher.vacancies.index.size == len(
        VACANCIES
    )
    shortlist = matcher.shortlist("V-1", k=3)
    assert shortlist.results and shortlist.results[0].worker_id == "W-0"
    assert np.linalg.norm(matcher.workers.index.vectors, axis=1).min() > 0.99


def test_engine_loads_an_index_that_is_up_to_date(built):
    again = _restart(built)
    again.build()
    assert [s.rebuilt for s in again.index_status.values()] == [False, False]
    _serves(again)


@pytest.mark.parametrize("name", ["vectors.npy", "ids.json", "manifest.json"])
def test_engine_rebuilds_a_corrupt_index(built, name):
    directory = built.settings.home / "index" / "workers"
    _flip(directory / _current(directory) / name, at=0.3)
    again = _restart(built)
    again.build()
    status = again.index_status["workers"]
    assert status.rebuilt and ("corrupt" in status.reason or "manifest" in status.reason), (
        status.reason
    )
    assert not again.index_status["vacancies"].rebuilt
    _serves(again)
    load_index(directory, model=built.encoder.name)  # and what it wrote is sound


def test_engine_rebuilds_an_index_of_another_model(built):
    again = _restart(built, encoder=CachedEncoder(FakeEncoder(name="fake-hash-64-other"), None))
    again.build()
    assert all(s.rebuilt and "built by" in s.reason for s in again.index_status.values())
    assert read_manifest(built.settings.home / "index" / "workers").model == "fake-hash-64-other"
    _serves(again)


def test_engine_rebuilds_when_current_points_nowhere(built):
    (built.settings.home / "index" / "vacancies" / "CURRENT").write_text("v0")
    again = _restart(built)
    _serves(again)  # the matcher property builds on first use
    assert again.index_status["vacancies"].rebuilt and not again.index_status["workers"].rebuilt


def test_engine_rebuilds_when_the_data_changed(built, tmp_path):
    from conftest import write_jsonl

    again = _restart(built)
    again.import_file(
        "vacancies",
        write_jsonl(
            tmp_path / "more.jsonl",
            [
                {
                    "id": "V-3",
                    "title": "Kasir toko",
                    "country": "ID",
                    "region": "35.08",
                    "skills_required": ["kasir"],
                }
            ],
        ),
    )
    again.build()
    assert (
        again.index_status["vacancies"].rebuilt
        and "changed" in again.index_status["vacancies"].reason
    )
    assert not again.index_status["workers"].rebuilt
    assert again.matcher.vacancies.index.size == 3


def test_engine_build_force_rebuilds(built):
    again = _restart(built)
    again.build(force=True)
    assert all(s.rebuilt and s.reason == "asked to rebuild" for s in again.index_status.values())


# ------------------------------------------- profiles persist beside the index (issue 15, item 1)
def test_an_unchanged_store_loads_stored_profiles_without_profiling(built):
    again = _restart(built)
    again.build()
    assert "profiler" not in again.__dict__  # neither the normalisers nor the phrase cache were used
    first, second = built.matcher, again.matcher
    assert list(second.workers.profiles) == list(first.workers.profiles)
    assert list(second.vacancies.profiles) == list(first.vacancies.profiles)
    for w, p in zip(second.workers.records, second.workers.profiles):
        assert all(any(done is t for t in w.trainings) for _, done in p.training_skills)
    _serves(again)


def test_only_changed_records_are_profiled_again(built, tmp_path, monkeypatch):
    from conftest import write_jsonl

    changed = {**WORKERS[1], "skills": ["mengelas"]}
    again = _restart(built)
    again.import_file("workers", write_jsonl(tmp_path / "w.jsonl", [changed]))
    profiled = []
    original = again.profiler.worker
    monkeypatch.setattr(again.profiler, "worker", lambda w: profiled.append(w.id) or original(w))
    again.build()
    assert profiled == ["W-1"] and again.index_status["workers"].rebuilt
    pos = again.matcher.workers.positions["W-1"]
    assert {c.phrase for c in again.matcher.workers.profiles[pos].skills} == {"mengelas"}


def test_stored_profiles_keep_text_with_unicode_line_separators(built, tmp_path):
    """JSON does not escape U+2028/U+2029/U+0085: the stored lines must still read back whole
    (schemathesis once sent such a title and every later build of that home failed to load)."""
    from conftest import write_jsonl

    odd = {**VACANCIES[0], "title": "Juru\u2028masak\x85hotel", "occupation": "cook\u2029chef",
           "skills_required": ["memasak\u2028nasi", "las\x85listrik", "jaga\u2029jompo"]}
    again = _restart(built)
    again.import_file("vacancies", write_jsonl(tmp_path / "v.jsonl", [odd]))
    again.build()
    fresh = _restart(built)
    fresh.build()
    assert "profiler" not in fresh.__dict__
    pos = fresh.matcher.vacancies.positions[odd["id"]]
    assert fresh.matcher.vacancies.profiles[pos] == again.matcher.vacancies.profiles[pos]


def test_a_changed_index_kind_setting_rebuilds_the_index_from_stored_profiles(built):
    from sepadan.engine import Engine

    settings = built.settings.model_copy(update={"index_exact_max": 2, "index_ann": "hnsw"})
    again = Engine(settings, encoder=built.encoder, today=built.today)
    again.build()
    status = again.index_status["workers"]
    assert status.rebuilt and status.reason == "the index kind setting changed (exact -> hnsw)"
    assert again.matcher.workers.index.kind == "hnsw"
    same = Engine(settings, encoder=built.encoder, today=built.today)
    same.build()
    assert not same.index_status["workers"].rebuilt


def test_stored_profiles_of_other_inputs_are_not_used(built, tmp_path):
    again = _restart(built)
    again.__dict__["_inputs_digest"] = "another-lexicon"
    again.build()
    assert "profiler" in again.__dict__ and all(s.rebuilt for s in again.index_status.values())


def test_an_erased_worker_leaves_the_stored_profiles(built):
    directory = built.settings.home / "index" / "workers"
    stored = (directory / _current(directory) / "profiles.jsonl").read_text()
    assert '"W-2"' in stored and "merawat lansia" in stored
    assert built.live.erase("W-2")
    for path in directory.rglob("*"):
        if path.is_file():
            text = path.read_bytes()
            assert b"W-2" not in text and b"merawat lansia" not in text, path
    again = _restart(built)
    again.build()
    assert "W-2" not in again.matcher.workers.positions and "profiler" not in again.__dict__


def test_the_model_loads_only_for_a_phrase_not_cached(tmp_path):
    from sepadan.features.lazy_model import LazyEncoder, model_key

    loads = []

    def load():
        loads.append(1)
        return FakeEncoder(name="fake-lazy", dim=8)

    card, key = tmp_path / "model-card.json", model_key({"model_path": None}, None)
    first = LazyEncoder(load, key=key, card=card)
    assert first.name == "fake-lazy" and first.dim == 8 and loads == [1]  # no card yet: loaded
    second = LazyEncoder(load, key=key, card=card)
    assert (second.name, second.dim, second.loaded, loads) == ("fake-lazy", 8, False, [1])
    cached = CachedEncoder(second, None)
    assert cached.encode(["kasir"]).shape == (1, 8) and second.loaded and loads == [1, 1]
    other = LazyEncoder(load, key=model_key({"model_path": "elsewhere"}, None), card=card)
    assert other.name == "fake-lazy" and len(loads) == 3  # a card of another model is not trusted
