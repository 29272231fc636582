"""Quality benchmarks: the same code as ``sepadan bench quality`` (and ``skills|titles|ranking``).

    python experiments/bench_quality.py --reference /path/to/reference-data
    python experiments/bench_quality.py skills --data tech_validation_annotations.csv

With no sub-command it runs ``quality``; any other first argument is a ``sepadan bench`` command.
Results go to experiments/results/ and to MLflow (see experiments/README.md).
"""

from __future__ import annotations

import sys

COMMANDS = {"quality", "skills", "titles", "ranking", "make-ranking-set"}


def main(argv: list[str]) -> None:
    from sepadan.cli.bench import run

    run(argv if argv and argv[0] in COMMANDS else ["quality", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
