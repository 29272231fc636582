"""Taxonomy loader and Indonesian lexicon: answers known by construction from the data files."""

from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sepadan.features.lexicon import LEXICON_DIR, Lexicon, load_lexicon
from sepadan.features.taxonomy import Taxonomy, default_data_dir, load_taxonomy
from sepadan.features.text import normalise_text

DATA = default_data_dir()


# --- taxonomy ---------------------------------------------------------------------------------


def test_taxonomy_sizes(taxonomy: Taxonomy) -> None:
    assert len(taxonomy.skills) > 13_000
    assert len(taxonomy.occupations) > 2_900
    assert len(taxonomy.kbji) > 2_500
    assert {len(code) for code in taxonomy.isco_labels} == {1, 2, 3, 4}
    assert taxonomy.isco_labels["5322"] == "Home-based personal care workers"


def test_taxonomy_is_read_only(taxonomy: Taxonomy) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        taxonomy.skills = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        taxonomy.skills["x"] = None  # type: ignore[index]


def test_load_taxonomy_is_cached(taxonomy: Taxonomy) -> None:
    assert load_taxonomy() is taxonomy
    assert load_taxonomy(DATA) is taxonomy


def test_skills_by_preferred_label_ignores_case_and_spacing(taxonomy: Taxonomy) -> None:
    skill = next(s for s in taxonomy.skills.values() if s.label == "tend to elderly people")
    assert taxonomy.skills_by_label("  Tend to ELDERLY people ") == (skill.uri,)
    assert taxonomy.skill_label(skill.uri) == "tend to elderly people"


def test_skills_by_alternative_label(taxonomy: Taxonomy) -> None:
    # In ESCO v1.1.1 "sewing" is an alternative label of the knowledge concept "dressmaking".
    dressmaking = next(s for s in taxonomy.skills.values() if s.label == "dressmaking")
    assert "sewing" in dressmaking.alt_labels
    assert dressmaking.uri in taxonomy.skills_by_label("Sewing")


def test_every_alt_label_finds_its_skill_unless_a_preferred_label_wins(
    taxonomy: Taxonomy,
) -> None:
    preferred = {normalise_text(s.label) for s in taxonomy.skills.values()}
    for skill in list(taxonomy.skills.values())[:500]:
        for alt in skill.alt_labels:
            found = taxonomy.skills_by_label(alt)
            if normalise_text(alt) in preferred:
                assert all(
                    normalise_text(taxonomy.skill_label(u)) == normalise_text(alt) for u in found
                )
            else:
                assert skill.uri in found


def test_unknown_label_finds_nothing(taxonomy: Taxonomy) -> None:
    assert taxonomy.skills_by_label("no such skill at all xyz") == ()
    assert taxonomy.occupations_by_label("") == ()


def test_occupations_by_label_and_isco(taxonomy: Taxonomy) -> None:
    (uri,) = taxonomy.occupations_by_label("Home Care Aide")
    occupation = taxonomy.occupations[uri]
    assert occupation.isco == "5322"
    assert occupation.essential and occupation.optional
    assert uri in taxonomy.occupation_for_isco("5322")
    assert uri in taxonomy.occupation_for_isco("53")
    in_group = taxonomy.occupation_for_isco("7531")
    assert in_group and all(taxonomy.occupations[u].isco == "7531" for u in in_group)
    assert taxonomy.occupation_for_isco("x") == ()


def test_occupation_skills_exist(taxonomy: Taxonomy) -> None:
    for occupation in list(taxonomy.occupations.values())[:300]:
        for uri in occupation.essential + occupation.optional:
            assert uri in taxonomy.skills


def test_kbji_by_title(taxonomy: Taxonomy) -> None:
    entries = taxonomy.kbji_by_title("juru masak")
    assert entries and {e.isco for e in entries} == {"5120"}
    # A title is also found without its parenthesised qualifier.
    assert {e.code for e in taxonomy.kbji_by_title("Nelayan")} == {"6222.02", "6222.03"}


def test_related_by_broader_concepts(taxonomy: Taxonomy) -> None:
    child = next(
        s for s in taxonomy.skills.values() if any(b in taxonomy.skills for b in s.broader)
    )
    parent = next(b for b in child.broader if b in taxonomy.skills)
    assert taxonomy.related(child.uri, parent) and taxonomy.related(parent, child.uri)
    group = child.broader[0]
    sibling = next(u for u in taxonomy.narrower(group) if u != child.uri)
    assert taxonomy.related(child.uri, sibling)
    assert not taxonomy.related(child.uri, child.uri)
    assert not taxonomy.related(child.uri, "http://example.org/not-a-skill")


def test_skill_label_of_a_group(taxonomy: Taxonomy) -> None:
    group = next(
        b for s in taxonomy.skills.values() for b in s.broader if b in taxonomy.group_labels
    )
    assert taxonomy.skill_label(group) == taxonomy.group_labels[group]
    with pytest.raises(KeyError):
        taxonomy.skill_label("http://example.org/nothing")


def test_missing_files_tell_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="python data/build.py"):
        load_taxonomy(tmp_path)


# --- lexicon ----------------------------------------------------------------------------------


def test_every_lexicon_row_resolves(lexicon: Lexicon) -> None:
    # load_lexicon validated every row; each phrase maps to 1-3 skills.
    assert len(lexicon.phrases) >= 150
    assert all(1 <= len(lexicon.skills_for(p)) <= 3 for p in lexicon.phrases)


def test_skills_for_elderly_care(lexicon: Lexicon, taxonomy: Taxonomy) -> None:
    labels = [taxonomy.skill_label(u) for u in lexicon.skills_for("Merawat Lansia")]
    assert any("elder" in label or "older" in label for label in labels)
    assert lexicon.skills_for("tidak ada frasa seperti ini") == ()


@pytest.mark.parametrize(
    ("phrase", "label"),
    [
        ("menjahit", "sew pieces of fabric"),
        ("P3K", "provide first aid"),
        ("bahasa Jepang", "Japanese"),
        ("mengemudi forklift", "operate forklift"),
        ("menyetrika", "iron textiles"),
    ],
)
def test_seed_phrases(lexicon: Lexicon, taxonomy: Taxonomy, phrase: str, label: str) -> None:
    assert label in [taxonomy.skill_label(u) for u in lexicon.skills_for(phrase)]


def _skill_file_phrases(name: str) -> list[str]:
    lines = (DATA / LEXICON_DIR / name).read_text(encoding="utf-8").splitlines()[1:]
    return [x.split("\t")[0] for x in lines if x.strip() and not x.startswith("#")]


def test_every_english_phrase_resolves(lexicon: Lexicon) -> None:
    phrases = _skill_file_phrases("skills_en.tsv")
    assert len(phrases) >= 200
    for phrase in phrases:
        assert normalise_text(phrase) in lexicon.phrases
        assert 1 <= len(lexicon.skills_for(phrase)) <= 3, phrase


def test_skill_files_do_not_overlap() -> None:
    indonesian = {normalise_text(p) for p in _skill_file_phrases("skills_id.tsv")}
    english = {normalise_text(p) for p in _skill_file_phrases("skills_en.tsv")}
    assert indonesian and english and not indonesian & english


@pytest.mark.parametrize(
    ("english", "indonesian"),
    [
        ("elderly care", "merawat lansia"),
        ("elderly care", "perawatan lansia"),
        ("dementia care", "merawat lansia"),
        ("child care", "mengasuh anak"),
        ("childcare", "ngasuh anak"),
        ("infant care", "merawat bayi"),
        ("cooking", "memasak"),
        ("home cooking", "masak masakan rumahan"),
        ("prepare meals", "masak"),
        ("baking", "membuat kue"),
        ("cleaning", "bersih-bersih rumah"),
        ("cleaning", "kebersihan"),
        ("house cleaning", "beres-beres rumah"),
        ("sewing", "menjahit"),
        ("operate sewing machine", "mesin jahit"),
        ("welding", "mengelas"),
        ("welding", "tukang las"),
        ("ironing clothes", "menyetrika"),
        ("ironing clothes", "setrika baju"),
        ("washing clothes", "nyuci baju"),
        ("patient care", "merawat orang sakit"),
        ("patient care", "rawat orang sakit"),
        ("wheelchair transfer", "memindahkan pasien"),
        ("machine operation", "operator mesin"),
        ("air conditioner servicing", "servis ac"),
        ("fish farming", "budidaya ikan"),
        ("fishing", "menangkap ikan"),
        ("oil palm harvesting", "dodos sawit"),
        ("rubber tapping", "nyadap karet"),
        ("crop farming", "kerja di sawah"),
        ("construction work", "kuli bangunan"),
        ("painting", "ngecat tembok"),
        ("carpentry", "tukang kayu"),
        ("driving", "bisa nyetir"),
        ("forklift operation", "mengemudi forklift"),
        ("electronic assembly", "perakitan elektronik"),
        ("first aid", "p3k"),
        ("occupational safety", "k3"),
        ("hairdressing", "tata rambut"),
        ("make-up", "tata rias"),
        ("cashier", "kasir"),
        ("front desk service", "resepsionis"),
        ("hotel housekeeping", "housekeeping hotel"),
        ("livestock care", "ngurus ternak"),
        ("halal certification", "sertifikasi halal"),
        ("bamboo craft", "kerajinan bambu"),
        ("net mending", "menjahit jaring"),
        ("basic computer skills", "komputer dasar"),
    ],
)
def test_same_meaning_shares_a_concept_across_languages(
    lexicon: Lexicon, english: str, indonesian: str
) -> None:
    en, id_ = set(lexicon.skills_for(english)), set(lexicon.skills_for(indonesian))
    assert en and id_, (english, indonesian)
    assert en & id_


@pytest.mark.parametrize(
    ("colloquial", "standard"),
    [
        ("ngurus orang tua", "merawat orang tua"),
        ("jaga lansia", "menjaga lansia"),
        ("ngasuh anak", "mengasuh anak"),
        ("rawat bayi", "merawat bayi"),
        ("beres-beres rumah", "bersih-bersih rumah"),
        ("nyuci baju", "mencuci baju"),
        ("masak masakan rumahan", "memasak masakan rumahan"),
        ("rawat orang sakit", "merawat orang sakit"),
        ("tukang las", "mengelas"),
        ("kuli bangunan", "kerja bangunan"),
        ("dodos sawit", "panen sawit"),
        ("ngecat tembok", "mengecat"),
        ("kerja di sawah", "bertani"),
    ],
)
def test_colloquial_indonesian_means_the_standard_form(
    lexicon: Lexicon, colloquial: str, standard: str
) -> None:
    assert lexicon.skills_for(colloquial) == lexicon.skills_for(standard)


def test_english_and_elderly_labels(lexicon: Lexicon, taxonomy: Taxonomy) -> None:
    labels = {taxonomy.skill_label(u) for u in lexicon.skills_for("Elderly Care")}
    assert "tend to elderly people" in labels
    # The lexicon wins over an ESCO label: 'sewing' is an alt label of 'dressmaking' (knowledge).
    assert "sew pieces of fabric" in {taxonomy.skill_label(u) for u in lexicon.skills_for("sewing")}


def test_titles(lexicon: Lexicon) -> None:
    assert lexicon.isco_for_title("penjahit") == "7531"
    assert lexicon.isco_for_title("PRT") == "9111"
    assert lexicon.isco_for_title("Pengasuh Lansia") == "5322"
    assert lexicon.english_title("penjahit") == "tailor"
    assert lexicon.english_title("judul yang tidak ada") is None


def test_titles_are_lexicon_only(lexicon: Lexicon, taxonomy: Taxonomy) -> None:
    # "Guru Sekolah Dasar" is a KBJI title, not a lexicon row: the taxonomy finds it.
    assert lexicon.isco_for_title("Guru Sekolah Dasar") is None
    assert {e.isco for e in taxonomy.kbji_by_title("Guru Sekolah Dasar")} == {"2341"}
    assert lexicon.isco_for_title("judul yang tidak ada") is None


def test_translate(lexicon: Lexicon) -> None:
    words = lexicon.translate("merawat lansia").split()
    assert "care" in words and "elderly" in words
    assert lexicon.translate("Anak Buah Kapal") == "ship crew"  # multi-word entry wins
    assert lexicon.translate("anak-anaknya") == "children"
    assert lexicon.translate("xyzzy menjahit") == "xyzzy sew"


# --- lexicon validation -----------------------------------------------------------------------


def _lexicon_copy(tmp_path: Path) -> Path:
    folder = tmp_path / LEXICON_DIR
    shutil.copytree(DATA / LEXICON_DIR, folder)
    return folder


@pytest.mark.parametrize(
    ("name", "lines", "row", "field"),
    [
        (
            "skills_id.tsv",
            [
                "phrase\tesco_labels\tnote",
                "memasak\tuse cooking techniques\tok",
                "menjahit\tsew very nicely\tnot an ESCO label",
            ],
            3,
            "esco_labels",
        ),
        (
            "skills_id.tsv",
            ["phrase\tesco_labels\tnote", "memasak\tuse cooking techniques"],
            2,
            "note",
        ),
        (
            "skills_id.tsv",
            [
                "phrase\tesco_labels\tnote",
                "# comment",
                "",
                "masak\tuse cooking techniques\ta",
                "Masak\tiron textiles\tb",
            ],
            5,
            "phrase",
        ),
        (
            "titles_id.tsv",
            ["title\tisco\tenglish", "penjahit\t7531\ttailor", "koki\t512\tcook"],
            3,
            "isco",
        ),
        ("titles_id.tsv", ["title\tisco\tenglish", "koki\t9999\tcook"], 2, "isco"),
        ("words_id_en.tsv", ["word\tenglish", "rawat\tcare\textra"], 2, "extra column 3"),
        ("words_id_en.tsv", ["word\tenglish", "rawat\t"], 2, "english"),
        ("words_id_en.tsv", ["kata\tinggris", "rawat\tcare"], 1, "header"),
    ],
)
def test_bad_lexicon_names_file_row_and_field(
    taxonomy: Taxonomy, tmp_path: Path, name: str, lines: list[str], row: int, field: str
) -> None:
    folder = _lexicon_copy(tmp_path)
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        load_lexicon(taxonomy, tmp_path)
    message = str(caught.value)
    assert name in message and f"row {row}," in message and repr(field) in message


def test_phrase_in_both_skill_files_names_file_row_and_field(
    taxonomy: Taxonomy, tmp_path: Path
) -> None:
    folder = _lexicon_copy(tmp_path)
    lines = ["phrase\tesco_labels\tnote", "# comment", "cooking\tuse cooking techniques\tok",
             "Memasak\tuse cooking techniques\talready an Indonesian row"]
    (folder / "skills_en.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        load_lexicon(taxonomy, tmp_path)
    message = str(caught.value)
    assert "skills_en.tsv" in message and "row 4," in message and "'phrase'" in message
    assert "skills_id.tsv" in message


def test_bad_english_skill_label_names_file_row_and_field(
    taxonomy: Taxonomy, tmp_path: Path
) -> None:
    folder = _lexicon_copy(tmp_path)
    lines = ["phrase\tesco_labels\tnote", "cooking\tcook very well\tnot an ESCO label"]
    (folder / "skills_en.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        load_lexicon(taxonomy, tmp_path)
    message = str(caught.value)
    assert "skills_en.tsv" in message and "row 2," in message and "'esco_labels'" in message


def test_missing_english_skill_file(taxonomy: Taxonomy, tmp_path: Path) -> None:
    folder = _lexicon_copy(tmp_path)
    (folder / "skills_en.tsv").unlink()
    with pytest.raises(FileNotFoundError, match="skills_en.tsv"):
        load_lexicon(taxonomy, tmp_path)


def test_bad_label_suggests_the_preferred_one(taxonomy: Taxonomy, tmp_path: Path) -> None:
    folder = _lexicon_copy(tmp_path)
    lines = ["phrase\tesco_labels\tnote", "menjahit\tsewing\talt label, not preferred"]
    (folder / "skills_id.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="did you mean 'dressmaking'"):
        load_lexicon(taxonomy, tmp_path)


def test_missing_lexicon_file(taxonomy: Taxonomy, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_lexicon(taxonomy, tmp_path)


# --- build script -----------------------------------------------------------------------------


def _build_module():
    spec = importlib.util.spec_from_file_location("data_build", DATA / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_writes_deterministic_sorted_gzip(tmp_path: Path) -> None:
    build = _build_module()
    rows = [("b", "two\tcells"), ("a", "one"), ("a", "one")]
    first, second = tmp_path / "x" / "one.tsv.gz", tmp_path / "two.tsv.gz"
    assert build.write_tsv(first, ("k", "v"), rows) == 2
    build.write_tsv(second, ("k", "v"), reversed(rows))
    assert first.read_bytes() == second.read_bytes()
    text = gzip.decompress(first.read_bytes()).decode("utf-8")
    assert text == "k\tv\na\tone\nb\ttwo cells\n"


# --- properties -------------------------------------------------------------------------------


@given(st.text())
def test_normalise_text_is_idempotent(text: str) -> None:
    once = normalise_text(text)
    assert normalise_text(once) == once


@settings(deadline=None)  # it loads the lexicon (and its Indonesian labels) each time; no timing asserted
@given(st.text(alphabet=st.sampled_from("abcdeiklmnoprstuy -/AKLM"), max_size=40))
def test_translate_output_is_normalised(text: str) -> None:
    lexicon = load_lexicon(load_taxonomy())
    out = lexicon.translate(text)
    assert normalise_text(out) == out
