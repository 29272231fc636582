"""Tiny ranker versions in a real MLflow tracking store, for the admin routes and pages.

``register_rankers(engine, n, promote=(...))`` fits ``n`` MonotoneRankers on a synthetic set whose
grade is the rank of one feature (known by construction, as in tests/test_models.py), logs each as a
version of ``sepadan-ranker`` in the registry the engine's settings name (the SQLite file in its
home), and promotes the given versions in order. About two seconds for the store, one per version.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sepadan.api.routes_admin import registry_for
from sepadan.models.features import DIRECTIONS, FEATURES
from sepadan.models.ranker import MonotoneRanker
from sepadan.models.registry import Registry, RunRecord
from sepadan.models.training import Dataset


def fitted(feature: str = "skills", *, seed: int = 0, groups: int = 12, size: int = 6) -> MonotoneRanker:
    rng = np.random.default_rng(seed)
    X = rng.random((groups * size, len(FEATURES)))
    ranks = X[:, FEATURES.index(feature)].reshape(groups, size).argsort(axis=1).argsort(axis=1)
    y = (ranks * 4 // size).reshape(-1).astype(np.int64)
    vids = np.repeat([f"V-{g:03d}" for g in range(groups)], size).astype(object)
    wids = np.array([f"W-{i:04d}" for i in range(groups * size)], dtype=object)
    data = Dataset(vids, wids, X, y)
    return MonotoneRanker(directions=DIRECTIONS).fit(data.frame(), data.y, data.vacancy_ids)


def register_rankers(engine: Any, n: int, *, promote: tuple[int, ...] = ()) -> Registry:
    """``n`` versions with known figures: version v has ranker/ndcg_at_10 = 0.5 + v / 100 and a
    gender Skew@10 of -v / 100 (and, cross-validated, an 18-24 age-band Skew@10 of -0.2 - v / 100
    against transparent's -0.17)."""
    registry = registry_for(engine)
    for v in range(1, n + 1):
        metrics = {"ranker/ndcg_at_10": 0.5 + v / 100, "transparent/ndcg_at_10": 0.5,
                   "ranker/skew_at_10/gender/max_abs": v / 100, "ranker/skew_at_10/gender/F": -v / 100,
                   "cv_all/ranker/skew_at_10/age_band/18-24": -0.2 - v / 100,
                   "cv_all/transparent/skew_at_10/age_band/18-24": -0.17}
        registry.log_run(RunRecord(name=f"tiny-{v}", params={"seed": v}, metrics=metrics,
                                   tags={"decision": "challenger"}, model=fitted(seed=v)))
    for v in promote:
        registry.promote(v, reason="promoted by the test fixture")
    return registry
