"""Cross-validated offline figures over every vacancy with outcomes, for more power than one split.

The promotion rule reads the fixed held-out split (:func:`sepadan.models.training.holdout_mask`,
stable as outcomes grow). On the demo outcomes that split holds some 60 vacancies, and the 90%
intervals of a difference in the share of hires recovered are wide on so few. Here GroupKFold by
vacancy runs over **all** vacancies with outcomes: each fold's ranker is made exactly as the
version being trained (``make``: the same augmentation and the same blend chosen on its own
training folds, never on the fold it is measured on) and ranks the fold's vacancies as the service
ranks them (:func:`~sepadan.models.offline.rank_shortlists`); every vacancy is then measured once,
by a model that never saw it, and the paired bootstrap intervals run over all of them (also per
group of each fairness attribute: ``cv_all/delta_skew_at_10/<attr>/<group>``, with the number of
vacancies measured and of those where the two top 10s differ). The gain the promotion rule reads
stays the held-out split's (fixed, shared with the champion); its fairness condition reads these
figures too (:func:`sepadan.models.promotion.decide`), five times as many vacancies as the split.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from sepadan.matching.matcher import Matcher
from sepadan.matching.scorer import TransparentScorer
from sepadan.models.offline import Pools, evaluate_shortlists, logged_ranks, paired_interval, rank_shortlists
from sepadan.models.ranker import MonotoneRanker
from sepadan.models.serving import RankerScorer

log = logging.getLogger(__name__)
PREFIX = "cv_all"
SHORTLIST = ("shortlist_recall_at_10", "ips_recall_at_10", "shortlist_recall_at_30", "ips_recall_at_30")


def cross_validated(matcher: Matcher, data: Any, transparent: TransparentScorer, config: Any, *, pools: Pools,
                    shown: Mapping[tuple[str, str], int], make: Callable[[Any], MonotoneRanker],
                    progress: Callable[[int, int], None] | None = None) -> dict[str, float]:
    """``{cv_all/...: value}``: per system the mean figures over all vacancies, and the learned
    ranker minus the transparent scorer with 90% paired intervals (``cv_all/delta_<figure>``,
    ``_p05``, ``_p95``); ``data`` is every judged pair (a training Dataset); ``progress(done, total)``
    hears of each fold."""
    from sklearn.model_selection import GroupKFold

    from sepadan.models.training import PRIMARY, per_vacancy

    vids = np.asarray(data.vacancy_ids)
    folds = min(config.cv_folds, len(set(vids)))
    if folds < 2:
        return {}
    depth = max(*config.shortlist_ks, config.skew_k)
    ndcg: dict[str, float] = {}
    ranked: dict[str, list[str]] = {}
    out: dict[str, float] = {f"{PREFIX}/folds": float(folds)}
    for i, (fit_rows, test_rows) in enumerate(GroupKFold(n_splits=folds).split(data.X, data.y, vids), start=1):
        try:
            model = make(data.subset(fit_rows))
        except ValueError as exc:
            log.warning("cross-validation fold %d left out: %s", i, exc)
            continue
        part = data.subset(test_rows)
        ndcg.update(per_vacancy(model.predict(part.frame()), part)[PRIMARY])
        fold_pools = pools.only(part.vacancy_ids)
        ranked.update(rank_shortlists(matcher, RankerScorer(model, transparent, version=f"fold-{i}"), fold_pools,
                                      k=depth))
        out[f"{PREFIX}/anchor_weight/fold_{i}"] = float(getattr(model, "anchor_weight", 0.0))
        log.info("cross-validation over all vacancies: fold %d of %d done", i, folds)
        if progress is not None:
            progress(i, folds)
    logged = rank_shortlists(matcher, transparent, pools, k=max(config.logging_depth, depth))
    ranks = logged_ranks(logged, pools, shown)
    systems = {"ranker": (ndcg, ranked),
               "transparent": (per_vacancy(data.column("transparent_score"), data)[PRIMARY],
                               {v: lst[:depth] for v, lst in logged.items()})}
    per: dict[str, dict[str, dict[str, float]]] = {}
    for name, (nd, lists) in systems.items():
        found = evaluate_shortlists(matcher, {v: lst for v, lst in lists.items() if v in ranked}, pools, ranks,
                                    propensity=config.propensity, ks=config.shortlist_ks, today=matcher.ctx.today,
                                    skew_k=config.skew_k, skew_min_vacancies=config.skew_min_vacancies)
        per[name] = {PRIMARY: {v: x for v, x in nd.items() if v in ranked}, **found.per_vacancy}
        out.update({f"{PREFIX}/{name}/{k}": v for k, v in found.figures.items()})
        out[f"{PREFIX}/{name}/{PRIMARY}"] = float(np.mean(list(per[name][PRIMARY].values())))
    groups = sorted(k for k in per["ranker"] if k.startswith(f"skew_at_{config.skew_k}/"))
    for metric in (PRIMARY, *SHORTLIST, *groups):
        diff = paired_interval(per["ranker"].get(metric, {}), per["transparent"].get(metric, {}), seed=config.seed,
                               rounds=config.bootstrap_rounds)
        if diff:
            out.update({f"{PREFIX}/delta_{metric}": diff["delta"], f"{PREFIX}/delta_{metric}_p05": diff["p05"],
                        f"{PREFIX}/delta_{metric}_p95": diff["p95"], f"{PREFIX}/vacancies_{metric}": float(
                            diff["wins"] + diff["ties"] + diff["losses"]),
                        f"{PREFIX}/differ_{metric}": diff["wins"] + diff["losses"]})
    return out

