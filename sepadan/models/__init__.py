"""Learned rankers (scikit-learn, tracked in MLflow) plug in here.

A ranker serves through the same seam as the transparent scorer: any object with a ``version``
and ``score(pair, ctx)`` (:class:`sepadan.matching.matcher.Scorer`) can be handed to the Matcher.
"""
