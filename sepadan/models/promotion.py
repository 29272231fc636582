"""Champion and challenger on the same held-out vacancies, and the rule that moves ``champion``.

:func:`compare` scores the new version, the transparent scorer and the current champion (if any)
on the held-out vacancies: their judged candidates (NDCG@10, MAP, Recall@k), their eligible
shortlists (hires in the top 10 and 30, naive and inverse-propensity weighted; exposure by group),
and the new version's differences from the baseline (the champion, else the transparent scorer)
with 90% paired bootstrap intervals over vacancies.

:func:`decide` is the promotion rule: the champion moves only when the interval of the held-out
gain on :data:`~sepadan.models.training.PRIMARY` lies above zero **and** no fairness figure
(each group's mean Skew@10, over the groups measured on at least ``skew_min_vacancies`` vacancies,
and NDKL@10; by gender, age band and province: :func:`sepadan.models.fairness.worse`) is worse by
more than ``fairness_tolerance``: cross-validated over all vacancies against the transparent
scorer where the run has those figures, else on the held-out split against it. Why the
cross-validated figures: they are over five times the split's vacancies, and a group's mean
exposure over the split's few dozen moves by more than the tolerance by chance; why against the
transparent scorer: every version is then held to the same rule-based reference, so small
allowed steps cannot add up from champion to champion. Otherwise the version is registered as
the challenger, and the reason says which condition failed, with the figures.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sepadan.errors import SepadanError
from sepadan.matching.matcher import Matcher, Scorer
from sepadan.matching.scorer import TransparentScorer
from sepadan.models.fairness import hire_rates, unjudged, worse
from sepadan.models.offline import Placements, Pools, evaluate_shortlists, logged_ranks, paired_interval, rank_shortlists
from sepadan.models.registry import Registry
from sepadan.models.serving import RankerScorer

log = logging.getLogger(__name__)
COMPARED = ("shortlist_recall_at_10", "ips_recall_at_10", "shortlist_recall_at_30", "ips_recall_at_30")  # with intervals too


@dataclass(frozen=True, slots=True)
class Board:
    """Every system's figures on one split, and the new version's differences from the baseline."""

    ranker: Any  # training.Evaluation
    transparent: Any
    baseline: Any  # the champion, or the transparent scorer when there is none
    random: Any
    delta: dict[str, float]
    versus_transparent: dict[str, float]
    cv: dict[str, float] = field(default_factory=dict)  # cross-validated over all vacancies (crossval)

    def metrics(self) -> dict[str, float]:
        out = {**self.ranker.metrics("ranker"), **self.transparent.metrics("transparent"),
               **self.baseline.metrics("champion"), **self.random.metrics("random")}
        out.update({f"compare/{k}": v for k, v in self.delta.items()})
        out.update({f"compare_transparent/{k}": v for k, v in self.versus_transparent.items()})
        return out

    def fairness(self) -> dict[str, dict[str, float]]:
        """``{system: {figure: value}}`` for the exposure figures of each system."""
        return {ev.name: fairness_figures(ev.shortlist) for ev in (self.ranker, self.transparent, self.baseline)}


@dataclass(frozen=True, slots=True)
class Decision:
    promote: bool
    reason: str


def fairness_figures(figures: Mapping[str, float]) -> dict[str, float]:
    return {k: v for k, v in figures.items() if k.startswith(("skew_at_", "ndkl_at_"))}


def compare(matcher: Matcher, result: Any, graded: Mapping[tuple[str, str], int], registry: Registry,
            transparent: TransparentScorer, config: Any, *, placements: Placements | None = None) -> Board:
    """The new ranker, the transparent scorer and the champion on ``result``'s held-out vacancies
    (pools without the workers ``placements`` says were placed elsewhere before each round)."""
    from sepadan.models.training import PRIMARY, RELEVANT, Evaluation, evaluation, score_with

    held_ids = sorted(set(result.holdout.vacancy_ids))
    pools = Pools.build(matcher, held_ids, graded, relevant=RELEVANT, placements=placements)
    depth = max(*config.shortlist_ks, config.skew_k)
    logged = rank_shortlists(matcher, transparent, pools, k=max(config.logging_depth, depth))
    shown = placements.shown if placements is not None else {}
    ranks = logged_ranks(logged, pools, shown)
    recorded = {"ips_hires": float(len(ranks)), "ips_hires_rank_recorded": float(sum(k in shown for k in ranks))}

    def shortlists(ev: Any, scorer: Scorer | None, ranked: dict[str, list[str]] | None = None) -> Any:
        ranked = ranked if ranked is not None else rank_shortlists(matcher, scorer, pools, k=depth)
        found = evaluate_shortlists(matcher, ranked, pools, ranks, propensity=config.propensity,
                                    ks=config.shortlist_ks, today=matcher.ctx.today, skew_k=config.skew_k,
                                    skew_min_vacancies=config.skew_min_vacancies)
        return replace(ev, shortlist={**found.figures, **recorded},
                       per_vacancy={**ev.per_vacancy, **found.per_vacancy})

    ranker = shortlists(replace(result.ranker, name=f"{registry.name}/new"),
                        RankerScorer(result.model, transparent, version=f"{registry.name}/new"))
    plain = shortlists(replace(result.transparent, name=transparent.version), None,
                       {v: lst[:depth] for v, lst in logged.items()})
    baseline = plain
    current = registry.champion_version()
    if current is not None:
        try:
            loaded = registry.load(current)
            scores = score_with(loaded.model, loaded.features, result.holdout)
        except (ValueError, SepadanError) as exc:  # an older kind of model, or other features
            log.warning("cannot score %s/%s on this split (%s): it stays champion unless promoted by hand",
                        registry.name, current, exc)
            baseline = Evaluation(f"{registry.name}/{current}", {})
        else:
            baseline = shortlists(evaluation(loaded.label, scores, result.holdout, config),
                                  RankerScorer.from_registry(loaded, transparent))
    seed, rounds = config.seed, config.bootstrap_rounds
    delta = _differences(ranker, baseline, PRIMARY, seed, rounds)
    versus = _differences(ranker, plain, PRIMARY, seed, rounds)
    return Board(ranker, plain, baseline, result.random, delta, versus, dict(result.cv))


def _differences(new: Any, old: Any, primary: str, seed: int, rounds: int) -> dict[str, float]:
    """New minus old on the primary metric (keys ``delta_<primary>``, ``_p05``, ``_p95``, ``wins``,
    ``ties``, ``losses``) and on :data:`COMPARED` (``delta_<metric>``, ``_p05``, ``_p95``)."""
    out: dict[str, float] = {}
    main = paired_interval(new.per_vacancy.get(primary, {}), old.per_vacancy.get(primary, {}),
                           seed=seed, rounds=rounds)
    if main:
        out.update({f"delta_{primary}": main["delta"], f"delta_{primary}_p05": main["p05"],
                    f"delta_{primary}_p95": main["p95"], "wins": main["wins"], "ties": main["ties"],
                    "losses": main["losses"]})
    for name in COMPARED:
        found = paired_interval(new.per_vacancy.get(name, {}), old.per_vacancy.get(name, {}), seed=seed,
                                rounds=rounds)
        if found:
            out.update({f"delta_{name}": found["delta"], f"delta_{name}_p05": found["p05"],
                        f"delta_{name}_p95": found["p95"]})
    return out


def decide(board: Board, config: Any) -> Decision:
    """Promote only on a held-out gain whose 90% interval is above zero and no fairness figure worse
    by more than ``config.fairness_tolerance`` (:func:`fairness_check` says where, against whom)."""
    from sepadan.models.training import PRIMARY

    d, against = board.delta, board.baseline.name
    if f"delta_{PRIMARY}" not in d:
        return Decision(False, f"challenger: {against} cannot be scored on this split, so there is no "
                               f"gain to measure (promote by hand if wanted)")
    gain = (f"{PRIMARY} gain over {against} {d[f'delta_{PRIMARY}']:+.4f}, 90% interval "
            f"[{d[f'delta_{PRIMARY}_p05']:+.4f}, {d[f'delta_{PRIMARY}_p95']:+.4f}]")
    if d[f"delta_{PRIMARY}_p05"] <= 0:
        return Decision(False, f"challenger: {gain} does not exclude zero" if d[f"delta_{PRIMARY}_p95"] >= 0
                        else f"challenger: {gain} is below zero")
    tol, k, least = config.fairness_tolerance, config.skew_k, config.skew_min_vacancies
    place, name, new, old = fairness_check(board)
    figures = (f"each group's mean Skew@{k} over the groups measured on at least {least} vacancies, and NDKL@{k}; "
               f"by gender, age band, province")
    failing = worse(new, old, tolerance=tol, k=k, min_vacancies=least)
    if failing:
        return Decision(False, f"challenger: {gain}, but fairness ({figures}) is worse than {name}'s {place} by "
                               f"more than {tol}: " + "; ".join(failing))
    gaps = unjudged(new, old, k=k, min_vacancies=least)
    note = (f"; not judged (no group measured on enough vacancies, or no figure to compare with): {', '.join(gaps)}"
            if gaps else "")
    return Decision(True, f"champion: {gain} excludes zero, and no fairness figure ({figures}) is worse than "
                          f"{name}'s {place} by more than {tol}{note}")


def fairness_check(board: Board) -> tuple[str, str, dict[str, float], dict[str, float]]:
    """``(where, against, new figures, old figures)`` for the fairness condition: cross-validated
    over all vacancies against the transparent scorer where the run has those figures (five times
    the held-out split's vacancies: a group's exposure is judged on more than a handful), else on
    the held-out split against the transparent scorer too."""
    new, old = cv_system(board.cv, "ranker"), cv_system(board.cv, "transparent")
    if new and old:
        folds, n = int(board.cv.get("cv_all/folds", 0)), int(new.get("shortlist_vacancies", 0))
        return f"over all {n} vacancies ({folds}-fold cross-validated)", board.transparent.name, new, old
    return "on the held-out split", board.transparent.name, dict(board.ranker.shortlist), dict(board.transparent.shortlist)


def cv_system(cv: Mapping[str, float], system: str) -> dict[str, float]:
    """One system's cross-validated figures (``cv_all/<system>/<figure>``) as ``{figure: value}``."""
    prefix = f"cv_all/{system}/"
    return {key[len(prefix):]: v for key, v in cv.items() if key.startswith(prefix)}


def data_figures(matcher: Matcher, graded: Mapping[tuple[str, str], int], *, relevant: int) -> dict[str, float]:
    """Hire rates and their parity by group among the judged (shown) candidates."""
    workers = {r.id: r for r in matcher.workers.records}
    return hire_rates(graded, workers, matcher.ctx.today, relevant=relevant)
