"""Deterministic, fictional demo data in the data-contract format (workers, vacancies, ...).

``generate(out_dir)`` writes ``workers.jsonl``, ``vacancies.jsonl``, ``trainings.jsonl``,
``agencies.jsonl`` and ``outcomes.jsonl``. Everything comes from one ``random.Random(seed)`` and is
written with a fixed field order, so one seed gives byte-identical files. Distributions follow the
news seeds (destinations, sectors, sending regions, training offered); every person, NIK, employer
and agency is invented.

Fixed anchors used by the README demo: vacancy ``V-0042`` (the contract's kaigo SSW job order in
Osaka through the active agency ``P3MI-2023-0117``), vacancy ``V-0099`` (a Taiwan caregiver job
through a revoked agency), worker ``W-000123`` (the contract's Siti Rahma), worker ``W-000200``
(a woman from Kota Sorong with NIK ``9271014101900003``) and training ``T-07`` (the course in
Siti Rahma's record; ``T-08`` is the contract's "Bahasa Jepang N4"). An anchor is written only
when its number is within the requested count.

Outcomes are SYNTHETIC and carry no real-world signal. They come from the hiring process of
:mod:`sepadan.demo_hiring` (written last, from the same random stream): officers see a ranked
shortlist of the workers every hard eligibility rule admits, position bias decides who is shown,
and employers interview and hire by a hidden preference (experience and language beyond the
minimum, training recency, required skills, distance for domestic jobs) plus noise. The only
outcome pairs that break a hard rule are counted walk-ins on domestic jobs. A worker is hired at
most once; a stage that would fall on or after ``today`` is not written (still in progress).
"""

from __future__ import annotations

import copy
import json
import logging
import math
import random
import sys
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path

from sepadan import _demo_tables as T

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
KINDS = ("agencies", "trainings", "vacancies", "workers", "outcomes")
STAGES = ("shortlisted", "interviewed", "hired", "departed", "completed", "rejected", "withdrew")
DOC_KEYS = ("passport", "medical", "police_clearance", "bpjs", "family_consent")


def generate(out_dir: Path, *, seed: int = 20261123, n_workers: int = 5000,
             n_vacancies: int = 500, n_trainings: int = 60, n_agencies: int = 40,
             today: date = date(2026, 11, 1), progress: Progress | None = None) -> dict[str, Path]:
    """Write the five demo files into ``out_dir`` and return ``{kind: path}``."""
    if min(n_agencies, n_trainings) < 10:
        raise ValueError("need at least 10 agencies and 10 trainings")
    rng = random.Random(seed)
    gen = _Generator(rng, today, progress or (lambda kind, done, total: None))
    records = {"agencies": gen.agencies(n_agencies), "trainings": gen.trainings(n_trainings)}
    records["vacancies"] = gen.vacancies(n_vacancies)
    records["workers"] = gen.workers(n_workers)
    records["outcomes"] = gen.outcomes()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {kind: _write_jsonl(out_dir / f"{kind}.jsonl", records[kind]) for kind in KINDS}
    logger.info("demo data written to %s: %s", out_dir,
                {kind: len(records[kind]) for kind in KINDS})
    return paths


def _write_jsonl(path: Path, rows: Iterable[dict]) -> Path:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n")
    return path


def _pick(rng: random.Random, weighted: dict):
    """One key of ``weighted`` drawn with its value as weight (dicts keep insertion order)."""
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


class _Generator:
    """Holds the random stream and what earlier steps produced (agencies before vacancies, ...)."""

    def __init__(self, rng: random.Random, today: date, progress: Progress) -> None:
        self.rng, self.today, self.progress = rng, today, progress
        self.agency_rows: list[dict] = []
        self.training_rows: list[dict] = []
        self.training_topics: list[tuple[list[str], set[str]]] = []
        self.vacancy_rows: list[dict] = []
        self.worker_rows: list[dict] = []
        self.nik_taken: set[str] = set()
        self.nik_last: dict[str, int] = {}
        self.hiring: dict[str, float] = {}  # the hiring simulation's counts

    def _days(self, lo: int, hi: int) -> str:
        return (self.today + timedelta(days=self.rng.randint(lo, hi))).isoformat()

    # ---------------------------------------------------------------- agencies
    def agencies(self, n: int) -> list[dict]:
        n_bad = max(1, round(n * 0.1))
        statuses = ["suspended"] * n_bad + ["revoked"] * n_bad + ["expired"] * n_bad
        statuses += ["active"] * (n - 2 - len(statuses))
        self.rng.shuffle(statuses)
        rows = [{"licence": "KP2MI-G2G", "name": "KP2MI (penempatan G to G)", "status": "active",
                 "valid_until": "2030-12-31"}, self._agency("P3MI-2023-0117", "active")]
        rows[1]["name"] = "PT Sakura Mitra Penempatan"
        taken = {row["licence"] for row in rows}
        for status in statuses:
            rows.append(self._agency(self._new_licence(taken), status))
        self.agency_rows = rows
        self.progress("agencies", len(rows), n)
        return rows

    def _new_licence(self, taken: set[str]) -> str:
        while True:
            licence = f"P3MI-{self.rng.randint(2019, 2025)}-{self.rng.randint(1, 999):04d}"
            if licence not in taken:
                taken.add(licence)
                return licence

    def _agency(self, licence: str, status: str) -> dict:
        name = "PT " + " ".join(self.rng.sample(T.AGENCY_WORDS, 3))
        valid_until = self._days(-300, -1) if status == "expired" else self._days(120, 1400)
        return {"licence": licence, "name": name,
                "status": "active" if status == "expired" else status, "valid_until": valid_until}

    def _is_valid(self, agency: dict) -> bool:
        return agency["status"] == "active" and agency["valid_until"] >= self.today.isoformat()

    # --------------------------------------------------------------- trainings
    def trainings(self, n: int) -> list[dict]:
        rows = []
        for i in range(1, n + 1):
            fixed = T.FIXED_TRAININGS.get(f"T-{i:02d}")
            rows.append(dict(fixed) if fixed else self._training(f"T-{i:02d}"))
        self.training_rows = rows
        self.training_topics = [(_concepts_of(r["skills"]), {x["language"] for x in r["languages"]})
                                for r in rows]
        self.progress("trainings", n, n)
        return rows

    def _training(self, tid: str) -> dict:
        rng = self.rng
        title, skills, languages, hours_choices, family = rng.choice(T.COURSES)
        region = _pick(rng, T.REGION_WEIGHTS)
        city = T.REGIONS[region][0]
        public = rng.random() < T.PUBLIC_FAMILIES.get(family, 0.0)
        provider = f"BLK {city}" if public else f"LPK {rng.choice(T.LPK_NAMES[family])} {city}"
        hours = rng.choice(hours_choices)
        start = date(2026, 12, 1) + timedelta(days=rng.randint(0, 211))
        return {"id": tid, "title": title, "provider": provider, "region": region,
                "skills": list(skills), "languages": [dict(x) for x in languages],
                "hours": hours, "duration_weeks": max(1, math.ceil(hours / 40)),
                "cost_idr": 0 if public else rng.randint(2, 30) * 500_000,
                "seats": rng.randint(10, 40), "next_start": start.isoformat()}

    # --------------------------------------------------------------- vacancies
    def vacancies(self, n: int) -> list[dict]:
        for i in range(1, n + 1):
            vid = f"V-{i:04d}"
            if vid in T.FIXED_VACANCIES:
                row = self._fixed_vacancy(vid)
            else:
                row = self._vacancy(vid, _pick(self.rng, T.COUNTRY_WEIGHTS))
            self.vacancy_rows.append(row)
            if i % 100 == 0 or i == n:
                self.progress("vacancies", i, n)
        return self.vacancy_rows

    def _fixed_vacancy(self, vid: str) -> dict:
        row = copy.deepcopy(T.FIXED_VACANCIES[vid])
        if vid == "V-0099":
            revoked = [a for a in self.agency_rows if a["status"] == "revoked"]
            row["agency_licence"] = revoked[0]["licence"]
            row["deadline"] = (self.today + timedelta(days=75)).isoformat()
        return row

    def _vacancy(self, vid: str, country: str) -> dict:
        rng = self.rng
        job = T.JOBS[_pick(rng, T.COUNTRY_JOBS[country])]
        region = _pick(rng, T.REGION_WEIGHTS) if country == "ID" else None
        city = T.REGIONS[region][0] if region else rng.choice(T.CITIES[country])
        extra = job.required[1:]
        required = [job.required[0]] + rng.sample(extra, min(len(extra), rng.randint(0, 2)))
        optional = [s for s in job.preferred if s not in required]
        preferred = rng.sample(optional, min(len(optional), rng.randint(0, 3)))
        deadline = self._days(-90, -1) if rng.random() < 0.1 else self._days(10, 200)
        is_open = rng.random() < (0.4 if deadline < self.today.isoformat() else 0.96)
        age_min, age_max = job.ages
        if country == "SG" and job.sector == "domestic_work":
            age_min = 23
        title = rng.choice(list(job.titles))
        return {"id": vid, "title": title, "employer": self._employer(job, country, city),
                "agency_licence": self._vacancy_agency(country), "country": country,
                "region": region, "sector": job.sector, "occupation": job.titles[title],
                "description": job.description.format(city=city),
                "skills_required": required, "skills_preferred": preferred,
                "languages": self._vacancy_languages(country, job),
                "education_min": rng.choice(job.education), "age_min": age_min,
                "age_max": age_max, "gender": self._vacancy_gender(job),
                "experience_years_min": rng.choices((0, 1, 2, 3), (50, 25, 15, 10))[0],
                "certificates_required": self._vacancy_certificates(job),
                "positions": rng.randint(*job.positions), "salary": self._salary(country, job),
                "scheme": {"KR": "G2G", "ID": "domestic"}.get(country, "P2P"),
                "deadline": deadline, "open": is_open, "program": job.program}

    def _employer(self, job: T.Job, country: str, city: str) -> str:
        word = self.rng.choice(T.FIRM_WORDS["ID" if country == "ID" else "xx"])
        return self.rng.choice(job.employers).format(city=city, word=word,
                                                     sfx=T.FIRM_SUFFIX[country])

    def _vacancy_agency(self, country: str) -> str | None:
        if country == "ID":
            return None
        if country == "KR":
            return "KP2MI-G2G"
        roll = self.rng.random()
        if roll < 0.015:
            return f"P3MI-2024-{self.rng.randint(1000, 1999):04d}"  # never in the register
        p3mi = [a for a in self.agency_rows if a["licence"] != "KP2MI-G2G"]
        pool = [a for a in p3mi if self._is_valid(a) == (roll >= 0.075)]
        return self.rng.choice(pool)["licence"]

    def _vacancy_languages(self, country: str, job: T.Job) -> list[dict]:
        if job.languages is not None:
            return [dict(self.rng.choice(job.languages))] if job.languages else []
        for chance, requirement in T.COUNTRY_LANGUAGES.get(country, ()):
            if self.rng.random() < chance:
                return [dict(requirement)]
        return []

    def _vacancy_gender(self, job: T.Job) -> str | None:
        roll = self.rng.random()
        for gender, chance in job.gender:
            if roll < chance:
                return gender
            roll -= chance
        return None

    def _vacancy_certificates(self, job: T.Job) -> list[str]:
        return [c for c, chance in job.certificates if self.rng.random() < chance]

    def _salary(self, country: str, job: T.Job) -> dict:
        lo, hi, step = T.SALARY[country][job.pay]
        amount = self.rng.randint(lo // step, hi // step) * step
        return {"amount": amount, "currency": T.CURRENCY[country], "period": "month"}

    # ----------------------------------------------------------------- workers
    def workers(self, n: int) -> list[dict]:
        for fixed in T.FIXED_WORKERS.values():
            self.nik_taken.add(fixed["nik"])
        for i in range(1, n + 1):
            wid = f"W-{i:06d}"
            fixed = T.FIXED_WORKERS.get(wid)
            row = copy.deepcopy(fixed) if fixed else self._worker(wid)
            self.worker_rows.append(row)
            if i % 1000 == 0 or i == n:
                self.progress("workers", i, n)
        return self.worker_rows

    def _worker(self, wid: str) -> dict:
        rng = self.rng
        gender = "F" if rng.random() < 0.65 else "M"
        arch = T.ARCHETYPES[_pick(rng, T.ARCHETYPE_WEIGHTS[gender])]
        region = _pick(rng, T.REGION_WEIGHTS)
        birth = self._birth_date(arch)
        countries = self._preferred_countries(arch)
        concepts = self._worker_concepts(arch)
        row = {"id": wid, "name": self._name(gender, region),
               "nik": self._nik(region, birth, gender), "birth_date": birth.isoformat(),
               "gender": gender, "region": region}
        if rng.random() < 0.98:
            row["education"] = _pick(rng, T.EDUCATION[arch.education])
        row["skills"] = self._skill_phrases(concepts)
        if rng.random() < 0.96:
            row["languages"] = self._worker_languages(arch, countries)
        adult_days = (self.today - _years_before(birth, -16)).days
        row["trainings"] = self._worker_trainings(arch, region, countries, adult_days)
        row["experience"] = self._experience(arch, countries, max_years=adult_days / 365)
        row["certificates"] = self._certificates(arch, countries)
        if rng.random() < 0.9:
            row["documents"] = self._documents()
        if rng.random() < 0.85:
            row["preferences"] = {"countries": countries, "domestic": not countries
                                  or rng.random() < 0.35, "sectors": self._sectors(arch)}
            if birth > _years_before(self.today, 18):  # a minor may not be placed abroad (UU 18/2017)
                row["preferences"].update(countries=[], domestic=True)
        row["available"] = rng.random() < 0.9
        return row

    def _worker_concepts(self, arch: T.Archetype) -> list[str]:
        rest = [c for c in arch.concepts if c not in arch.core]
        k = min(len(rest), self.rng.randint(1, 5) - len(arch.core))
        return list(arch.core) + self.rng.sample(rest, max(0, k))

    def _birth_date(self, arch: T.Archetype) -> date:
        age = 17 if self.rng.random() < 0.004 else int(self.rng.triangular(*arch.ages))
        latest = _years_before(self.today, age)
        earliest = _years_before(self.today, age + 1) + timedelta(days=1)
        return earliest + timedelta(days=self.rng.randint(0, (latest - earliest).days))

    def _name(self, gender: str, region: str) -> str:
        rng, province = self.rng, region[:2]
        local = T.LOCAL_FIRST.get((province, gender))
        name = rng.choice(local if local and rng.random() < 0.7 else T.FIRST_NAMES[gender])
        if province in T.LOCAL_SURNAMES and rng.random() < 0.7:
            return f"{name} {rng.choice(T.LOCAL_SURNAMES[province])}"
        if rng.random() < 0.8:
            name += " " + rng.choice(T.SECOND_NAMES[gender])
        return name

    def _nik(self, region: str, birth: date, gender: str) -> str:
        district = self.rng.randint(1, T.REGIONS[region][2])
        day = birth.day + (40 if gender == "F" else 0)
        prefix = f"{region.replace('.', '')}{district:02d}{day:02d}{birth:%m%y}"
        serial = self.nik_last.get(prefix, 0) + 1
        while f"{prefix}{serial:04d}" in self.nik_taken:
            serial += 1
        self.nik_last[prefix] = serial
        self.nik_taken.add(f"{prefix}{serial:04d}")
        return f"{prefix}{serial:04d}"

    def _preferred_countries(self, arch: T.Archetype) -> list[str]:
        if not arch.countries:
            return []
        k = self.rng.choices((1, 2, 3), (55, 35, 10))[0]
        chosen: list[str] = []
        for _ in range(k):
            country = _pick(self.rng, arch.countries)
            if country not in chosen:
                chosen.append(country)
        return chosen

    def _skill_phrases(self, concepts: list[str]) -> list[str]:
        phrases = [self._render_skill(c) for c in concepts]
        if len(phrases) >= 2 and self.rng.random() < 0.12:
            phrases[:2] = [", ".join(phrases[:2])]
        return phrases

    def _render_skill(self, concept: str) -> str:
        english, indonesian, free = T.CONCEPTS[concept]
        roll = self.rng.random()
        if roll < 0.10 and free:
            return self.rng.choice(free)
        if roll < 0.35 or not indonesian:
            return english[0]
        return self.rng.choice(indonesian)

    def _worker_languages(self, arch: T.Archetype, countries: list[str]) -> list[dict]:
        out: list[dict] = []
        for country in countries[:2]:
            chance, ladder = T.WORKER_LANGUAGES.get(country, (0.0, {}))
            if arch.key == "care_jp" and country == "JP":
                chance, ladder = T.WORKER_LANGUAGES_JP_CARE
            if ladder and self.rng.random() < chance:
                language, test, level = _pick(self.rng, ladder)
                out.append({"language": language, "test": test, "level": level})
        if self.rng.random() < 0.15:
            out.append({"language": "en", "test": "CEFR", "level": _pick(self.rng, T.CEFR_WEIGHTS)})
        return _dedupe_languages(out)

    def _worker_trainings(self, arch: T.Archetype, region: str, countries: list[str],
                          since_days: int) -> list[dict]:
        if self.rng.random() >= 0.45 or since_days < 60:
            return []
        wanted = {T.COUNTRY_LANGUAGE.get(c) for c in countries}
        weights: dict[int, float] = {}
        for i, programme in enumerate(self.training_rows):
            concepts, languages = self.training_topics[i]
            if any(c in arch.concepts for c in concepts) or languages & wanted:
                near = 3.0 if programme["region"][:2] == region[:2] else 0.2
                weights[i] = 12.0 if programme["region"] == region else near
        chosen: list[int] = []
        for _ in range(self.rng.choices((1, 2, 3), (60, 30, 10))[0]):
            if weights:
                chosen.append(_pick(self.rng, weights))
                weights.pop(chosen[-1])
        earliest = -min(1400, since_days)
        return [self._training_entry(self.training_rows[i], earliest) for i in chosen]

    def _training_entry(self, programme: dict, earliest: int) -> dict:
        return {"program_id": programme["id"], "title": programme["title"],
                "provider": programme["provider"], "hours": programme["hours"],
                "completed": self._days(earliest, -30), "skills": list(programme["skills"])}

    def _experience(self, arch: T.Archetype, countries: list[str], *,
                    max_years: float) -> list[dict]:
        out = []
        k = self.rng.choices((0, 1, 2, 3), (35, 40, 18, 7))[0]
        spans = [y for y in T.EXPERIENCE_YEARS if y <= max_years]
        for occupation in self.rng.sample(arch.occupations, min(k, len(arch.occupations))):
            if not spans:
                break
            abroad = countries and self.rng.random() < 0.3
            out.append({"occupation": occupation, "years": self.rng.choice(spans),
                        "country": self.rng.choice(countries) if abroad else "ID"})
        return out

    def _certificates(self, arch: T.Archetype, countries: list[str]) -> list[str]:
        out = []
        for certificate, chance, needs_japan in arch.certificates:
            if (not needs_japan or "JP" in countries) and self.rng.random() < chance:
                out.append(certificate)
        return out

    def _documents(self) -> dict:
        return {key: self.rng.random() < T.DOCUMENT_READY[key]
                for key in DOC_KEYS if self.rng.random() < 0.85}

    def _sectors(self, arch: T.Archetype) -> list[str]:
        sectors = [arch.sectors[0] if len(arch.sectors) == 1 else self.rng.choice(arch.sectors)]
        extra = self.rng.choice(T.SECTORS)
        if self.rng.random() < 0.3 and extra not in sectors:
            sectors.append(extra)
        return sectors

    # ---------------------------------------------------------------- outcomes
    def outcomes(self) -> list[dict]:
        """Outcome rows from the documented hiring process (:mod:`sepadan.demo_hiring`)."""
        from sepadan.demo_hiring import simulate

        rows = {"agencies": self.agency_rows, "trainings": self.training_rows,
                "workers": self.worker_rows, "vacancies": self.vacancy_rows}
        out, report = simulate(self.rng, rows, today=self.today, skip_workers=T.FIXED_WORKERS,
                               skip_vacancies=T.FIXED_VACANCIES)
        self.hiring = report.as_dict()
        logger.info("hiring: %s", self.hiring)
        self.progress("outcomes", len(out), len(out))
        return out


def _concepts_of(phrases: Iterable[str]) -> list[str]:
    """Skill concepts behind the generator's own phrases (internal; never written out)."""
    out: list[str] = []
    for text in phrases:
        for part in text.split(","):
            concept = T.PHRASE_CONCEPT.get(part.strip().casefold())
            if concept and concept not in out:
                out.append(concept)
    return out


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _dedupe_languages(entries: list[dict]) -> list[dict]:
    seen: dict[str, dict] = {}
    for entry in entries:
        seen.setdefault(entry["language"], entry)
    return list(seen.values())


def main(argv: list[str] | None = None) -> int:
    """``python -m sepadan.demo_data OUT_DIR [SEED]``."""
    args = sys.argv[1:] if argv is None else argv
    if not args or len(args) > 2:
        logger.error("usage: python -m sepadan.demo_data OUT_DIR [SEED]")
        return 2
    seed = int(args[1]) if len(args) == 2 else 20261123
    generate(Path(args[0]), seed=seed,
             progress=lambda kind, done, total: logger.info("%s: %d/%d", kind, done, total))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sys.exit(main())
