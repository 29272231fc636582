"""An ESCO-derived worker-to-vacancy ranking set with graded judgements, from a fixed seed.

Nobody here labels the pairs: relevance comes from the ISCO-08 hierarchy of the occupation each
record was drawn from, and the text of a record is public taxonomy wording.

- A vacancy is an ESCO occupation: its preferred label as the title, up to 6 of its essential skills
  (preferred labels) as required and up to 4 optional skills as preferred. No occupation code, no
  description and no hard requirement (domestic, open, no language, age or education rule), so
  every system sees the same text and the eligibility filter admits every pair.
- A worker is an occupation too, written in other words: some of its essential and optional skills
  (an ESCO alternative label, or, where the project's Indonesian lexicon has a phrase for the
  skill, sometimes that phrase; the preferred label only when a skill has no other wording), 0-3
  noise skills from an unrelated occupation, and experience under a KBJI 2014 Indonesian title of
  the same ISCO-08 unit group (else an alternative label), sometimes with a second, unrelated job.
- Grades: same occupation 3, same ISCO-08 unit group 2, same minor group 1, else 0 (not written).

Workers are drawn 40% from the vacancies' occupations, 30% from other occupations in the same
minor groups (near misses that earn grade 1 or 2) and 30% from any occupation.
``truth.tsv`` names the occupation behind every record; no system reads it.

With real titles (``real_titles``: ESCO occupation URI to the job-board titles labelled with it,
the JobBERT validation titles' test split) the set is worded as people write: each vacancy's
title is a real title of its occupation and it asks for 3 skills in other words (a lexicon phrase
or an alternative label); each worker's experience is a KBJI Indonesian title, another real
title or an ESCO label of the occupation, a third each where there is one; half the orders are
overseas through a licensed agency of ``agencies.jsonl``, which must be imported first.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sepadan.evaluation.datasets import write_qrels
from sepadan.features.lexicon import Lexicon
from sepadan.features.taxonomy import Occupation, Taxonomy

SEED = 20261123
AGENCIES = ("P3MI-2026-0101", "P3MI-2026-0102", "P3MI-2026-0103", "P3MI-2026-0104")
COUNTRIES = ("MY", "TW", "HK", "SA")
REGIONS = ("35.08", "18.71", "53.01", "63.06", "32.12", "33.74", "52.03", "35.07")


@dataclass(frozen=True, slots=True)
class RankingSetConfig:
    n_vacancies: int = 300
    n_workers: int = 3000
    seed: int = SEED
    min_essential: int = 6
    share_same: float = 0.4
    share_near: float = 0.3
    indonesian_skill: float = 0.5
    kbji_title: float = 0.7
    second_job: float = 0.2
    real_titles: bool = False  # vacancy titles and some experience from real job-board titles
    vacancy_skills: int = 6
    overseas: float = 0.0  # share of orders abroad through a licensed agency


@dataclass(slots=True)
class RankingSet:
    vacancies: list[dict[str, Any]]
    workers: list[dict[str, Any]]
    truth: dict[str, Occupation]
    qrels: dict[str, dict[str, int]]
    config: RankingSetConfig
    stats: dict[str, Any] = field(default_factory=dict)
    agencies: list[dict[str, Any]] = field(default_factory=list)

    def write(self, out_dir: Path) -> dict[str, Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = {
            "vacancies": out_dir / "vacancies.jsonl",
            "workers": out_dir / "workers.jsonl",
            "qrels": out_dir / "qrels.tsv",
            "truth": out_dir / "truth.tsv",
            "manifest": out_dir / "manifest.json",
        }
        if self.agencies:
            paths["agencies"] = out_dir / "agencies.jsonl"
        for kind in ("vacancies", "workers", *(("agencies",) if self.agencies else ())):
            lines = [json.dumps(r, ensure_ascii=False) for r in getattr(self, kind)]
            paths[kind].write_text("\n".join(lines) + "\n", encoding="utf-8")
        write_qrels(paths["qrels"], self.qrels)
        rows = ["id\toccupation_uri\tisco"] + [
            f"{i}\t{o.uri}\t{o.isco}" for i, o in self.truth.items()
        ]
        paths["truth"].write_text("\n".join(rows) + "\n", encoding="utf-8")
        manifest = {
            "generator": "sepadan.evaluation.ranking_set",
            "config": vars_of(self.config),
            "stats": self.stats,
        }
        paths["manifest"].write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return paths


def vars_of(config: RankingSetConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in config.__slots__}


def grade(a: Occupation, b: Occupation) -> int:
    """3 same occupation, 2 same ISCO-08 unit group, 1 same minor group, else 0."""
    if a.uri == b.uri:
        return 3
    if a.isco[:4] == b.isco[:4]:
        return 2
    return 1 if a.isco[:3] == b.isco[:3] else 0


def real_wording(**sizes: int) -> RankingSetConfig:
    """The real-wording set's settings: real titles, 3 skills per order, half the orders abroad."""
    return RankingSetConfig(**sizes, real_titles=True, vacancy_skills=3, overseas=0.5)


def make_ranking_set(
    taxonomy: Taxonomy,
    lexicon: Lexicon,
    config: RankingSetConfig | None = None,
    *,
    real_titles: dict[str, list[str]] | None = None,
) -> RankingSet:
    """Build the set in memory; the same taxonomy, lexicon, config and titles give the same set."""
    config = config or RankingSetConfig()
    if config.real_titles and not real_titles:
        raise ValueError("a real-wording set needs real titles (JobBERT titles.csv)")
    rng = random.Random(config.seed)
    pool = [
        taxonomy.occupations[u]
        for u in sorted(taxonomy.occupations)
        if len(taxonomy.occupations[u].essential) >= config.min_essential
        and not taxonomy.occupations[u].isco.startswith("0")
    ]
    titled = [o for o in pool if real_titles.get(o.uri)] if config.real_titles else pool
    if len(titled) < config.n_vacancies:
        raise ValueError(f"only {len(titled)} occupations qualify; ask for fewer vacancies")
    chosen = rng.sample(titled, config.n_vacancies)
    writer = _Writer(taxonomy, lexicon, rng, config, real_titles or {})
    vacancies = [writer.vacancy(f"V-{i:04d}", occ) for i, occ in enumerate(chosen, start=1)]
    worker_occs = _worker_occupations(rng, pool, chosen, config)
    workers = [writer.worker(f"W-{i:06d}", occ, pool) for i, occ in enumerate(worker_occs, start=1)]
    truth = {v["id"]: occ for v, occ in zip(vacancies, chosen, strict=True)}
    truth |= {w["id"]: occ for w, occ in zip(workers, worker_occs, strict=True)}
    qrels = _qrels(vacancies, workers, truth)
    stats = _stats(qrels, len(vacancies), len(workers), writer.wordings)
    stats["overseas_orders"] = sum(1 for v in vacancies if v["scheme"] != "domestic")
    return RankingSet(vacancies, workers, truth, qrels, config, stats, writer.agencies_used())


def _worker_occupations(
    rng: random.Random, pool: list[Occupation], chosen: list[Occupation], config: RankingSetConfig
) -> list[Occupation]:
    by_minor: dict[str, list[Occupation]] = defaultdict(list)
    for occ in pool:
        by_minor[occ.isco[:3]].append(occ)
    out = []
    for _ in range(config.n_workers):
        draw = rng.random()
        anchor = rng.choice(chosen)
        if draw < config.share_same:
            out.append(anchor)
        elif draw < config.share_same + config.share_near:
            near = [o for o in by_minor[anchor.isco[:3]] if o.uri != anchor.uri]
            out.append(rng.choice(near) if near else rng.choice(pool))
        else:
            out.append(rng.choice(pool))
    return out


class _Writer:
    """Writes records in the data contract's format from occupations."""

    def __init__(
        self,
        taxonomy: Taxonomy,
        lexicon: Lexicon,
        rng: random.Random,
        config: RankingSetConfig,
        real_titles: dict[str, list[str]],
    ) -> None:
        self.taxonomy, self.rng, self.config = taxonomy, rng, config
        self.real_titles = {u: sorted(set(t)) for u, t in real_titles.items()}
        self.licences: set[str] = set()
        self.indonesian: dict[str, list[str]] = defaultdict(list)
        for phrase in lexicon.phrases:
            for uri in lexicon.skills_for(phrase):
                self.indonesian[uri].append(phrase)
        self.kbji: dict[str, list[str]] = defaultdict(list)
        for entry in taxonomy.kbji:
            if len(entry.code) > 4:
                self.kbji[entry.code[:4]].append(entry.title)
        self.wordings: dict[str, int] = defaultdict(int)

    def vacancy(self, vid: str, occ: Occupation) -> dict[str, Any]:
        rng, real = self.rng, self.config.real_titles
        required = rng.sample(occ.essential, min(self.config.vacancy_skills, len(occ.essential)))
        preferred = [] if real else rng.sample(occ.optional, min(4, len(occ.optional)))
        where: dict[str, Any] = {
            "country": "ID", "region": rng.choice(REGIONS), "scheme": "domestic"
        }
        if rng.random() < self.config.overseas:
            licence = rng.choice(AGENCIES)
            self.licences.add(licence)
            where = {"country": rng.choice(COUNTRIES), "region": None, "scheme": "P2P",
                     "agency_licence": licence}
        word = self._wording if real else self._label
        return {
            "id": vid,
            "title": rng.choice(self.real_titles[occ.uri]).strip() if real else occ.label,
            **where,
            "open": True,
            "positions": rng.randint(1, 20),
            "skills_required": [word(u) for u in required],
            "skills_preferred": [self._label(u) for u in preferred],
        }

    def agencies_used(self) -> list[dict[str, Any]]:
        """The licence register for the overseas orders: each agency active until 2030."""
        return [{"licence": lic, "name": f"PT Penempatan {i}", "status": "active",
                 "valid_until": "2030-12-31"} for i, lic in enumerate(sorted(self.licences), 1)]

    def worker(self, wid: str, occ: Occupation, pool: Sequence[Occupation]) -> dict[str, Any]:
        rng = self.rng
        skills = list(dict.fromkeys(occ.essential + occ.essential + occ.optional))
        own = rng.sample(skills, min(len(skills), rng.randint(4, 10)))
        other = rng.choice(pool)
        noise = rng.sample(other.essential, min(len(other.essential), rng.randint(0, 3)))
        experience = [self._job(occ)]
        if rng.random() < self.config.second_job:
            experience.append(self._job(rng.choice(pool)))
        born = date(2026 - rng.randint(20, 45), rng.randint(1, 12), rng.randint(1, 28))
        return {
            "id": wid,
            "region": rng.choice(REGIONS),
            "birth_date": born.isoformat(),
            "skills": list(dict.fromkeys(self._wording(u) for u in own + noise)),
            "experience": experience,
            "available": True,
        }

    def _job(self, occ: Occupation) -> dict[str, Any]:
        titles = self.kbji.get(occ.isco[:4])
        if self.config.real_titles:
            return self._real_job(occ, titles)
        if titles and self.rng.random() < self.config.kbji_title:
            title, kind = self.rng.choice(sorted(titles)), "kbji_title"
        else:
            title, kind = self._other_label(occ.label, occ.alt_labels), "occupation_alt_label"
        self.wordings[kind] += 1
        return {"occupation": title, "years": self.rng.randint(1, 8), "country": "ID"}

    def _real_job(self, occ: Occupation, kbji: list[str] | None) -> dict[str, Any]:
        """A KBJI title, another real title or an ESCO label, a third each where there is one."""
        options = (
            ("kbji_title", kbji),
            ("real_title", self.real_titles.get(occ.uri)),
            ("occupation_label", True),
        )
        kinds = [k for k, ok in options if ok]
        kind = self.rng.choice(kinds)
        if kind == "kbji_title":
            title = self.rng.choice(sorted(kbji or ()))
        elif kind == "real_title":
            title = self.rng.choice(self.real_titles[occ.uri]).strip()
        else:
            title = self._other_label(occ.label, occ.alt_labels)
        self.wordings[kind] += 1
        return {"occupation": title, "years": self.rng.randint(1, 8), "country": "ID"}

    def _label(self, uri: str) -> str:
        return self.taxonomy.skills[uri].label

    def _wording(self, uri: str) -> str:
        skill = self.taxonomy.skills[uri]
        phrases = self.indonesian.get(uri)
        if phrases and self.rng.random() < self.config.indonesian_skill:
            self.wordings["skill_indonesian"] += 1
            return self.rng.choice(sorted(phrases))
        self.wordings["skill_alt_label" if skill.alt_labels else "skill_preferred_label"] += 1
        return self._other_label(skill.label, skill.alt_labels)

    def _other_label(self, label: str, alts: Sequence[str]) -> str:
        """An alternative label (never containing the list separator), else the preferred one."""
        usable = sorted(a for a in alts if ";" not in a and "," not in a)
        return self.rng.choice(usable) if usable else label


def _qrels(
    vacancies: list[dict[str, Any]], workers: list[dict[str, Any]], truth: dict[str, Occupation]
) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for v in vacancies:
        judged = {w["id"]: g for w in workers if (g := grade(truth[v["id"]], truth[w["id"]])) > 0}
        qrels[v["id"]] = judged
    return qrels


def _stats(
    qrels: dict[str, dict[str, int]], n_vacancies: int, n_workers: int, wordings: dict[str, int]
) -> dict[str, Any]:
    counts = {
        g: sum(1 for docs in qrels.values() for x in docs.values() if x == g) for g in (1, 2, 3)
    }
    without = sum(1 for docs in qrels.values() if not any(g == 3 for g in docs.values()))
    return {
        "vacancies": n_vacancies,
        "workers": n_workers,
        "judged_pairs_by_grade": {str(g): c for g, c in counts.items()},
        "vacancies_without_grade_3": without,
        "wordings": dict(sorted(wordings.items())),
    }
