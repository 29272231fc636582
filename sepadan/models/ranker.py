"""A learned ranker in scikit-learn's style: monotone, additive, fitted on pairs within a group.

:class:`MonotoneRanker` scores a pair as a weighted sum of its features, each first scaled to
[0, 1] in the direction the domain gives it (``directions``: +1, more is better; -1, less is
better), between the lowest and highest value seen in training (clipped outside). The weights are
fitted on pairs of candidates of one vacancy with different grades (logistic loss on the
difference, as RankNet and RankSVM do; each vacancy weighs the same in all; L2 penalty ``alpha``),
under the constraint that no weight is negative, then scaled to sum to 1. So:

- **monotone**: raising a +1 feature (or lowering a -1 feature) never lowers the score;
- **additive and exact**: ``contributions(X)`` gives each feature's part of the score, and the
  parts add up to ``predict(X)`` (no base value, no approximation);
- **bounded**: the score lies in [0, 1], like the transparent scorer's.

``anchor`` and ``anchor_weight`` blend the fitted weights with one feature's: the final weights are
``(1 - anchor_weight) * fitted + anchor_weight * e_anchor`` (``e_anchor`` all on the ``anchor``
column, e.g. ``transparent_score``). With the transparent score as anchor the learned part corrects
the list officers already work from instead of replacing it; the blend keeps every property above.

It is stored with skops (plain arrays, no pickle) and scores one pair in microseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

# What skops must trust to load a fitted ranker: this class and nothing else beyond numpy arrays.
TRUSTED_TYPES = ("sepadan.models.ranker.MonotoneRanker",)


class MonotoneRanker(BaseEstimator):
    """Pairwise ranker with non-negative weights on direction-scaled features.

    Parameters
    ----------
    directions : ``{feature name: +1 or -1}`` for every column it is fitted on (None: all +1).
    alpha : L2 penalty on the weights (before they are scaled to sum to 1).
    max_pairs_per_group : at most this many pairs per group, drawn at random (None: all).
    random_state : seed for drawing pairs when a group has more than ``max_pairs_per_group``.
    anchor : a column name whose unit weight is blended in (None: no blend).
    anchor_weight : the share of the final weights that goes to ``anchor`` (0: none, 1: all).
    """

    def __init__(self, *, directions: Mapping[str, int] | None = None, alpha: float = 1e-3,
                 max_pairs_per_group: int | None = 500, random_state: int | None = 0,
                 anchor: str | None = None, anchor_weight: float = 0.0) -> None:
        self.directions = directions
        self.alpha = alpha
        self.max_pairs_per_group = max_pairs_per_group
        self.random_state = random_state
        self.anchor = anchor
        self.anchor_weight = anchor_weight

    def fit(self, X, y, groups, sample_weight=None) -> MonotoneRanker:
        """Fit on rows ``X`` with grades ``y``; ``groups`` names the list (vacancy) of each row;
        ``sample_weight`` (optional) weighs each row's pairs (e.g. inverse propensities)."""
        X = validate_data(self, X, reset=True, dtype=np.float64, ensure_all_finite=True)
        y, groups = np.asarray(y, dtype=np.float64), np.asarray(groups)
        if len(y) != len(X) or len(groups) != len(X):
            raise ValueError("X, y and groups must have the same length")
        self.direction_ = self._direction_array(X.shape[1])
        self.low_, self.high_ = X.min(axis=0), X.max(axis=0)
        G = self._scaled(X)
        rows = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        diffs, weights = _pairs(G, y, groups, rows, self.max_pairs_per_group,
                                check_random_state(self.random_state))
        if len(diffs) == 0:
            raise ValueError("no group has two rows with different grades: nothing to learn from")
        self.coef_ = _fit_nonnegative(diffs, weights, self.alpha)
        total = self.coef_.sum()
        self.fitted_weights_ = self.coef_ / total if total > 0 else np.zeros_like(self.coef_)
        self.weights_ = self._blend(self.fitted_weights_, self.anchor_weight)
        self.n_pairs_ = int(len(diffs))
        return self

    def with_anchor_weight(self, anchor_weight: float) -> MonotoneRanker:
        """A copy with the fitted weights blended at another ``anchor_weight`` (no refit)."""
        from copy import deepcopy

        check_is_fitted(self, "fitted_weights_")
        out = deepcopy(self)
        out.anchor_weight = anchor_weight
        out.weights_ = out._blend(out.fitted_weights_, anchor_weight)
        return out

    def _blend(self, fitted: np.ndarray, share: float) -> np.ndarray:
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"anchor_weight must be in [0, 1], not {share}")
        if self.anchor is None or share == 0.0:
            return fitted
        names = [str(n) for n in getattr(self, "feature_names_in_", ())]
        if self.anchor not in names:
            raise ValueError(f"the anchor '{self.anchor}' is not among the columns fitted on")
        unit = np.array([1.0 if n == self.anchor else 0.0 for n in names])
        return (1.0 - share) * fitted + share * unit

    def _direction_array(self, n: int) -> np.ndarray:
        if self.directions is None:
            return np.ones(n)
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            raise ValueError("directions by name need X with column names (a DataFrame)")
        missing = [str(c) for c in names if str(c) not in self.directions]
        if missing:
            raise ValueError(f"no direction given for {missing}")
        bad = {k: v for k, v in self.directions.items() if v not in (1, -1)}
        if bad:
            raise ValueError(f"directions must be +1 or -1: {bad}")
        return np.array([float(self.directions[str(c)]) for c in names])

    def _scaled(self, X: np.ndarray) -> np.ndarray:
        """Each column on [0, 1], 1 the best end in its direction; a constant column is 0."""
        span = self.high_ - self.low_
        safe = np.where(span > 0, span, 1.0)
        G = np.clip((np.asarray(X, dtype=np.float64) - self.low_) / safe, 0.0, 1.0)
        G = np.where(self.direction_ > 0, G, 1.0 - G)
        return np.where(span > 0, G, 0.0)

    def contributions_array(self, X: np.ndarray) -> np.ndarray:
        """Each feature's part of the score for a plain array in ``feature_names_in_`` order (no
        checks: the serving path scores one row at a time); rows add up to the score."""
        return self._scaled(X) * self.weights_

    def contributions(self, X) -> np.ndarray:
        check_is_fitted(self, "weights_")
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite=True)
        return self.contributions_array(X)

    def predict_array(self, X: np.ndarray) -> np.ndarray:
        """The score for a plain array in ``feature_names_in_`` order, in [0, 1]."""
        return self.contributions_array(X).sum(axis=1)

    def predict(self, X) -> np.ndarray:
        """The score in [0, 1]: the sum of :meth:`contributions`."""
        return self.contributions(X).sum(axis=1)

    decision_function = predict
    decision_array = predict_array

    def importances(self) -> dict[str, float]:
        """The weight of each feature (non-negative, summing to 1), by name."""
        check_is_fitted(self, "weights_")
        names = getattr(self, "feature_names_in_", None)
        names = list(names) if names is not None else [f"x{i}" for i in range(len(self.weights_))]
        return {str(n): float(w) for n, w in zip(names, self.weights_)}


def _fit_nonnegative(diffs: np.ndarray, weights: np.ndarray, alpha: float) -> np.ndarray:
    """argmin over w >= 0 of the weighted mean of ``log(1 + exp(-diffs @ w))`` + ``alpha/2 |w|^2``."""
    share = weights / weights.sum()

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        margin = diffs @ w
        value = float(share @ np.logaddexp(0.0, -margin)) + 0.5 * alpha * float(w @ w)
        grad = -(share * _sigmoid(-margin)) @ diffs + alpha * w
        return value, grad

    start = np.full(diffs.shape[1], 0.1)
    found = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * diffs.shape[1],
                     options={"maxiter": 2000})
    return np.maximum(found.x, 0.0)


def _pairs(G: np.ndarray, y: np.ndarray, groups: np.ndarray, rows: np.ndarray, cap: int | None,
           rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """Differences ``g_better - g_worse`` for pairs with different grades in one group, weighted by
    the grade gap times the better row's weight, scaled so that each group's pairs weigh 1 in all."""
    diffs, weights = [], []
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.r_[True, groups[order][1:] != groups[order][:-1], True])
    for start, stop in zip(bounds[:-1], bounds[1:]):
        members = order[start:stop]
        a, b = np.triu_indices(len(members), k=1)
        a, b = members[a], members[b]
        keep = y[a] != y[b]
        a, b = a[keep], b[keep]
        if cap is not None and len(a) > cap:
            pick = rng.choice(len(a), size=cap, replace=False)
            a, b = a[pick], b[pick]
        if len(a) == 0:
            continue
        better, worse = np.where(y[a] > y[b], a, b), np.where(y[a] > y[b], b, a)
        gap = np.abs(y[a] - y[b]) * rows[better]
        if gap.sum() <= 0:
            continue
        diffs.append(G[better] - G[worse])
        weights.append(gap / gap.sum())
    if not diffs:
        return np.zeros((0, G.shape[1])), np.zeros(0)
    return np.vstack(diffs), np.concatenate(weights)


def _sigmoid(u: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(u, -50, 50)))


def feature_names(model: MonotoneRanker) -> tuple[str, ...]:
    names: Sequence[str] | None = getattr(model, "feature_names_in_", None)
    if names is None:
        raise ValueError("the ranker was fitted without feature names")
    return tuple(str(n) for n in names)
