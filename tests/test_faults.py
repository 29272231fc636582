"""Crashes at every step that writes: nothing lost, nothing half-written, nothing wrong served.

Real processes die by SIGKILL at named fault points (sepadan/faults.py) armed through
SEPADAN_FAULT: the CLI for imports (no model: ``--no-index``, or killed before the index update),
tests/fault_child.py (the engine with the fake encoder) for index writes and erasures, and one real
``kill -9`` of a 20,000-row import while its transaction writes. The trials live in faultkit.py,
which experiments/reliability.py runs many times for the figures.
"""

from __future__ import annotations

import json

import faultkit as fk
import pytest

from sepadan import faults
from sepadan.matching.persist import load_index


@pytest.mark.parametrize("point", fk.IMPORT_POINTS)
def test_an_import_killed_at_a_point_leaves_none_or_all_rows_and_a_reimport_gives_exactly_n(tmp_path, point):
    out = fk.import_trial(tmp_path, point)
    assert out["killed"], out
    assert out["integrity"] == "ok" and out["integrity_after"] == "ok", out
    assert out["rows_after_kill"] == out["expected_after_kill"], out
    assert out["rows_after_reimport"] == (1200, 1200) and out["rows_lost"] == 0, out
    assert out["ok"], out


@pytest.mark.parametrize("point", fk.INDEX_POINTS)
def test_an_index_write_killed_at_each_step_leaves_the_old_or_the_new_version(tmp_path, point):
    out = fk.index_trial(tmp_path, point)
    assert out["killed"] and out["loads"], out
    assert out["live_version"] == ("new" if point == "index.current.renamed" else "old"), out
    assert out["ids_match_store"] and out["answers_equal_clean"], out
    assert out["versions_left"] == 1, out  # no stale version (with old ids) stays on disk
    assert out["ok"], out


@pytest.mark.parametrize("how", sorted(fk.DAMAGE))
def test_a_damaged_index_file_is_detected_at_start_rebuilt_and_serves_what_a_clean_build_serves(tmp_path, how):
    out = fk.damage_trial(tmp_path, how)
    assert out["rebuilt"], out
    assert not out["empty"] and out["answers_equal_clean"] and out["ids_match_store"], out


@pytest.mark.parametrize("point", fk.ERASE_POINTS)
def test_an_erasure_killed_midway_is_all_or_nothing_and_completes_at_the_next_start(tmp_path, point):
    out = fk.erase_trial(tmp_path, point)
    assert out["killed"] and out["integrity"] == "ok", out
    assert out["orphans"] == 0 and out["all_or_nothing"], out
    if point == "erase.after_commit":
        assert out["found_before_restart"], "precondition: the killed erasure left the old index files"
    assert out["found_after_restart"] == {}, out


def test_a_real_kill_9_of_a_large_import_while_it_writes(tmp_path):
    out = fk.kill_trial(tmp_path)
    assert out["progress_line"] == "import workers: 20000/20000", out
    assert out["alive_at_kill"] and out["killed"] and out["wal_bytes_at_kill"] >= 1 << 20, out
    assert out["integrity"] == "ok" and out["rows_after_kill"] in (0, 20_000), out
    assert out["rows_after_reimport"] == (20_000, 20_000) and out["integrity_after"] == "ok", out


def test_every_fault_point_is_reached_by_a_trial():
    assert set(fk.IMPORT_POINTS) | set(fk.INDEX_POINTS) | set(fk.ERASE_POINTS) == faults.POINTS


def test_a_point_does_nothing_unless_armed_and_an_unknown_name_is_refused():
    faults.point("index.ids.renamed")  # not armed: returns
    with pytest.raises(ValueError, match="unknown fault point"):
        faults.arm("index.nope")
    assert faults.arm("erase.mid_commit, index.ids.renamed") == {"erase.mid_commit", "index.ids.renamed"}
    faults.disarm()
    assert faults.armed() == frozenset()


@pytest.mark.slow
def test_the_cli_killed_while_writing_an_index_with_the_real_model_leaves_the_old_one_live(tmp_path):
    """The real CLI, the real model: an import whose index update dies before CURRENT switches."""
    engine = fk.load_engine(tmp_path, fk.market(12), encoder=fk.FakeEncoder(), index_exact_max=fk.ANN_MAX)
    engine.build()
    home = engine.settings.home
    old = fk.index_ids(home)
    more = fk.write_jsonl(tmp_path / "in" / "more.jsonl", fk.market(18)["workers"][12:])
    proc = fk.cli(home, "import", "workers", str(more), fault="index.current.tmp_written")
    assert fk.killed(proc), proc.stderr[-2000:]
    assert "workers: 6 rows read, 6 new" in proc.stdout
    live = home / "index" / "workers"
    assert fk.index_ids(home) == old  # the fake-model version is still live and whole
    models = {v: json.loads((live / v / "manifest.json").read_text())["model"] for v in fk.versions(home)}
    assert len(models) == 2 and models[(live / "CURRENT").read_text()] == fk.FAKE, models  # the new one never went live
    assert load_index(live, model=fk.FAKE)[1] == old
    recovered = fk.engine_at(home)
    assert fk.answers(recovered) == fk.clean_answers(tmp_path, fk.market(18))
    assert len(fk.versions(home)) == 1
