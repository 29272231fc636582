"""Skill gaps: what keeps a worker out of the vacancies they nearly fit, and which training closes it.

A *need* is one requirement of a vacancy a worker does not meet. A required skill is met the way the
scorer credits it (the same ESCO concept, or a related one: a shared broader concept or close in
meaning). Trainable needs: a language level (a course teaching that language at a level that meets
it), a required skill (a course teaching the same concept or one close in meaning; a mere sibling in
the ESCO hierarchy earns a worker partial credit but does not make a course teach the skill), and a
required certificate (a course whose title or skills name it). Education and experience are needs
too, but not short trainings. Age, gender, availability, preference, an agency's licence, a closed
vacancy, or a document that cannot be ready before the deadline are never offered as gaps: a pair
that fails one of them is not a near miss at all.

Pure core: :class:`Coverage`, :class:`Catalogue`, :func:`requirements`, :func:`unmet_needs`, and
:func:`worker_gaps` on a :class:`~sepadan.planning.demand.Market` of records and profiles (which
:func:`sepadan.planning.demand.market` binds to an Engine).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np

from sepadan.features import education, languages
from sepadan.features.labels import shipped_labels
from sepadan.features.profiles import Requirement, VacancyProfile, WorkerProfile
from sepadan.features.skills import Concept
from sepadan.features.text import normalise_text
from sepadan.matching.eligibility import Check, Context, has_certificate, relevant_years
from sepadan.matching.scorer import SIMILAR_FLOOR
from sepadan.records import LanguageCred, LanguageReq, Training, Vacancy, Worker

if TYPE_CHECKING:
    from sepadan.planning.demand import Market

log = logging.getLogger(__name__)
TRAINABLE = frozenset({"language", "skill", "certificate"})
NOT_TRAINING = frozenset({"education", "experience"})
BLOCKERS = frozenset({"open", "agency", "available", "age", "gender", "preference", "documents"})
CERT_FILLER = frozenset({"sertifikat", "certificate", "skills", "skill", "test", "ujian", "uji", "exam", "bnsp",
                         "persiapan", "kompetensi", "preparation", "dan", "and"})  # words that name no subject
HOURS_PER_WEEK = 40
LANGUAGE_NAMES = {
    "ja": ("Jepang", "Japanese"), "ko": ("Korea", "Korean"), "zh": ("Mandarin", "Chinese"),
    "yue": ("Kanton", "Cantonese"), "en": ("Inggris", "English"), "ar": ("Arab", "Arabic"), "ms": ("Melayu", "Malay"),
}
KIND_TEXT = {
    "language": ("bahasa", "language"), "skill": ("keterampilan", "skill"),
    "certificate": ("sertifikat", "certificate"), "education": ("pendidikan", "education"),
    "experience": ("pengalaman", "experience"),
}


@dataclass(frozen=True, slots=True)
class Need:
    """One requirement of a vacancy; ``key`` is the same for the same requirement in any vacancy."""

    kind: str  # language | skill | certificate | education | experience
    key: str
    label: str
    langs: tuple[tuple[LanguageReq, ...], ...] = ()  # each group: any of these levels
    skill: Requirement | None = None
    names: tuple[str, ...] = ()  # certificate: any of these names
    wanted: tuple[str, ...] = ()  # skill: the concept keys that meet it exactly
    label_id: str = ""  # experience: the job in Indonesian (its Indonesian or KBJI label)

    @property
    def trainable(self) -> bool:
        return self.kind in TRAINABLE

    def name(self, lang: str = "id") -> str:
        """The requirement in words, e.g. 'Japanese JLPT N4', '2 years (Tailors)'."""
        if self.kind == "language":
            code = self.langs[0][0].language
            return f"{LANGUAGE_NAMES.get(code, (code, code))[0 if lang == 'id' else 1]} {self.label}"
        if self.kind == "experience":
            years, _, job = self.label.partition(" ")
            job = f"({self.label_id})" if lang == "id" and self.label_id else job
            unit = "tahun" if lang == "id" else "year" if years == "1" else "years"
            return f"{years} {unit} {job}".strip()
        if self.kind == "skill" and lang == "id" and self.skill is not None and self.skill.concepts:
            return shipped_labels().display(self.skill.concepts[0].uri, self.label)
        return self.label

    def text(self, lang: str = "id") -> str:
        return f"{KIND_TEXT[self.kind][0 if lang == 'id' else 1]}: {self.name(lang)}"


def language_need(groups: Sequence[Sequence[LanguageReq]]) -> Need:
    """One language's requirement: every group met, each group by any of its levels."""
    label = " + ".join(" / ".join(languages.describe(r.test, r.min_level) for r in g) for g in groups)
    return Need("language", f"language:{groups[0][0].language}:{label}", label, langs=tuple(tuple(g) for g in groups))


def skill_need(r: Requirement) -> Need:
    wanted = _wanted(r)
    return Need("skill", f"skill:{wanted[0]}", r.phrase, skill=r, wanted=wanted)


def _wanted(r: Requirement) -> tuple[str, ...]:
    return tuple(c.key for c in r.concepts) or (f"free:{r.phrase}",)


def certificate_need(names: Sequence[str]) -> Need:
    return Need("certificate", f"certificate:{normalise_text(names[0])}", names[0], names=tuple(names))


def requirements(v: Vacancy, vp: VacancyProfile, ctx: Context) -> tuple[Need, ...]:
    """Every requirement of a vacancy a worker may lack, its destination programme's included."""
    needs = [skill_need(r) for r in vp.required] + _language_needs(v, ctx)
    needs += [certificate_need((n,)) for n in v.certificates_required]
    needs += [
        certificate_need(r.certificates_for(v.sector)) for r in ctx.rules.for_vacancy(v) if r.certificates_for(v.sector)
    ]
    if v.education_min:
        needs.append(Need("education", f"education:{v.education_min}", v.education_min))
    if v.experience_years_min:
        years, job = f"{v.experience_years_min:g}", vp.occupation.label or v.title
        job_id = shipped_labels().occupation(vp.occupation, "id") if vp.occupation.label else v.title
        needs.append(Need("experience", f"experience:{vp.occupation.isco or v.title}:{years}", f"{years} ({job})",
                          label_id=job_id))
    unique: dict[str, Need] = {}
    for n in needs:
        unique.setdefault(n.key, n)
    return tuple(unique.values())


def _language_needs(v: Vacancy, ctx: Context) -> list[Need]:
    groups: dict[str, list[tuple[LanguageReq, ...]]] = defaultdict(list)
    for r in v.languages:
        groups[r.language].append((r,))
    for rule in ctx.rules.for_vacancy(v):
        alts = rule.languages_any
        if alts and not any(_implies(g, alts) for g in groups[alts[0].language]):
            groups[alts[0].language].append(alts)
    return [language_need(gs) for gs in groups.values() if gs]


def _implies(group: tuple[LanguageReq, ...], alternatives: tuple[LanguageReq, ...]) -> bool:
    """Whether meeting ``group`` always meets one of ``alternatives`` (then the latter adds nothing)."""
    return all(any(languages.meets((LanguageCred(r.language, r.test, r.min_level),), alt)[0] for alt in alternatives)
               for r in group)


class Coverage:
    """Which skills cover a required skill, by the scorer's rule: the same concept, or one that earns
    partial credit (``related`` in the ESCO hierarchy, or embeddings at least ``floor`` apart in cosine)."""

    def __init__(self, *, related: Callable[[str, str], bool] | None = None,
                 embed: Callable[[list[str]], np.ndarray] | None = None, floor: float = SIMILAR_FLOOR) -> None:
        self.related, self.embed, self.floor = related, embed, floor

    def covers(self, r: Requirement, have: Sequence[Concept]) -> bool:
        return bool(have) and bool(self.credited(r, have).any())

    def credited(self, r: Requirement, concepts: Sequence[Concept]) -> np.ndarray:
        """One flag per concept: does it cover ``r``?"""
        wanted = set(_wanted(r))
        out = np.array([c.key in wanted or self._related(c, r) for c in concepts], dtype=bool)
        if self.embed is not None and r.concepts and len(concepts) and not out.all():
            sims = self.embed([c.label for c in concepts]) @ self.embed([w.label for w in r.concepts]).T
            out |= (sims >= self.floor).any(axis=1)
        return out

    def _related(self, c: Concept, r: Requirement) -> bool:
        return bool(self.related and c.uri and any(w.uri and self.related(c.uri, w.uri) for w in r.concepts))


@dataclass(frozen=True, slots=True)
class Offer:
    """A training programme with what it teaches, normalised."""

    training: Training
    concepts: tuple[Concept, ...]
    words: frozenset[str]
    ends: date | None  # next start plus the duration (or hours / 40 a week)

    @property
    def id(self) -> str:
        return self.training.id

    def open_on(self, day: date) -> bool:
        """Whether one can still join its next cohort (a start date unknown counts as open)."""
        return self.training.next_start is None or self.training.next_start >= day

    def in_time(self, deadline: date | None) -> bool:
        """Whether it ends by a vacancy's deadline (unknown dates do not exclude)."""
        return deadline is None or self.ends is None or self.ends <= deadline


class Catalogue:
    """The training programmes, and which needs each one closes."""

    def __init__(self, offers: Sequence[Offer], coverage: Coverage) -> None:
        self.offers, self.coverage = tuple(offers), coverage
        self.by_id = {o.id: o for o in self.offers}
        self._memo: dict[tuple, bool] = {}

    @classmethod
    def build(cls, trainings: Iterable[Training], normalise: Callable[[str], tuple[Concept, ...]],
              coverage: Coverage) -> Catalogue:
        return cls([Offer(t, tuple(c for s in t.skills for c in normalise(s)), _words(t.title, *t.skills),
                          course_end(t)) for t in trainings], coverage)

    def closes(self, offer: Offer, need: Need) -> bool:
        key = (offer.id, need.key, need.names, need.wanted)
        if key not in self._memo:
            self._memo[key] = _closes(offer, need, self.coverage)
        return self._memo[key]

    def closes_all(self, offer: Offer, needs: Iterable[Need]) -> bool:
        return all(self.closes(offer, n) for n in needs)

    def closing(self, needs: Sequence[Need]) -> list[Offer]:
        return [o for o in self.offers if self.closes_all(o, needs)]


def course_end(t: Training) -> date | None:
    if t.next_start is None:
        return None
    weeks = t.duration_weeks if t.duration_weeks is not None else (t.hours or 0) / HOURS_PER_WEEK
    return t.next_start + timedelta(days=round(7 * weeks))


def _closes(offer: Offer, need: Need, coverage: Coverage) -> bool:
    if need.kind == "language":
        creds = offer.training.languages
        return bool(creds) and all(any(languages.meets(creds, r)[0] for r in group) for group in need.langs)
    if need.kind == "skill" and need.skill is not None:
        return coverage.covers(need.skill, offer.concepts)
    if need.kind == "certificate":
        return any(_names(offer, name) for name in need.names)
    return False


def _names(offer: Offer, certificate: str) -> bool:
    wanted = _words(certificate) - CERT_FILLER
    return bool(wanted) and wanted <= offer.words


def _words(*texts: str) -> frozenset[str]:
    return frozenset(w for t in texts for w in normalise_text(t).split())


def unmet_needs(checks: Sequence[Check], reqs: Sequence[Need], has_skill: Callable[[Need], bool]
                ) -> tuple[Need, ...] | None:
    """The needs a pair leaves unmet; None when a requirement no training can change fails (or a
    failed rule maps to no known need: never call such a pair eligible)."""
    failed = [c for c in checks if c.hard and not c.ok]
    if any(c.rule in BLOCKERS or _programme_age(c) for c in failed):
        return None
    wanted = {_failed_key(c) for c in failed}
    out = [n for n in reqs if _need_key(n) in wanted or (n.kind == "skill" and not has_skill(n))]
    if wanted - {_need_key(n) for n in out}:
        log.debug("unexplained failed checks %s; pair left out", wanted - {_need_key(n) for n in out})
        return None
    return tuple(out)


def _failed_key(c: Check) -> tuple[str, str]:
    if c.key == "language_unmet":
        return ("language", str(c.params.get("language")))
    if c.key == "certificate_missing":
        return ("certificate", normalise_text(c.params["name"]))
    return (c.rule, "")


def _need_key(n: Need) -> tuple[str, str]:
    if n.kind == "language":
        return ("language", n.langs[0][0].language)
    if n.kind == "certificate":
        return ("certificate", normalise_text(n.names[0]))
    return (n.kind, "")


def _programme_age(c: Check) -> bool:
    return c.rule.startswith("programme:") and c.key.startswith("age_")


def met(need: Need, w: Worker, has_skill: Callable[[Need], bool], wp: WorkerProfile | None = None,
        vp: VacancyProfile | None = None) -> bool:
    """Whether a worker meets one requirement on its own (supply counts; never more strictly than the
    rules: a pair's unmet needs always include the requirements ``met`` says are not met)."""
    if need.kind == "language":
        return all(any(languages.meets(w.languages, r)[0] for r in group) for group in need.langs)
    if need.kind == "skill":
        return has_skill(need)
    if need.kind == "certificate":
        return has_certificate(w.certificates, need.names)
    if need.kind == "education":
        have_rank, need_rank = education.education_rank(w.education), education.education_rank(need.label)
        return have_rank is not None and have_rank >= (need_rank or 0)
    return wp is not None and vp is not None and relevant_years(wp, vp) >= float(need.key.rsplit(":", 1)[1])


def positions(v: Vacancy) -> int:
    return v.positions if v.positions is not None else 1


def proximity(home: str | None, there: str | None) -> int:
    """0 same regency, 1 same province, 2 elsewhere, 3 unknown."""
    if not home or not there:
        return 3
    return 0 if home == there else 1 if home.split(".")[0] == there.split(".")[0] else 2


# --- one worker -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class NearMiss:
    vacancy_id: str
    title: str
    country: str | None
    positions: int
    deadline: date | None
    needs: tuple[Need, ...]


@dataclass(frozen=True, slots=True)
class TrainingOption:
    training: Training
    ends: date | None
    unlocks: int  # positions it alone would open, in time for their deadlines
    vacancies: tuple[str, ...]
    proximity: int

    @property
    def per_hour(self) -> float | None:
        return self.unlocks / self.training.hours if self.training.hours else None


@dataclass(frozen=True, slots=True)
class GapLine:
    need: Need
    unlocks: int  # positions where this is the only gap
    with_one_more: int  # positions where one other gap remains
    vacancies: tuple[str, ...]
    trainings: tuple[TrainingOption, ...]  # () for a trainable need: no training teaches it


@dataclass(frozen=True, slots=True)
class WorkerGaps:
    worker_id: str
    as_of: date
    eligible_vacancies: int
    eligible_positions: int
    gaps: tuple[GapLine, ...]  # trainable, most positions first
    not_trainable: tuple[GapLine, ...]
    near: tuple[NearMiss, ...]
    documents: tuple[tuple[str, int], ...]  # (document, positions of near or eligible jobs asking it)


def worker_gaps(mk: Market, worker_id: str, *, scope: str = "all", max_needs: int = 2) -> WorkerGaps:
    """The near misses of one worker (1..max_needs unmet needs), their gaps ranked by the positions
    closing each would unlock, and for each gap the trainings that close it."""
    from sepadan.errors import NotFound

    wpos = mk.worker_pos.get(worker_id)
    if wpos is None:
        raise NotFound(f"worker '{worker_id}' not found")
    eligible, near, docs = [], [], defaultdict(int)
    for vpos, v in enumerate(mk.vacancies):
        if not _in_scope(v, scope):
            continue
        checks = mk.checks(wpos, vpos)
        needs = mk.needs(wpos, vpos, checks=checks)
        if needs is None or len(needs) > max_needs:
            continue
        (near if needs else eligible).append((vpos, needs))
        for c in checks:
            if c.key == "document_missing":
                docs[c.params["document"]] += positions(v)
    lines = _lines(mk, mk.workers[wpos], near)
    return WorkerGaps(worker_id, mk.ctx.today, len(eligible), sum(positions(mk.vacancies[p]) for p, _ in eligible),
                      tuple(g for g in lines if g.need.trainable), tuple(g for g in lines if not g.need.trainable),
                      tuple(_near_miss(mk.vacancies[p], n) for p, n in near),
                      tuple(sorted(docs.items(), key=lambda kv: (-kv[1], kv[0]))))


def _in_scope(v: Vacancy, scope: str) -> bool:
    return scope == "all" or (scope == "overseas") == v.overseas


def _near_miss(v: Vacancy, needs: tuple[Need, ...]) -> NearMiss:
    return NearMiss(v.id, v.title, v.country, positions(v), v.deadline, needs)


def _lines(mk: Market, w: Worker, near: list[tuple[int, tuple[Need, ...]]]) -> list[GapLine]:
    by_key: dict[str, list[tuple[int, tuple[Need, ...]]]] = defaultdict(list)
    first: dict[str, Need] = {}
    for vpos, needs in near:
        for n in needs:
            by_key[n.key].append((vpos, needs))
            first.setdefault(n.key, n)
    lines = [_line(mk, w, first[k], entries) for k, entries in by_key.items()]
    return sorted(lines, key=lambda g: (-g.unlocks, -g.with_one_more, g.need.kind, g.need.label))


def _line(mk: Market, w: Worker, need: Need, entries: list[tuple[int, tuple[Need, ...]]]) -> GapLine:
    alone = sum(positions(mk.vacancies[p]) for p, ns in entries if len(ns) == 1)
    more = sum(positions(mk.vacancies[p]) for p, ns in entries if len(ns) > 1)
    options = [_option(mk, w, o, entries) for o in mk.catalogue.closing((need,)) if o.open_on(mk.ctx.today)]
    options.sort(key=lambda t: (-t.unlocks, t.proximity, -(t.per_hour or 0), t.training.cost_idr or 0, t.training.id))
    return GapLine(need, alone, more, tuple(mk.vacancies[p].id for p, _ in entries), tuple(options))


def _option(mk: Market, w: Worker, offer: Offer, entries: list[tuple[int, tuple[Need, ...]]]) -> TrainingOption:
    opened = [p for p, ns in entries if mk.catalogue.closes_all(offer, ns) and offer.in_time(mk.vacancies[p].deadline)]
    return TrainingOption(offer.training, offer.ends, sum(positions(mk.vacancies[p]) for p in opened),
                          tuple(mk.vacancies[p].id for p in opened), proximity(w.region, offer.training.region))
