"""Indonesian labels: the shipped file, its checks, matching through them, and Indonesian text."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sepadan.features.labels import HEADER, LABELS_DIR, LABELS_FILE, Fallbacks, Labels, load_labels
from sepadan.features.lexicon import load_lexicon
from sepadan.features.skills import SkillNormaliser
from sepadan.features.taxonomy import Taxonomy, default_data_dir
from sepadan.matching.messages import render

DATA = default_data_dir()
ELDERLY = "tend to elderly people"


@pytest.fixture(scope="module")
def labels(taxonomy):
    return load_labels(taxonomy)


@pytest.fixture(scope="module")
def normaliser(taxonomy):
    return SkillNormaliser(taxonomy, load_lexicon(taxonomy), None)


def _uri(taxonomy: Taxonomy, label: str) -> str:
    return taxonomy.skills_by_label(label)[0]


# --- the shipped file ---------------------------------------------------------------------------

def test_at_least_3000_skills_and_every_row_has_a_known_source(labels):
    counts = labels.counts()
    skills = sum(n for k, n in counts.items() if k.startswith("skill/"))
    assert skills >= 3000, counts
    assert counts.get("occupation/kbji2014", 0) > 100 and set(counts) <= {
        "skill/reviewed-translation", "occupation/kbji2014", "occupation/reviewed-translation"}


def test_every_skill_the_lexicon_uses_has_an_indonesian_label(taxonomy, labels):
    hand = load_lexicon(taxonomy, with_labels=False)
    used = {u for p in hand.phrases for u in hand.skills_for(p)}
    missing = sorted(taxonomy.skill_label(u) for u in used if labels.indonesian(u) is None)
    assert not missing, missing[:20]


def test_kbji_labels_are_kbji_titles_in_the_same_unit_group(taxonomy, labels):
    titles = {(t.title, t.isco) for t in taxonomy.kbji}
    for row in labels.rows.values():
        if row.source == "kbji2014":
            assert (row.indonesian, taxonomy.occupations[row.uri].isco) in titles, row


# --- matching through the labels ----------------------------------------------------------------

@pytest.mark.parametrize("phrase", ["merawat lansia", "jaga jompo", "perawat orang tua", "Merawat  Lansia"])
def test_elderly_care_phrases_reach_the_same_skill(normaliser, taxonomy, phrase):
    assert [c.uri for c in normaliser.normalise(phrase)][:1] == [_uri(taxonomy, ELDERLY)]


def test_an_indonesian_label_alone_maps_to_its_skill(normaliser, taxonomy, labels):
    uri = _uri(taxonomy, "moor vessels")
    hand = load_lexicon(taxonomy, with_labels=False)
    assert labels.indonesian(uri) == "menambatkan kapal" and not hand.skills_for("menambatkan kapal")
    assert [c.uri for c in normaliser.normalise("menambatkan kapal")] == [uri]
    near = normaliser.normalise("menambatkn kapal")  # a typo: nearly equal to the label
    assert [c.uri for c in near] == [uri] and near[0].confidence < 1.0


def test_short_or_different_phrases_are_not_forced_onto_a_label(taxonomy):
    lexicon = load_lexicon(taxonomy)
    assert lexicon.near("masakk") == ((), 0.0)  # too short to guess
    assert lexicon.near("merawat kapal pesiar mewah") == ((), 0.0)


# --- Indonesian text ------------------------------------------------------------------------------

def test_reasons_and_gaps_use_the_indonesian_label(taxonomy):
    uri = _uri(taxonomy, ELDERLY)
    reason = render("skill_exact", {"skill": ELDERLY, "phrase": "elderly care", "skill_uri": uri})
    assert reason == "bisa merawat lansia (dari 'elderly care')"
    assert render("skill_exact", {"skill": ELDERLY, "phrase": "merawat lansia", "skill_uri": uri}) == \
        "bisa merawat lansia"
    assert render("skill_exact", {"skill": ELDERLY, "phrase": "x", "skill_uri": uri}, "en") == "has tend to elderly people (from 'x')"
    knowledge = _uri(taxonomy, "food safety principles")
    assert render("skill_missing", {"skill": "food safety principles", "skill_uri": knowledge}) == \
        "prinsip keamanan pangan"
    assert render("skill_exact", {"skill": "food safety principles", "phrase": "keamanan pangan",
                                  "skill_uri": knowledge}).startswith("memahami prinsip keamanan pangan")


def test_a_label_without_indonesian_is_shown_in_english_and_counted(taxonomy):
    uri = _uri(taxonomy, "geriatrics")
    counter = Fallbacks()
    empty = Labels({}, fallbacks=counter)
    text = render("preferred_missing", {"skill": "geriatrics", "skill_uri": uri}, labels=empty)
    assert text == "geriatrics (diutamakan)"
    render("skill_missing", {"skill": "a free phrase", "skill_uri": None}, labels=empty)  # not a concept
    assert counter.snapshot() == {"shown_in_english": 1, "labels": 1, "top": ["geriatrics"]}


# --- bad rows -------------------------------------------------------------------------------------

def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / LABELS_DIR
    folder.mkdir()
    return folder / LABELS_FILE


ROW = "http://data.europa.eu/esco/skill/{id}\t{en}\t{id_}\t{src}"


@pytest.mark.parametrize(("line", "field"), [
    ("{uri}\ttend to elderly people\tmerawat lansia", "source"),
    ("{uri}\ttend to elderly people\tmerawat lansia\treviewed-translation\textra", "extra column 5"),
    ("{uri}\ttend to the elderly\tmerawat lansia\treviewed-translation", "label_en"),
    ("{uri}\ttend to elderly people\t\treviewed-translation", "label_id"),
    ("{uri}\ttend to elderly people\tmerawat lansia\tgoogle", "source"),
    ("{uri}\ttend to elderly people\tPekerja Perawatan Pribadi Di Rumah\tkbji2014", "label_id"),
    ("http://data.europa.eu/esco/skill/not-a-skill\tx\ty\treviewed-translation", "uri"),
])
def test_a_bad_row_names_file_row_and_field(taxonomy, tmp_path, line, field):
    path = _copy(tmp_path)
    good = f"{_uri(taxonomy, 'moor vessels')}\tmoor vessels\tmenambatkan kapal\treviewed-translation"
    bad = line.format(uri=_uri(taxonomy, ELDERLY))
    path.write_text("\t".join(HEADER) + "\n# a comment\n" + good + "\n" + bad + "\n", encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        load_labels(taxonomy, tmp_path)
    message = str(caught.value)
    assert LABELS_FILE in message and "row 4," in message and repr(field) in message, message


def test_a_uri_listed_twice_and_a_wrong_header_are_refused(taxonomy, tmp_path):
    path = _copy(tmp_path)
    row = f"{_uri(taxonomy, ELDERLY)}\t{ELDERLY}\tmerawat lansia\treviewed-translation"
    path.write_text("\t".join(HEADER) + f"\n{row}\n{row}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"row 3, field 'uri': .* listed twice"):
        load_labels(taxonomy, tmp_path)
    path.write_text("uri\tenglish\tindonesian\tsource\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"row 1, field 'header'"):
        load_labels(taxonomy, tmp_path)


def test_a_data_folder_without_labels_works_in_english(taxonomy, tmp_path):
    shutil.copytree(DATA / "lexicon", tmp_path / "lexicon")
    with pytest.raises(FileNotFoundError):
        load_labels(taxonomy, tmp_path)
    lexicon = load_lexicon(taxonomy, tmp_path)
    assert lexicon.labels.rows == {} and lexicon.skills_for("merawat lansia")


# --- the demo shortlists, with the real model -----------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory, real_encoder):
    from conftest import IMPORT_ORDER, TODAY, make_settings

    from sepadan.demo_data import generate
    from sepadan.engine import Engine

    root = tmp_path_factory.mktemp("demo-labels")
    paths = generate(root / "data", n_workers=400, n_vacancies=120, n_trainings=20, n_agencies=40, today=TODAY)
    engine = Engine(make_settings(root / "home"), encoder=real_encoder, today=TODAY)
    for kind in IMPORT_ORDER:
        engine.import_file(kind, paths[kind])
    engine.build()
    return engine


_QUOTE = re.compile(r"\(dari '[^']*'\)")


@pytest.mark.slow
def test_demo_reasons_show_no_english_label_where_an_indonesian_one_exists(demo, labels):
    checked = 0
    for vacancy in demo.matcher.vacancies.records[:60]:
        for match in demo.matcher.shortlist(vacancy.id, k=10).results:
            for key, params in (*match.reasons, *match.gaps):
                uri = params.get("skill_uri")
                indonesian = labels.indonesian(uri)
                if indonesian is None or indonesian.casefold() == params["skill"].casefold():
                    continue
                text = _QUOTE.sub("", render(key, params, "id"))  # what the worker wrote may be English
                assert indonesian in text and params["skill"] not in text, (key, params, text)
                checked += 1
    assert checked > 100


def test_explain_lists_the_labels_it_shows_in_english(taxonomy):
    from sepadan.matching.messages import labels_in_english

    geriatrics, elderly = _uri(taxonomy, "geriatrics"), _uri(taxonomy, ELDERLY)
    messages = [("skill_exact", {"skill": ELDERLY, "phrase": "x", "skill_uri": elderly}),
                ("preferred_missing", {"skill": "geriatrics", "skill_uri": geriatrics}),
                ("skill_missing", {"skill": "geriatrics", "skill_uri": geriatrics}),
                ("skill_missing", {"skill": "free text", "skill_uri": None})]
    assert labels_in_english(messages, Labels({})) == [ELDERLY, "geriatrics"]
    assert labels_in_english(messages) == ([] if load_labels(taxonomy).indonesian(geriatrics) else ["geriatrics"])


def test_occupations_in_indonesian_by_label_or_kbji_unit_group(taxonomy, labels):
    from sepadan.features.occupations import OccupationMatch

    welder = taxonomy.occupations_by_label("welder")[0]
    by_uri = OccupationMatch("welder", "7212", welder, "welder", "label", 1.0)
    by_code = OccupationMatch("Caregiver", "5322", None, "Home-based personal care workers", "code", 1.0)
    by_kbji = OccupationMatch("penjahit", "7533", None, "Penjahit", "kbji", 1.0)
    assert labels.occupation(by_uri) == "Pekerja Pengelasan" and labels.occupation(by_uri, "en") == "welder"
    assert labels.occupation(by_code) == "Pekerja Perawatan Pribadi Di Rumah"
    assert labels.occupation(by_code, "en") == "Home-based personal care workers"
    assert labels.occupation(by_kbji) == "Penjahit"
