"""Quality benchmarks: the same code as ``sepadan bench quality`` (and ``skills|titles|ranking``).

    python experiments/bench_quality.py --reference /path/to/reference-data
    python experiments/bench_quality.py skills --data tech_validation_annotations.csv

    python experiments/bench_quality.py make-ranking-set set/ --real-titles jobbert-eval/titles.csv
    python experiments/bench_quality.py ranking --workers set/workers.jsonl \
        --vacancies set/vacancies.jsonl --qrels set/qrels.tsv --agencies set/agencies.jsonl

With no sub-command it runs ``quality``; any other first argument is a ``sepadan bench`` command.
Results go to experiments/results/ and to MLflow (see experiments/README.md). Every result says
how many queries had an empty result; a run where more than 5% of the queries have no eligible
candidate (an overseas set ranked without its licence register, say) exits 1 with a message and
writes nothing, unless ``--allow-empty``.
"""

from __future__ import annotations

import sys

COMMANDS = {"quality", "skills", "titles", "ranking", "make-ranking-set"}


def main(argv: list[str]) -> None:
    from sepadan.cli.bench import run

    run(argv if argv and argv[0] in COMMANDS else ["quality", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
