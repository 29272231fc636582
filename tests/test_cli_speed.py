"""What keeps the command line quick (issue 15): the imports a call pays for, and the taxonomy's
label indexes built only when a label is looked up. Times live in experiments/bench_cli.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sepadan.features import taxonomy as tx


def _imported_by(code: str) -> set[str]:
    """Top-level packages and modules in sys.modules after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport sys, json; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} | set(sys.modules))))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_help_imports_no_settings_numpy_or_pydantic() -> None:
    mods = _imported_by("from sepadan.cli import app")
    assert "typer" in mods
    assert not mods & {"numpy", "pydantic", "pydantic_settings", "sklearn", "faiss", "torch"}


def test_serving_the_transparent_scorer_imports_no_scikit_learn() -> None:
    mods = _imported_by("import sepadan.models.serving, sepadan.models.registry")
    assert "sepadan.models.serving" in mods
    assert not mods & {"sklearn", "scipy.optimize", "pandas"}


def test_the_engine_and_matcher_import_no_scikit_learn() -> None:
    """A shortlist from stored profiles reads no title: scikit-learn waits for the first one."""
    mods = _imported_by("import sepadan.engine, sepadan.matching.output")
    assert "sepadan.features.bm25" in mods and "sklearn" not in mods


def test_cli_kinds_are_the_contracts() -> None:
    from sepadan.cli.core import KINDS
    from sepadan.contract import KINDS as CONTRACT_KINDS

    assert KINDS == CONTRACT_KINDS


def test_label_indexes_are_built_on_first_lookup_and_match_an_eager_build() -> None:
    t = tx._load_cached.__wrapped__(tx.default_data_dir().resolve())  # a fresh load, not the cached one
    assert t._labels._built is None
    skill = next(s for s in t.skills.values() if s.alt_labels)
    occupation = next(iter(t.occupations.values()))
    assert skill.uri in t.skills_by_label(skill.label.upper())
    assert t._labels._built is not None
    eager = tx._label_indexes(t.skills, t.occupations, t.kbji)
    assert eager == t._labels.get()
    assert skill.uri in t.skills_by_label(skill.alt_labels[0])
    assert occupation.uri in t.occupations_by_label(occupation.label)
    assert t.kbji_by_title(t.kbji[0].title)[0] == t.kbji[0]
    group = next(up for s in t.skills.values() for up in s.broader)
    assert t.narrower(group) and all(group in t.skills[u].broader for u in t.narrower(group))


def test_a_taxonomy_pickles_before_and_after_its_label_indexes_are_built() -> None:
    """The nightly batch ships the taxonomy to Ray workers (cloudpickle); its lazy label indexes hold a lock."""
    pickle = pytest.importorskip("ray.cloudpickle", reason="Ray (the test extra) pickles what the batch ships")

    t = tx._load_cached.__wrapped__(tx.default_data_dir().resolve())
    skill = next(iter(t.skills.values()))
    cold = pickle.loads(pickle.dumps(t))
    assert cold._labels._built is None and skill.uri in cold.skills_by_label(skill.label)
    warm = pickle.loads(pickle.dumps(cold))
    assert warm._labels._built == cold._labels.get() and skill.uri in warm.skills_by_label(skill.label)
