"""Skill gaps and training planning: which requirements keep workers out of open job orders, and
which courses, within their seats and a budget, would fill the most positions.

- :func:`worker_gaps`: one worker's near misses, gaps ranked by the positions they open, courses.
- :func:`plan_region`: demand against supply for a region and a period, and the training plan.
- :func:`market` binds an :class:`~sepadan.engine.Engine`; :mod:`.report` writes tables and charts.
"""

from sepadan.planning.demand import Market, RegionPlan, Scope, market, plan_region
from sepadan.planning.gaps import WorkerGaps, worker_gaps
from sepadan.planning.optimise import Plan, PlanProblem, solve

__all__ = ["Market", "Plan", "PlanProblem", "RegionPlan", "Scope", "WorkerGaps", "market", "plan_region", "solve",
           "worker_gaps"]
