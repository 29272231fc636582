"""New phrases, encoded once: the stage before the build.

The phrases a build would send to the model (skill phrases no lexicon entry or ESCO label matches, in
their English gloss; the labels of the concepts they match; training and job titles) that the phrase
cache lacks are listed once per run (kept in the run folder, so a resumed run has the same
partitions), encoded by the runner's encoder workers, and put in the engine's phrase cache (the store):
the build that follows finds them there. What the build still encodes itself is counted in the manifest.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from sepadan.batch.plan import partitions
from sepadan.batch.stages import EncodeStage, ModelSpec
from sepadan.features.text import normalise_text, split_phrases
from sepadan.ingest.importer import load_records

log = logging.getLogger(__name__)
_ISCO = re.compile(r"^\d{4}$")  # an ISCO-08 unit group code, as the occupation normaliser reads it


def candidate_phrases(engine: Any) -> list[str]:
    """Every phrase the build will embed or look up, distinct, in a stable order."""
    workers, vacancies = load_records(engine.store, "workers"), load_records(engine.store, "vacancies")
    trainings = load_records(engine.store, "trainings")
    lexicon, taxonomy = engine.lexicon, engine.taxonomy
    texts = [s for w in workers for s in w.skills] + [s for w in workers for t in w.trainings for s in t.skills]
    texts += [s for v in vacancies for s in (*v.skills_required, *v.skills_preferred)]
    out: dict[str, None] = {}
    for text in texts:
        for phrase in split_phrases(text):
            p = normalise_text(phrase)
            if not p:
                continue
            uris = lexicon.skills_for(p) or taxonomy.skills_by_label(p)
            if uris:
                out.update((taxonomy.skill_label(u), None) for u in uris[:3])
            else:
                out[lexicon.translate(p)] = None
    titles = [t.title for w in workers for t in w.trainings] + [v.title for v in vacancies]
    titles += [t.title for t in trainings]
    out.update((lexicon.translate(t), None) for t in titles if t)
    jobs = [(e.occupation, None) for w in workers for e in w.experience] + [(v.title, v.occupation) for v in vacancies]
    for text, code in dict.fromkeys(jobs):
        out.update((p, None) for p in occupation_phrases(engine, text, code))
    return [t for t in out if t]


def occupation_phrases(engine: Any, text: str, code: str | None) -> list[str]:
    """The label a job title is matched to by code, the lexicon, KBJI or an ESCO label (the
    normaliser's lookups, in its order); for a title matched by meaning, the gloss it is looked up
    by (the label it lands on is known only after the search: the build encodes that one)."""
    taxonomy, lexicon = engine.taxonomy, engine.lexicon
    if code and _ISCO.match(code.strip()):
        return [taxonomy.isco_labels.get(code.strip(), text)]
    if code and code.strip() in taxonomy.occupations:
        return [taxonomy.occupations[code.strip()].label]
    key = normalise_text(text)
    if lexicon.isco_for_title(key):
        return [lexicon.english_title(key) or text]
    kbji = taxonomy.kbji_by_title(key)
    if kbji:
        return [kbji[0].title]
    uris = taxonomy.occupations_by_label(key)
    if uris:
        return [taxonomy.occupations[uris[0]].label]
    return [lexicon.translate(key), text] if key else []


def encode_stage(engine: Any, job: Any, options: Any) -> dict[str, Any]:
    """Encode the run's new phrases through the runner and cache them; what happened, for the manifest."""
    cache = engine.encoder.cache
    if cache is None:
        log.info("no phrase cache in the store (an in-memory encoder): the build encodes new phrases")
        return {"phrases": 0, "note": "in-memory phrase cache: encoded by the build"}
    saved = job.run.read_json("phrases.json")
    if saved is None:
        candidates = candidate_phrases(engine)
        known = cache.cached_vectors(engine.encoder.name, candidates)
        saved = {"model": engine.encoder.name, "candidates": len(candidates),
                 "new": [t for t in candidates if t not in known]}
        job.run.write_json("phrases.json", saved)
    new = tuple(saved["new"])
    stage = EncodeStage(job.runner.share(new), _model(engine, job.runner))
    done = job.stage(stage, partitions("encode", len(new), options.phrases_per_partition, prefix="p"))
    for d in done:
        cache.cache_vectors(engine.encoder.name, _vectors(job.run.path / d.file))
    return {"candidates": saved["candidates"], "phrases": len(new)}


def _model(engine: Any, runner: Any) -> Any:
    """What the encoder workers use: in this process, the engine's own model; elsewhere, where to
    load the same checked weights (never the loaded model itself)."""
    from sepadan.features.encoder import DEFAULT_MODEL_SHA256, SentenceEncoder, default_model_path
    from sepadan.features.lazy_model import LazyEncoder

    raw = engine.encoder.encoder
    if runner.name == "local":
        return raw
    if isinstance(raw, SentenceEncoder):
        return ModelSpec(str(raw.path), raw.sha256)
    if isinstance(raw, LazyEncoder):  # the settings' model, not loaded here unless it must be
        s = engine.settings
        return ModelSpec(str(s.model_path or default_model_path()),
                         s.model_sha256 or (DEFAULT_MODEL_SHA256 if s.model_path is None else None),
                         s.encoder, str(s.home / "models"))
    return raw  # an encoder a caller gave (it must pickle)


def _vectors(path: Any) -> dict[str, Any]:
    import numpy as np
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    texts = t.column("text").to_pylist()
    flat = t.column("vector").combine_chunks()
    dim = flat.type.list_size
    vectors = np.asarray(flat.values.to_numpy(zero_copy_only=False), dtype=np.float32).reshape(-1, dim)
    return dict(zip(texts, vectors))

