"""Speed benchmark, the same code as ``sepadan bench speed``.

    python experiments/bench_speed.py --sizes 10000,100000,1000000

Results go to experiments/results/speed.* and to MLflow (see experiments/README.md). The timed
shortlists and recommendations that return nothing are counted in the result; more than 5% empty
shortlists exit 1 with a message (nothing written) unless ``--allow-empty``.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> None:
    from sepadan.cli.bench import run

    run(["speed", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
