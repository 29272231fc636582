"""Write data/titles/examples.tsv: the labelled job-board titles the occupation normaliser reads
as examples (a kNN vote), from the JobBERT evaluation dataset's titles.csv.

Only the dev split (:func:`sepadan.evaluation.datasets.title_split`: one normalised title in five,
by the first byte of its MD5) goes in; the test split stays held out for the benchmarks, and
tests/test_title_examples.py checks that no title of the file is a test-split title.

    .venv/bin/python experiments/make_title_examples.py /work/shared/data/jobbert-eval/titles.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sepadan.evaluation.datasets import load_jobbert, split_benchmark
from sepadan.features.taxonomy import default_data_dir
from sepadan.features.title_examples import EXAMPLES_FILE, HEADER, JOBBERT_DEV

NOTICE = (
    "# Labelled job-board titles (Malaysia's public job board), each with the ESCO v1.1.1 "
    "occupation it was labelled with.",
    "# Source: JobBERT evaluation dataset, titles.csv (jensjorisdecorte/JobBERT-evaluation-dataset "
    "@ 127d5e4c), MIT licence; cite Decorte et al. 2021, 'JobBERT: Understanding Job Titles "
    "through Skills'.",
    "# Only its dev split: sepadan.evaluation.datasets.title_split(title) == 'dev' (first byte of "
    "the MD5 of the normalised title mod 5 == 0); the test split is held out for the benchmarks.",
    "# Made by experiments/make_title_examples.py; do not edit by hand.",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("titles_csv", type=Path, help="jobbert-eval/titles.csv")
    parser.add_argument("--out", type=Path, default=default_data_dir() / "titles" / EXAMPLES_FILE)
    args = parser.parse_args()
    dev = split_benchmark(load_jobbert(args.titles_csv), "dev")
    lines = ["\t".join(HEADER), *NOTICE]
    for qid, title in dev.queries:
        for uri in sorted(dev.qrels[qid]):
            lines.append(f"{' '.join(title.split())}\t{uri}\t{JOBBERT_DEV}")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines) - 1 - len(NOTICE)} examples -> {args.out}")  # noqa: T201 (a script)


if __name__ == "__main__":
    main()
