"""The compact shortlist and recommendation view fits an 80-column screen; --wide shows everything."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from conftest import load_engine
from test_matching import READY
from typer.testing import CliRunner

from sepadan.cli.render import compact_lines

SKILLS = ["merawat lansia", "memasak", "mencuci pakaian", "menyetrika", "P3K", "mengasuh anak",
          "bersih-bersih rumah", "membuat kue"]
VACANCY = {
    "id": "V1", "title": "Caregiver and housekeeper for an elderly couple with a long job title",
    "country": "ID", "region": "35.08", "scheme": "domestic", "open": True,
    "skills_required": ["elderly care", "cooking", "ironing clothes", "laundry"],
    "skills_preferred": ["first aid", "child care", "baking", "dementia care"],
}


def _worker(i: int) -> dict:
    return {"id": f"W-{i:06d}", "gender": "F", "birth_date": "1995-03-03", "region": "35.08",
            "education": "SMA", "skills": SKILLS[: 2 + i % 6], "documents": READY, "available": True}


@pytest.fixture(scope="module")
def app(tmp_path_factory, fake_encoder):
    engine = load_engine(tmp_path_factory.mktemp("compact"),
                         {"workers": [_worker(i) for i in range(14)], "vacancies": [VACANCY]},
                         encoder=fake_encoder)
    engine.build()
    return engine


def _run(engine, monkeypatch, *args: str) -> list[str]:
    import sepadan.cli.core as core

    @contextmanager
    def fake(home, today=None):
        yield engine

    monkeypatch.setattr(core, "_engine", fake)
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(core.app, list(args), env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_ten_rows_fit_one_80_column_screen(app, monkeypatch):
    lines = _run(app, monkeypatch, "shortlist", "V1", "-k", "10")
    assert len(lines) <= 2 + 2 * 10 + 1, "\n".join(lines)
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    rows = [line for line in lines if line[:3].strip().isdigit()]
    assert len(rows) == 10 and rows[0].split()[1].startswith("W-")
    assert any("kurang:" in line for line in lines)  # the top gap on its own line, in Indonesian
    assert "--wide" in lines[-1]


def test_wide_shows_every_reason_and_takes_more_lines(app, monkeypatch):
    compact = _run(app, monkeypatch, "shortlist", "V1", "-k", "10")
    wide = _run(app, monkeypatch, "shortlist", "V1", "-k", "10", "--wide")
    assert len(wide) > len(compact)
    text = " ".join(line.strip("│┃ ") for line in wide)
    assert "bisa " in text and "model:" in wide[-1]


def test_recommend_is_compact_in_english_too(app, monkeypatch):
    lines = _run(app, monkeypatch, "recommend", "W-000005", "--lang", "en")
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert len(lines) <= 2 + 2 * 10 + 1 and any(line.lstrip().startswith("1 ") for line in lines)


def test_compact_lines_cut_to_any_width():
    body = {"lang": "en", "model_version": "m", "results": [
        {"rank": 1, "worker_id": "W-1", "region": "35.08", "score": 0.5,
         "reasons": ["a" * 200, "b" * 50, "c"], "gaps": ["g" * 100, "h"]},
        {"rank": 2, "worker_id": "W-2", "region": None, "score": 0.25, "eligible": False,
         "failed": ["age 50 is outside 18-40"], "reasons": [], "gaps": []}]}
    for width in (40, 80, 120):
        lines = compact_lines(body, title="t" * 150, id_key="worker_id", extra=("region",), width=width)
        assert all(len(line) <= width for line in lines)
        assert len(lines) == 2 + 2 + 1  # title, header, row 1 and its gap, row 2 (no gap)
    assert "NOT ELIGIBLE: age 50" in lines[-1] and "lacks: " + "g" * 10 in lines[3]


def test_explain_still_prints_and_says_which_labels_stay_english(app, monkeypatch):
    lines = _run(app, monkeypatch, "explain", "W-000005", "V1")
    assert any(line.startswith("reasons: bisa merawat lansia") for line in lines), lines[-4:]
    english = [line for line in lines if line.startswith("label tanpa terjemahan")]
    assert all("bahasa Inggris" in line for line in english)
