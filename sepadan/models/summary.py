"""One training run's figures as plain tables: what ``sepadan train`` prints and what
``experiments/train_ranker.py`` writes to its result file, from one source so the two agree.

:func:`body` is the run as plain data (``sepadan train --json``); each ``*_table`` function turns a
body into a :class:`Table` of already formatted cells (a terminal renders it with rich, the result
file as markdown): the held-out figures, the held-out differences with their intervals, the
figures cross-validated over all vacancies, exposure by group cross-validated, and the "Where we
aim" table of issue 16 item 5.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ROWS = (("ndcg_at_10", "NDCG@10, judged candidates"), ("map", "MAP (hired)"),
        ("shortlist_recall_at_10", "hires in the eligible top 10 (naive)"),
        ("shortlist_recall_at_30", "hires in the eligible top 30 (naive)"),
        ("ips_recall_at_10", "hires in the eligible top 10 (IPS)"),
        ("ips_recall_at_30", "hires in the eligible top 30 (IPS)"),
        ("skew_at_10/gender/max_abs", "max abs Skew@10 gender"), ("ndkl_at_10/gender", "NDKL@10 gender"),
        ("skew_at_10/age_band/max_abs", "max abs Skew@10 age band"), ("ndkl_at_10/age_band", "NDKL@10 age band"),
        ("skew_at_10/province/max_abs", "max abs Skew@10 province"), ("ndkl_at_10/province", "NDKL@10 province"),
        ("skew_at_10/province/max_abs_all", "max abs Skew@10 province, every group (not judged)"))
GAINS = (("ndcg_at_10", "NDCG@10"), ("shortlist_recall_at_10", "hires in top 10, naive"),
         ("ips_recall_at_10", "hires in top 10, IPS"), ("shortlist_recall_at_30", "hires in top 30, naive"),
         ("ips_recall_at_30", "hires in top 30, IPS"))
AIM = GAINS[:3]
ATTRIBUTES = (("gender", "gender"), ("age_band", "age band"), ("province", "province"))


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def body(done: Any) -> dict[str, Any]:
    """A :class:`~sepadan.models.training.TrainingOutcome` as plain data."""
    config = done.config.params() if done.config is not None else {}
    choice = done.result.choice
    return {"version": done.version.label, "promoted": done.promoted, "beats_champion": done.beats,
            "compared_with": done.compared_with, "data_digest": done.digest,
            "ranker": {**done.ranker.ranking, **done.ranker.shortlist},
            "transparent": {**done.transparent.ranking, **done.transparent.shortlist},
            "champion": {**done.baseline.ranking, **done.baseline.shortlist},
            "random_order": done.result.random.ranking, "cv": done.result.cv,
            "difference": done.delta, "reason": done.reason, "hire_rates": done.data_figures,
            "weights": done.result.model.importances(), "config": config,
            "blend_choice": choice.reason if choice is not None else None,
            "held_out_vacancies": len(set(done.result.holdout.vacancy_ids)),
            "held_out_pairs": len(done.result.holdout),
            "train_vacancies": len(set(done.result.train.vacancy_ids)), "train_pairs": len(done.result.train)}


def held_out_table(b: Mapping[str, Any]) -> Table:
    """The new version, the transparent scorer, the champion (if another) and a random order on the
    held-out vacancies."""
    systems = [("ranker", b["version"]), ("transparent", "transparent-1")]
    if b.get("champion") and b["compared_with"] != "transparent-1":
        systems.append(("champion", f"{b['compared_with']} (champion)"))
    systems.append(("random_order", "random order"))
    rows = tuple((label, *(num(b.get(s, {}).get(key)) for s, _ in systems)) for key, label in ROWS
                 if any(key in b.get(s, {}) for s, _ in systems))
    where = f"{b['held_out_vacancies']} held-out vacancies" if "held_out_vacancies" in b else "held-out vacancies"
    return Table(f"{where}, figures", ("figure", *(name for _, name in systems)), rows)


def differences_table(b: Mapping[str, Any]) -> Table:
    d = b["difference"]
    rows = tuple((label, interval(d, "delta_", key)) for key, label in GAINS if f"delta_{key}" in d)
    return Table(f"{b['version']} minus {b['compared_with']} on the held-out vacancies (90% paired bootstrap "
                 "interval)", ("difference", "mean [90% interval]"), rows)


def cv_table(b: Mapping[str, Any]) -> Table | None:
    """The learned ranker and the transparent scorer cross-validated over all vacancies."""
    cv = b.get("cv", {})
    if "cv_all/folds" not in cv:
        return None
    rows = []
    for key, label in ROWS:
        a, t = cv.get(f"cv_all/ranker/{key}"), cv.get(f"cv_all/transparent/{key}")
        if a is None and t is None:
            continue
        diff = interval(cv, "cv_all/delta_", key) if f"cv_all/delta_{key}" in cv else ""
        rows.append((label, num(a), num(t), diff))
    n = int(cv.get("cv_all/vacancies_ndcg_at_10", 0))
    hired = int(cv.get("cv_all/ranker/shortlist_vacancies_with_hired", 0))
    return Table(f"{int(cv['cv_all/folds'])}-fold cross-validated over all vacancies with outcomes ({n} with a "
                 f"graded candidate, {hired} with hires in their pool)",
                 ("figure", "learned", "transparent-1", "difference [90% interval]"), tuple(rows))


def groups_table(b: Mapping[str, Any], *, k: int = 10) -> Table | None:
    """Skew@k per group cross-validated over all vacancies: how many vacancies each group's mean is
    over, on how many of them the two top k differ (``differ``), both means, the paired difference, and whether the group
    enters max |Skew@k| (measured on at least ``skew_min_vacancies`` vacancies)."""
    cv = b.get("cv", {})
    prefix = f"cv_all/ranker/skew_at_{k}/"
    least = int(b.get("config", {}).get("skew_min_vacancies", 0))
    rows = []
    for attr, label in ATTRIBUTES:
        names = sorted({key[len(prefix):].split("/")[1] for key in cv if key.startswith(f"{prefix}{attr}/")
                        and key.count("/") == 4} - {"max_abs", "max_abs_all"})
        for group in names:
            key = f"skew_at_{k}/{attr}/{group}"
            n = int(cv.get(f"cv_all/ranker/{key}/vacancies", 0))
            differ = cv.get(f"cv_all/differ_{key}")
            rows.append((label, group, str(n), "-" if differ is None else str(int(differ)),
                         num(cv.get(f"cv_all/ranker/{key}")), num(cv.get(f"cv_all/transparent/{key}")),
                         interval(cv, "cv_all/delta_", key) if f"cv_all/delta_{key}" in cv else "-",
                         "yes" if n >= least else "no"))
    if not rows:
        return None
    return Table(f"Skew@{k} per group, cross-validated (mean over the vacancies where the group holds at least "
                 f"1/{k} of the pool; judged: measured on at least {least} vacancies)",
                 ("attribute", "group", "vacancies", "differ", "learned", "transparent-1",
                  "difference [90% interval]", "judged"), tuple(rows))


def aim_table(b: Mapping[str, Any]) -> Table:
    """The targets of issue 16 item 5 on the held-out split and cross-validated over all vacancies."""
    cv, d, r = b.get("cv", {}), b["difference"], b["ranker"]
    rows = []
    for key, label in (("shortlist_recall_at_10", "naive"), ("ips_recall_at_10", "IPS")):
        held, over = r.get(key), cv.get(f"cv_all/ranker/{key}")
        rows.append((f">= 0.5 of hires in the top 10, {label}", num(held), met(held, 0.5), num(over), met(over, 0.5)))
    for key, label in AIM:
        held = interval(d, "delta_", key) if f"delta_{key}" in d else "-"
        over = interval(cv, "cv_all/delta_", key) if f"cv_all/delta_{key}" in cv else "-"
        rows.append((f"learned minus transparent, {label}: interval excludes zero", held, excludes(d, "delta_", key),
                     over, excludes(cv, "cv_all/delta_", key)))
    return Table("Where we aim (issue 16, item 5); judged on the cross-validated column",
                 ("target", "held-out split", "met", "cross-validated, all vacancies", "met"), tuple(rows))


def tables(b: Mapping[str, Any]) -> list[Table]:
    """Every table of a run, in the order the terminal and the result file show them."""
    found = [held_out_table(b), differences_table(b), cv_table(b), groups_table(b), aim_table(b)]
    return [t for t in found if t is not None]


def num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def met(value: float | None, floor: float) -> str:
    return "-" if value is None else ("yes" if value >= floor else "no")


def interval(source: Mapping[str, float], prefix: str, key: str) -> str:
    mid, low, high = (source[f"{prefix}{key}{tail}"] for tail in ("", "_p05", "_p95"))
    return f"{mid:+.3f} [{low:+.3f}, {high:+.3f}]"


def excludes(source: Mapping[str, float], prefix: str, key: str) -> str:
    if f"{prefix}{key}_p05" not in source:
        return "-"
    low, high = source[f"{prefix}{key}_p05"], source[f"{prefix}{key}_p95"]
    return "yes" if low > 0 else ("below zero" if high < 0 else "no")
