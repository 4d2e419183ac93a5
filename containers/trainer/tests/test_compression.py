"""Structured pruning (prune.py) and int8 quantisation (quantize.py) units."""

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from distillery_trainer import export, quantize
from distillery_trainer.config import ConfigError, parse_compression, parse_model_spec
from distillery_trainer.heads import ClassificationHead
from distillery_trainer.models import build_model, count_parameters, hashed_bag
from distillery_trainer.prune import prune_model

import onnx_numpy

HEAD = ClassificationHead()


def _model(members, dense_dim=3, classes=4, seed=0):
    torch.manual_seed(seed)
    spec = parse_model_spec({"members": members}, "s")
    model = build_model(spec, dense_dim, classes).eval()
    with torch.no_grad():  # wide members start at zero; give them something to carry
        for m in model.members:
            if m.type == "wide":
                m.table.normal_()
                m.bias.normal_()
                if m.dense_linear is not None:
                    m.dense_linear.weight.normal_()
    return spec, model


def _rows(n=64, dense_dim=3, tokens=7, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, dense_dim, generator=g),
            torch.randint(0, 1 << 20, (n, tokens), generator=g, dtype=torch.int32),
            torch.rand(n, tokens, generator=g))


def _feeds(rows):
    return {k: v.numpy() for k, v in zip(export.INPUT_NAMES, rows)}


@torch.no_grad()
def _torch_out(model, rows):
    logits, probs = export.ExportWrapper(model.eval(), HEAD)(*rows)
    return logits.numpy(), probs.numpy()


MEMBERS = [{"type": "wide", "buckets": 300},
           {"type": "deep", "buckets": 500, "dim": 8, "hidden": [16, 12], "dropout": 0.1}]


def test_pruning_shrinks_shapes_by_ratio_and_keeps_units():
    spec, model = _model(MEMBERS)
    rows = _rows()
    pruned, pspec, details = prune_model(model, spec, 0.25, rows=rows)
    wide, deep = pruned.members
    assert wide.table.shape == (300, 4)  # wide member untouched
    assert torch.equal(wide.table, model.members[0].table)
    assert deep.table.shape == (500, 6)
    lins = [l for l in deep.mlp if isinstance(l, torch.nn.Linear)]
    assert [tuple(l.weight.shape) for l in lins] == [(12, 6 + 3), (9, 12), (4, 9)]
    assert [m.hidden for m in pspec.members if m.type == "deep"] == [[12, 9]]
    assert count_parameters(pruned) < count_parameters(model)
    names = [n for n, _ in pruned.named_parameters()] + [n for n, _ in pruned.named_buffers()]
    assert not any(n.endswith("_orig") or n.endswith("_mask") for n in names)
    (d,) = details
    assert d["embeddingDims"]["kept"] == 6 and d["embeddingDims"]["removed"] == 2
    assert [(h["kept"], h["removed"]) for h in d["hiddenLayers"]] == [(12, 4), (9, 3)]
    # the bag's kept dims are the original ones
    kept = d["embeddingDims"]["keptIndices"]
    _, ids, w = rows
    assert torch.allclose(hashed_bag(deep.table, ids, w),
                          hashed_bag(model.members[1].table, ids, w)[:, kept], atol=1e-6)


def test_pruning_hidden_units_only_leaves_kept_activations_unchanged():
    spec, model = _model(MEMBERS[1:])
    rows = _rows()
    pruned, _, (d,) = prune_model(model, spec, 0.5, rows=rows, dim_ratio=0.0)
    assert d["embeddingDims"]["removed"] == 0
    acts = {}

    def grab(tag):
        def hook(mod, inp, out):
            acts.setdefault(tag, []).append(out)
        return hook

    for tag, m in (("orig", model), ("pruned", pruned)):
        relus = [x for x in m.members[0].mlp if isinstance(x, torch.nn.ReLU)]
        relus[0].register_forward_hook(grab(tag))
        with torch.no_grad():
            m(*rows)
    orig, new = acts["orig"][0], acts["pruned"][0]
    assert new.shape[1] == 8
    # every pruned-model unit of the first hidden layer equals one original unit, same order
    w_new = pruned.members[0].mlp[0].weight
    w_old = model.members[0].mlp[0].weight
    kept = [int((w_old == w_new[j]).all(1).nonzero()) for j in range(8)]
    assert kept == sorted(kept)
    assert torch.allclose(new, orig[:, kept], atol=1e-6)


def test_fp32_graph_builder_matches_pytorch():
    _, model = _model(MEMBERS)
    rows = _rows()
    proto = quantize.build_graph(model, HEAD, quantize=False)
    got = onnx_numpy.run(proto, _feeds(rows))
    logits, probs = _torch_out(model, rows)
    np.testing.assert_allclose(got["logits"], logits, atol=1e-5)
    np.testing.assert_allclose(got["probabilities"], probs, atol=1e-6)


@pytest.mark.parametrize("mode,scales", [("int8-weights", "row"), ("int8-weights", "column"),
                                         ("int8-static", "row")])
def test_int8_graph_realistic_table(tmp_path, mode, scales):
    members = [{"type": "deep", "buckets": 1 << 14, "dim": 32, "hidden": [64], "dropout": 0.0}]
    _, model = _model(members)
    rows = _rows(n=256)
    fp32_path = tmp_path / "student-pruned.onnx"
    export.export_onnx(model, HEAD, fp32_path, tuple(r[:8] for r in rows))
    ranges = quantize.calibrate(model, rows) if mode == "int8-static" else None
    proto = quantize.build_graph(model, HEAD, mode, ranges, table_scales=scales)
    int8_path = tmp_path / "student-int8.onnx"
    int8_path.write_bytes(proto.SerializeToString())
    proto = onnx.load(str(int8_path))
    onnx.checker.check_model(proto)
    ratio = fp32_path.stat().st_size / int8_path.stat().st_size
    assert ratio >= 3.5, ratio

    inits = {t.name: t for t in proto.graph.initializer}
    int8 = {n for n, t in inits.items() if t.data_type == TensorProto.INT8 and len(t.dims) == 2}
    assert any("table_int8" in n for n in int8)
    # int8-weights: only the tables (Linear layers stay float32 Gemm); int8-static: both Linears too
    assert sum("weight_int8" in n for n in int8) == (2 if mode == "int8-static" else 0)
    assert inits[next(n for n in int8 if "table_int8" in n)].dims == [1 << 14, 32]
    floats = [t for t in inits.values() if t.data_type in (TensorProto.FLOAT, TensorProto.FLOAT16)]
    assert all(np.prod(t.dims) <= 1 << 14 for t in floats)  # row scales only, no float table copy
    # the table is gathered while int8: nothing dequantizes it whole
    table = next(n for n in int8 if "table_int8" in n)
    (consumer,) = [n for n in proto.graph.node if table in n.input]
    assert consumer.op_type == "Gather"
    ops = [n.op_type for n in proto.graph.node]
    assert ("DequantizeLinear" in ops) == ("QuantizeLinear" in ops) == (mode == "int8-static")
    if mode == "int8-weights":  # few nodes: single-row latency is per-op overhead
        extra = {"row": 3, "column": 0}[scales]
        # Mod Gather Cast Unsqueeze MatMul Squeeze Concat Gemm Relu Gemm Softmax
        assert len(ops) == 11 + extra, ops
    assert "ReduceSum" not in ops and "Identity" not in ops

    test_rows = _rows(n=64, seed=5)
    got = onnx_numpy.run(proto, _feeds(test_rows))
    logits, probs = _torch_out(model, test_rows)
    np.testing.assert_allclose(got["probabilities"], probs, atol=0.02)
    assert np.abs(got["logits"] - logits).max() < 0.1
    # the int8-weights graph equals PyTorch with the dequantized table (independent check)
    if mode == "int8-weights":
        emu = build_model(parse_model_spec({"members": members}, "s"), 3, 4).eval()
        emu.load_state_dict(model.state_dict())
        with torch.no_grad():
            t = quantize.dequantized_table(model.members[0].table.numpy(), scales)
            emu.members[0].table.copy_(torch.from_numpy(t))
        np.testing.assert_allclose(got["logits"], _torch_out(emu, test_rows)[0], atol=1e-4)


def test_table_scales_auto_picks_column_only_when_harmless():
    members = [{"type": "deep", "buckets": 2048, "dim": 16, "hidden": [32], "dropout": 0.0}]
    _, model = _model(members)
    rows = _rows(n=128)
    assert quantize.choose_table_scales(model, HEAD, rows) == "column"
    with torch.no_grad():  # one huge row stretches every column's scale: column scales now hurt
        model.members[0].table[7].mul_(400.0)
    assert quantize.choose_table_scales(model, HEAD, rows) == "row"
    proto = quantize.build_graph(model, HEAD, table_scales="auto", rows=rows)
    assert any("table_row_scale" in t.name for t in proto.graph.initializer)


def test_int8_wide_and_deep_members_and_dense_free_inputs():
    _, model = _model(MEMBERS, dense_dim=0)
    rows = _rows(dense_dim=0)
    for mode, scales in (("int8-weights", "row"), ("int8-weights", "column"),
                         ("int8-static", "row")):
        proto = quantize.build_graph(model, HEAD, mode, quantize.calibrate(model, rows),
                                     table_scales=scales)
        got = onnx_numpy.run(proto, _feeds(rows))
        np.testing.assert_allclose(got["probabilities"], _torch_out(model, rows)[1], atol=0.02)
        assert got["logits"].shape == (64, 4)


def test_interpreter_quantize_dequantize_ops():
    x = np.array([[-1.0, 0.0, 0.26, 3.0]], np.float32)
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"]),
             helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"], axis=1),
             helper.make_node("Cast", ["wd"], ["h"], to=TensorProto.FLOAT16),
             helper.make_node("Cast", ["h"], ["o"], to=TensorProto.FLOAT)]
    inits = [numpy_helper.from_array(np.array(0.02, np.float32), "s"),
             numpy_helper.from_array(np.array(128, np.uint8), "z"),
             numpy_helper.from_array(np.array([[1, -2], [127, -127]], np.int8), "w"),
             numpy_helper.from_array(np.array([0.5, 0.25], np.float32), "ws"),
             numpy_helper.from_array(np.zeros(2, np.int8), "wz")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info(n, t, None) for n, t in
                           (("q", TensorProto.UINT8), ("y", TensorProto.FLOAT),
                            ("o", TensorProto.FLOAT))], initializer=inits)
    out = onnx_numpy.run(helper.make_model(g), {"x": x})
    np.testing.assert_array_equal(out["q"], [[78, 128, 141, 255]])  # 0.26/0.02=13 ; 3.0 saturates
    np.testing.assert_allclose(out["y"], [[-1.0, 0.0, 0.26, 2.54]], atol=1e-6)
    np.testing.assert_allclose(out["o"], [[0.5, -0.5], [63.5, -31.75]])


def test_compression_hyperparameter_parsing():
    c = parse_compression(None)
    assert (c.prune_ratio, c.fine_tune_epochs, c.quantization, c.calibration_rows) == (
        0.25, 3, "int8-weights", 2048)
    c = parse_compression('{"pruneRatio": "0.5", "fineTuneEpochs": "0", '
                          '"quantization": "int8-static", "calibrationRows": "100"}')
    assert (c.prune_ratio, c.fine_tune_epochs, c.quantization, c.calibration_rows) == (
        0.5, 0, "int8-static", 100)
    for raw, key in (('{"pruneRatio": 1}', "pruneRatio"), ('{"pruneRatio": -0.1}', "pruneRatio"),
                     ('{"fineTuneEpochs": -1}', "fineTuneEpochs"),
                     ('{"quantization": "int4"}', "quantization"),
                     ('{"calibrationRows": 0}', "calibrationRows"), ("[1]", "compression"),
                     ("{oops", "compression")):
        with pytest.raises(ConfigError, match=key):
            parse_compression(raw)
