"""Job titles as job boards write them: the title reader (noise, alternatives, Malay and
Indonesian words, head nouns last), the word list's errors, the normaliser's use of both, the
dev/test split and the real-wording ranking set. The fake encoder for logic; the real model for
the known answer."""

from __future__ import annotations

import pytest

from sepadan.evaluation.datasets import load_jobbert, split_benchmark, title_split
from sepadan.evaluation.ranking_set import make_ranking_set, real_wording
from sepadan.features.occupations import OccupationNormaliser
from sepadan.features.titles import TitleReader, load_title_words, mix_variants


@pytest.fixture(scope="module")
def reader(lexicon):
    return TitleReader(load_title_words(), lexicon)


@pytest.mark.parametrize(
    ("title", "variants"),
    [
        ("Operator Pengeluaran / Production Operator", ("production operator",)),
        ("Operator Pengeluaran (Production Operator)", ("production operator",)),
        (
            "Production Team Member (Operator Pengeluaran)",
            (
                "production team member production operator",
                "production team member",
                "production operator",
            ),
        ),
        ("SENIOR Marketing Executive (Shah Alam) - URGENT, RM1800", ("marketing executive",)),
        ("Kerani Akaun min. 2 thn", ("accounts clerk",)),
        ("Juruteknik Elektrik", ("electrician",)),
        ("Pengendali Mesin", ("machine operator",)),
        ("Manajer Pemasaran", ("marketing manager",)),
        ("Operator Mesin Jahit Lainnya", ("sewing machine operator",)),
        ("Senior Accounts Payable - Korean Speaker", ("accounts payable",)),
        ("Hiring! Junior Developer (Full time) wanted", ("developer",)),
    ],
)
def test_titles_read_as_english_without_noise(reader, title, variants):
    assert reader.read(title).variants == variants


def test_english_parts_keep_their_words(reader):
    """The lexicon's Indonesian glossary has air = water: an English title is not glossed."""
    assert reader.read("Air Cargo Executive").variants == ("air cargo executive",)
    assert reader.read("Staff Nurse").variants == ("staff nurse",)  # 'staff' is a head word


def test_what_is_left_out_is_listed(reader):
    reading = reader.read("Pemandu Lori (Klang) 3 tahun pengalaman 专业")
    assert reading.variants == ("lorry driver",)
    assert {"klang", "3", "tahun", "pengalaman", "专业"} <= set(reading.dropped)
    assert reader.read("URGENT!!! hiring").variants == ()


def test_lookup_keys_try_the_title_as_written_first(reader):
    keys = reader.read("Pembantu Rumah Tangga (PRT) - Urgent").lookup_keys
    assert keys[0] == "pembantu rumah tangga prt - urgent"  # normalise_text of the title
    assert "prt" in keys and "domestic helper" in keys


def test_mix_takes_the_whole_reading_and_the_best_part():
    import numpy as np

    scores = np.array([[0.2, 0.4], [0.9, 0.1], [0.1, 0.8]])
    assert mix_variants(scores, 0.5).tolist() == pytest.approx([0.55, 0.6])
    assert mix_variants(scores[:1], 0.5).tolist() == pytest.approx([0.2, 0.4])


def test_the_word_list_names_file_row_and_field(tmp_path):
    folder = tmp_path / "titles"
    folder.mkdir()
    path = folder / "title_words.tsv"
    head = "word\tenglish\tkind\tsource\n"
    path.write_text(head + "kerani\tclerk\thead\town\nkerani\tclerk\tgloss\town\n")
    with pytest.raises(ValueError, match=r"title_words.tsv: row 3, field 'word': duplicate"):
        load_title_words(tmp_path)
    path.write_text(head + "kerani\tclerk\tverb\town\n")
    with pytest.raises(ValueError, match=r"row 2, field 'kind'"):
        load_title_words(tmp_path)
    path.write_text(head + "kerani\tclerk\thead\t\n")
    with pytest.raises(ValueError, match=r"row 2, field 'source': is empty"):
        load_title_words(tmp_path)
    path.write_text(head + "kerani\t-\tgloss\town\n")
    with pytest.raises(ValueError, match=r"row 2, field 'english'"):
        load_title_words(tmp_path)


def test_normaliser_finds_a_lexicon_title_inside_job_board_wording(taxonomy, lexicon):
    """Exact lookups run on each alternative: 'PRT' is in the lexicon's titles."""
    normaliser = OccupationNormaliser(taxonomy, lexicon, None)
    match = normaliser.normalise("Dicari PRT (Jakarta) - segera")
    assert (match.isco, match.source) == ("9111", "lexicon")


def test_normaliser_ranks_the_reading_with_a_fake_encoder(taxonomy, lexicon, fake_encoder):
    normaliser = OccupationNormaliser(taxonomy, lexicon, fake_encoder)
    noisy = normaliser.rank(["URGENT Operator Pengeluaran (Production Operator) RM1800"], k=5)
    clean = normaliser.rank(["production operator"], k=5)
    assert [u for u, _ in noisy[0]] == [u for u, _ in clean[0]]


def test_splits_are_fixed_by_the_wording_and_keep_the_same_title_on_one_side(tmp_path):
    assert title_split("Production Operator") == title_split("  production   OPERATOR ")
    path = tmp_path / "titles.csv"
    rows = [f"{i},Title number {i},http://data.europa.eu/esco/occupation/x{i}" for i in range(200)]
    path.write_text(",vacancyTitle,conceptUri\n" + "\n".join(rows) + "\n")
    bench = load_jobbert(path)
    dev, test = split_benchmark(bench, "dev"), split_benchmark(bench, "test")
    assert len(dev.queries) + len(test.queries) == 200
    assert 20 <= len(dev.queries) <= 60  # one in five, by hash
    assert not set(dev.ids) & set(test.ids)


def test_real_wording_set_has_real_titles_and_licensed_overseas_orders(taxonomy, lexicon):
    occupations = [o for o in taxonomy.occupations.values() if len(o.essential) >= 6][:40]
    titles = {o.uri: [f"Senior {o.label} (KL)", f"{o.label} - urgent"] for o in occupations}
    config = real_wording(n_vacancies=10, n_workers=60, seed=7)
    made = make_ranking_set(taxonomy, lexicon, config, real_titles=titles)
    again = make_ranking_set(taxonomy, lexicon, config, real_titles=titles)
    assert made.vacancies == again.vacancies and made.workers == again.workers
    real = {t for ts in titles.values() for t in ts}
    assert all(v["title"] in real and len(v["skills_required"]) <= 3 for v in made.vacancies)
    abroad = [v for v in made.vacancies if v["scheme"] != "domestic"]
    assert abroad and {v["agency_licence"] for v in abroad} == {a["licence"] for a in made.agencies}
    assert all(a["status"] == "active" for a in made.agencies)
    with pytest.raises(ValueError, match="real titles"):
        make_ranking_set(taxonomy, lexicon, config)


def test_known_answer_mixed_title_reaches_the_same_unit_group(taxonomy, lexicon, real_encoder):
    normaliser = OccupationNormaliser(taxonomy, lexicon, real_encoder)
    mixed = normaliser.normalise("Operator Pengeluaran (Production Operator)")
    plain = normaliser.normalise("production operator")
    assert plain.isco is not None
    assert mixed.isco == plain.isco
    assert plain.isco[0] in "89"  # plant and machine operators / elementary occupations


def test_the_orders_skills_choose_among_similar_titles(taxonomy, lexicon, fake_encoder):
    """A vague title ("Executive") with the skills ESCO relates to one occupation lands there."""
    normaliser = OccupationNormaliser(taxonomy, lexicon, fake_encoder, threshold=0.0)
    without = normaliser.normalise("Executive")
    similar = [o for o in taxonomy.occupations.values()
               if "executive" in o.label.split() and o.uri != without.uri]
    target = max(similar, key=lambda o: (len(o.essential), o.uri))
    with_skills = normaliser.normalise("Executive", skills=target.essential)
    assert with_skills.uri == target.uri != without.uri
    assert normaliser.skill_share(tuple(target.essential))[
        sorted(taxonomy.occupations).index(target.uri)] == pytest.approx(1.0, abs=1e-4)
