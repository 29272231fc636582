"""Train a learned ranker on the stored outcomes: the same code as ``sepadan train``.

    python experiments/train_ranker.py --home .sepadan            # train, compare, register
    python experiments/train_ranker.py --home .sepadan --no-promote --c 1.0
    python experiments/train_ranker.py models list --home .sepadan

With no sub-command it runs ``train``; ``models list|promote|rollback`` work too. Runs go to MLflow
(experiment ``sepadan-ranker``, registered model ``sepadan-ranker``) at ``$MLFLOW_TRACKING_URI``,
else ``sqlite:///HOME/mlflow.db`` with artifacts in ``HOME/mlartifacts``.

The demo outcomes are synthetic (see ``sepadan/demo_data.py``): figures trained on them say how well
the ranker recovers the generator's rule, nothing about real placements.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> None:
    from sepadan import cli
    from sepadan.cli.models import register

    if not any(c.name == "train" for c in cli.app.registered_commands):
        register(cli.app)
    args = argv if argv and argv[0] in ("train", "models") else ["train", *argv]
    sys.argv = ["sepadan", *args]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
