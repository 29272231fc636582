"""Loaders for the outside ground truth, relevance judgements (qrels) and TREC run files.

Each loader returns a :class:`Benchmark`: queries (id, text) and judgements
``{query: {doc: grade}}``.
Query ids are stable positions in the source file, so a run written today can be compared with one
written next year:

- TechWolf skill extraction (``sentence,span,sub_span,label``): the 0-based index of the distinct
  sentence in order of first appearance; documents are ESCO skill preferred labels. The labels
  ``LABEL NOT PRESENT`` and ``UNDERSPECIFIED`` are not skills; a sentence with only those has no
  judgement and is not a query.
- JobBERT titles (``,vacancyTitle,conceptUri``): the title's 0-based data row; documents are ESCO
  occupation URIs.
- KBJI 2014 titles: the 6-digit title's 0-based data row in the file; relevant documents are the
  ESCO occupations of the same ISCO-08 unit group (KBJI 4-digit codes equal ISCO-08). Titles of a
  unit group without ESCO occupations (armed forces) are not queries.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from sepadan.features.taxonomy import Taxonomy, default_data_dir
from sepadan.features.text import normalise_text

NOT_SKILLS = frozenset({"LABEL NOT PRESENT", "UNDERSPECIFIED"})
Qrels = dict[str, dict[str, int]]
Run = Mapping[str, Sequence[tuple[str, float]]]


@dataclass(frozen=True, slots=True)
class Benchmark:
    """Queries and their judgements; ``notes`` says what was left out and why."""

    name: str
    queries: tuple[tuple[str, str], ...]
    qrels: Qrels
    notes: tuple[str, ...] = field(default=())

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.queries]

    @property
    def ids(self) -> list[str]:
        return [qid for qid, _ in self.queries]

    def sample(self, n: int | None, *, seed: int) -> Benchmark:
        """At most ``n`` queries drawn with a fixed seed (ids unchanged, file order kept)."""
        if n is None or n >= len(self.queries):
            return self
        keep = sorted(random.Random(seed).sample(range(len(self.queries)), n))
        queries = tuple(self.queries[i] for i in keep)
        note = f"sampled {n} of {len(self.queries)} queries with seed {seed}"
        return replace(
            self,
            queries=queries,
            qrels={q: self.qrels[q] for q, _ in queries},
            notes=(*self.notes, note),
        )


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def load_techwolf(path: Path, *, name: str | None = None) -> Benchmark:
    """A file in the TechWolf annotation format; each distinct sentence is one query."""
    order: dict[str, str] = {}
    labels: dict[str, set[str]] = {}
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        missing = {"sentence", "label"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(
                f"{path}: not in the TechWolf format (no column {', '.join(sorted(missing))})"
            )
        for row in reader:
            qid = order.setdefault(row["sentence"], str(len(order)))
            label = (row["label"] or "").strip()
            if label and label not in NOT_SKILLS:
                labels.setdefault(qid, set()).add(label)
    queries = tuple((qid, text) for text, qid in order.items() if qid in labels)
    qrels = {qid: {label: 1 for label in sorted(labels[qid])} for qid, _ in queries}
    notes = (f"{len(order)} distinct sentences, {len(queries)} with at least one ESCO label",)
    return Benchmark(name or path.name.split(".")[0], queries, qrels, notes)


def load_jobbert(path: Path, *, name: str | None = None) -> Benchmark:
    """A file in the JobBERT format (a row index column, ``vacancyTitle``, ``conceptUri``)."""
    queries, qrels = [], {}
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        fields = set(reader.fieldnames or ())
        title = "vacancyTitle" if "vacancyTitle" in fields else "title"
        if title not in fields or "conceptUri" not in fields:
            raise ValueError(
                f"{path}: not in the JobBERT format (columns vacancyTitle, conceptUri)"
            )
        for row_number, row in enumerate(reader):
            qid = str(row_number)
            queries.append((qid, row[title]))
            qrels[qid] = {row["conceptUri"].strip(): 1}
    return Benchmark(name or path.name.split(".")[0], tuple(queries), qrels)


DEV_SHARE = 5  # one title in five is in the dev split


def title_split(text: str) -> str:
    """``dev`` or ``test``: a fixed split by the hash of the normalised title, so the same wording
    is always on one side. Tuning (word lists, weights) looks at ``dev`` only; figures are
    reported on ``test``."""
    digest = hashlib.md5(normalise_text(text).encode("utf-8")).digest()
    return "dev" if digest[0] % DEV_SHARE == 0 else "test"


def split_benchmark(bench: Benchmark, split: str) -> Benchmark:
    """The queries of one split (``dev``, ``test``); ``all`` keeps every query."""
    if split == "all":
        return bench
    if split not in ("dev", "test"):
        raise ValueError(f"split {split!r}: expected dev, test or all")
    queries = tuple((q, t) for q, t in bench.queries if title_split(t) == split)
    note = f"{split} split: {len(queries)} of {len(bench.queries)} titles (datasets.title_split)"
    return replace(bench, name=f"{bench.name}-{split}", queries=queries,
                   qrels={q: bench.qrels[q] for q, _ in queries}, notes=(*bench.notes, note))


def load_talentclef(
    folder: Path, *, name: str | None = None
) -> tuple[Benchmark, list[tuple[str, str]]]:
    """TalentCLEF 2025 task A (one language's folder): job-title queries (``queries``:
    ``q_id, jobtitle``), the corpus of job titles (``corpus_elements``: ``c_id, jobtitle``) and
    the judgements (``qrels.tsv``: ``q_id 0 c_id grade``). Returns the benchmark and the corpus."""
    def rows(path: Path, key: str) -> list[tuple[str, str]]:
        if not path.is_file():
            raise ValueError(f"{folder}: not a TalentCLEF task A folder (no {path.name})")
        with _open_text(path) as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            if {key, "jobtitle"} - set(reader.fieldnames or ()):
                raise ValueError(f"{path}: expected the columns {key}, jobtitle")
            return [(r[key].strip(), r["jobtitle"].strip()) for r in reader]

    queries = rows(folder / "queries", "q_id")
    corpus = rows(folder / "corpus_elements", "c_id")
    qrels: Qrels = {}
    with _open_text(folder / "qrels.tsv") as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 4 or not _is_int(parts[3]):
                raise ValueError(
                    f"{folder / 'qrels.tsv'}: line {number}: expected 'q_id 0 c_id grade'"
                )
            if int(parts[3]) > 0:
                qrels.setdefault(parts[0], {})[parts[2]] = int(parts[3])
    judged = tuple((q, t) for q, t in queries if q in qrels)
    notes = (f"{len(judged)} of {len(queries)} queries judged; corpus of {len(corpus)} job titles",)
    bench = Benchmark(name or f"talentclef-a-{folder.name}", judged,
                      {q: qrels[q] for q, _ in judged}, notes)
    return bench, corpus


def load_real_titles(path: Path, *, split: str = "test") -> dict[str, list[str]]:
    """``{ESCO occupation URI: [job-board titles]}`` from a JobBERT-format file, one split's
    titles (``test`` by default: the dev split is where the title reader was tuned)."""
    bench = split_benchmark(load_jobbert(path), split)
    out: dict[str, list[str]] = {}
    for qid, text in bench.queries:
        if text.strip():
            for uri in bench.qrels[qid]:
                out.setdefault(uri, []).append(text.strip())
    return out


def default_kbji_path() -> Path:
    return default_data_dir() / "kbji" / "kbji2014.tsv.gz"


def read_kbji(path: Path) -> list[tuple[int, str, str]]:
    """``(row, code, title)`` of the 6-digit KBJI titles, from the compact TSV in ``data/kbji``
    (``code, level_digits, title, isco``) or the original CSV (``digit, kode, judul, deskripsi``).
    """
    with _open_text(path) as handle:
        sample = handle.readline()
        handle.seek(0)
        reader = csv.DictReader(handle, delimiter="\t" if "\t" in sample else ",")
        fields = set(reader.fieldnames or ())
        if {"code", "level_digits", "title"} <= fields:
            cols = ("code", "level_digits", "title")
        elif {"kode", "digit", "judul"} <= fields:
            cols = ("kode", "digit", "judul")
        else:
            raise ValueError(
                f"{path}: not a KBJI 2014 file (code/level_digits/title or kode/digit/judul)"
            )
        return [
            (row_number, row[cols[0]].strip(), row[cols[2]].strip())
            for row_number, row in enumerate(reader)
            if row[cols[1]].strip() == "6"
        ]


def load_kbji_titles(path: Path, taxonomy: Taxonomy, *, name: str = "kbji2014") -> Benchmark:
    """Indonesian 6-digit KBJI titles; relevant: ESCO occupations of the same ISCO-08 unit group."""
    by_group: dict[str, list[str]] = {}
    for occ in taxonomy.occupations.values():
        by_group.setdefault(occ.isco, []).append(occ.uri)
    queries, qrels, skipped = [], {}, 0
    for row, code, title in read_kbji(path):
        uris = by_group.get(code[:4])
        if not uris:
            skipped += 1
            continue
        queries.append((str(row), title))
        qrels[str(row)] = {uri: 1 for uri in sorted(uris)}
    notes = (
        f"{len(queries)} six-digit titles; {skipped} left out (their ISCO-08 unit group has no "
        f"ESCO occupation: armed forces)",
    )
    return Benchmark(name, tuple(queries), qrels, notes)


def load_qrels(path: Path) -> Qrels:
    """Graded judgements, tab-separated ``query_id doc_id grade`` (a header row is allowed).

    For the ranking benchmark the query is the vacancy id and the document the worker id.
    """
    qrels: Qrels = {}
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.rstrip("\r\n").split("\t")
            if not line.strip() or (number == 1 and not _is_int(parts[-1])):
                continue
            if len(parts) != 3 or not _is_int(parts[2]):
                raise ValueError(f"{path}: line {number}: expected 'query_id<TAB>doc_id<TAB>grade'")
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def write_qrels(
    path: Path,
    qrels: Mapping[str, Mapping[str, int]],
    *,
    header: tuple[str, str, str] = ("vacancy_id", "worker_id", "grade"),
) -> Path:
    lines = ["\t".join(header)]
    lines += [f"{q}\t{d}\t{g}" for q, docs in qrels.items() for d, g in docs.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _is_int(text: str) -> bool:
    return text.strip().lstrip("-").isdigit()


def trec_lines(run: Run, *, tag: str = "sepadan", depth: int = 100) -> Iterable[str]:
    """TREC run lines ``query Q0 doc rank score tag`` (tab-separated), ``depth`` per query."""
    for qid, ranked in run.items():
        for rank, (doc, score) in enumerate(ranked[:depth], start=1):
            if "\t" in doc or "\n" in doc:
                raise ValueError(f"document id {doc!r} holds a tab or a newline")
            yield f"{qid}\tQ0\t{doc}\t{rank}\t{score:.6f}\t{tag}"


def write_trec_run(path: Path, run: Run, *, tag: str = "sepadan", depth: int = 100) -> Path:
    """Write a TREC run file: one line per (query, document), best first, ranks from 1."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for line in trec_lines(run, tag=tag, depth=depth):
            handle.write(line + "\n")
    return path


def read_trec_run(path: Path) -> dict[str, list[tuple[str, float]]]:
    run: dict[str, list[tuple[str, float]]] = {}
    with _open_text(path) as handle:
        for line in handle:
            qid, _, doc, _, score, _ = line.rstrip("\n").split("\t")
            run.setdefault(qid, []).append((doc, float(score)))
    return run
