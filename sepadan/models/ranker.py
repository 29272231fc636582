"""A learned ranker in scikit-learn's style: a linear model fitted on pairs within a group.

:class:`PairwiseRanker` learns a utility ``u(x) = w . (x - mean) / scale`` from graded labels: for
every two candidates of one vacancy with different grades, the one with the higher grade should
have the higher utility (logistic loss on the difference, as RankNet and RankSVM do). Pairs are
weighted by their grade difference, and each vacancy gets the same total weight, so a vacancy with
many candidates does not drown the others. ``predict`` returns ``sigmoid(u)``: the chance that
this candidate is preferred to a candidate with the training mean on every feature, in (0, 1).

A linear model is deliberate: its weights are readable (``coef_`` on standardised features), it
scores one pair in microseconds, and it is stored with skops (plain arrays, no pickle).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

# What skops must trust to load a fitted ranker: this class and nothing else beyond numpy arrays.
TRUSTED_TYPES = ("sepadan.models.ranker.PairwiseRanker",)


class PairwiseRanker(BaseEstimator):
    """Linear pairwise ranker.

    Parameters
    ----------
    C : inverse L2 regularisation strength of the logistic regression on pair differences.
    max_pairs_per_group : at most this many pairs per group, drawn at random (None: all).
    random_state : seed for drawing pairs when a group has more than ``max_pairs_per_group``.
    """

    def __init__(self, *, C: float = 0.1, max_pairs_per_group: int | None = 500,
                 random_state: int | None = 0) -> None:
        self.C = C
        self.max_pairs_per_group = max_pairs_per_group
        self.random_state = random_state

    def fit(self, X, y, groups) -> PairwiseRanker:
        """Fit on rows ``X`` with grades ``y``; ``groups`` names the list (vacancy) of each row."""
        X = validate_data(self, X, reset=True, dtype=np.float64, ensure_all_finite=True)
        y, groups = np.asarray(y, dtype=np.float64), np.asarray(groups)
        if len(y) != len(X) or len(groups) != len(X):
            raise ValueError("X, y and groups must have the same length")
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        diffs, signs, weights = _pairs((X - self.mean_) / self.scale_, y, groups,
                                       self.max_pairs_per_group, check_random_state(self.random_state))
        if len(diffs) == 0:
            raise ValueError("no group has two rows with different grades: nothing to learn from")
        model = LogisticRegression(C=self.C, fit_intercept=False, max_iter=1000)
        model.fit(np.vstack([diffs, -diffs]), np.concatenate([signs, 1 - signs]),
                  sample_weight=np.concatenate([weights, weights]))
        self.coef_ = model.coef_[0].copy()
        self.n_pairs_ = int(len(diffs))
        return self

    def decision_function(self, X) -> np.ndarray:
        """The utility of each row (any real number; higher ranks first)."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite=True)
        return self.decision_array(X)

    def decision_array(self, X: np.ndarray) -> np.ndarray:
        """Utilities for a plain array whose columns are in ``feature_names_in_`` order (no checks:
        the serving path scores one row at a time)."""
        return ((np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_) @ self.coef_

    def predict_array(self, X: np.ndarray) -> np.ndarray:
        """``predict`` for a plain array in ``feature_names_in_`` order (no checks, as ``decision_array``)."""
        return _sigmoid(self.decision_array(X))

    def predict(self, X) -> np.ndarray:
        """``sigmoid(utility)`` in (0, 1): the order of ``decision_function``, on a readable scale."""
        return _sigmoid(self.decision_function(X))

    def importances(self) -> dict[str, float]:
        """Weight of each feature on standardised inputs (signed), by name."""
        check_is_fitted(self, "coef_")
        names = getattr(self, "feature_names_in_", None)
        names = list(names) if names is not None else [f"x{i}" for i in range(len(self.coef_))]
        return {str(n): float(c) for n, c in zip(names, self.coef_)}


def _pairs(X: np.ndarray, y: np.ndarray, groups: np.ndarray, cap: int | None,
           rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Differences ``x_a - x_b`` for pairs with ``y_a != y_b`` in one group, label ``y_a > y_b``,
    weight ``|y_a - y_b|`` scaled so that each group's pairs weigh 1 in all."""
    diffs, signs, weights = [], [], []
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.r_[True, groups[order][1:] != groups[order][:-1], True])
    for start, stop in zip(bounds[:-1], bounds[1:]):
        rows = order[start:stop]
        a, b = np.triu_indices(len(rows), k=1)
        a, b = rows[a], rows[b]
        keep = y[a] != y[b]
        a, b = a[keep], b[keep]
        if cap is not None and len(a) > cap:
            pick = rng.choice(len(a), size=cap, replace=False)
            a, b = a[pick], b[pick]
        if len(a) == 0:
            continue
        gap = np.abs(y[a] - y[b])
        diffs.append(X[a] - X[b])
        signs.append((y[a] > y[b]).astype(np.int64))
        weights.append(gap / gap.sum())
    if not diffs:
        return np.zeros((0, X.shape[1])), np.zeros(0, dtype=np.int64), np.zeros(0)
    weights_all = np.concatenate(weights)
    return np.vstack(diffs), np.concatenate(signs), weights_all * len(weights_all) / weights_all.sum()


def _sigmoid(u: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(u, -50, 50)))


def feature_names(model: PairwiseRanker) -> tuple[str, ...]:
    names: Sequence[str] | None = getattr(model, "feature_names_in_", None)
    if names is None:
        raise ValueError("the ranker was fitted without feature names")
    return tuple(str(n) for n in names)
