"""int8 ONNX graph of an EnsembleModel, written op by op with onnx.helper (opset 13).

Same contract as export.py (inputs dense/ids/weights, outputs logits/probabilities, dynamic batch
and token axes). Per member:

  idx   = Mod(Cast(ids, int64), B)
  bag   = ReduceSum(Cast(Gather(Tq, idx), float) * Unsqueeze(weights * Cast(Gather(s, idx), float), 2), axis 1)
          Tq int8 [B, dim] (symmetric, zero point 0), s float16 [B] per-row scale: the int8 table is
          gathered row by row, never dequantized as a whole.
  deep  : x = Concat(bag, dense); per Linear  x = MatMul(x', DequantizeLinear(Wq, w_scale, 0, axis=1)) + b
          Wq int8 [in, out] with per-output-channel symmetric scales (float32).
          mode int8-static: x' = DequantizeLinear(QuantizeLinear(x, a_scale, a_zp)) with uint8
          activation ranges calibrated on training rows (onnxruntime fuses this QDQ pattern into
          an integer MatMul); mode int8-weights: x' = x.
  wide  : bag + b (+ MatMul(dense, DequantizeLinear(Wq)))
logits = mean of members; probabilities = head activation (Softmax for classification).

`quantize=False` writes the same graph with float32 tables/weights (used by the tests to check the
builder itself against PyTorch).
"""

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

from .export import INPUT_NAMES, OPSET, verify_graph

QUANT_OPS = {"DequantizeLinear", "QuantizeLinear"}
FP16_TINY = np.float16(6e-8)  # smallest positive float16 (subnormal)


def quantize_rows(table: np.ndarray):
    """Symmetric int8 per row: table ~= q * scale[:, None]; scale stored as float16."""
    table = np.asarray(table, dtype=np.float32)
    maxabs = np.abs(table).max(axis=1) if table.shape[1] else np.zeros(table.shape[0], np.float32)
    scale = (maxabs / 127.0).astype(np.float16)
    scale = np.where(maxabs == 0, np.float16(1.0), np.maximum(scale, FP16_TINY)).astype(np.float16)
    q = np.clip(np.rint(table / scale.astype(np.float32)[:, None]), -127, 127).astype(np.int8)
    return q, scale


def quantize_columns(w: np.ndarray):
    """Symmetric int8 per column (output channel of a [in, out] weight); float32 scales."""
    w = np.asarray(w, dtype=np.float32)
    maxabs = np.abs(w).max(axis=0) if w.shape[0] else np.zeros(w.shape[1], np.float32)
    scale = np.where(maxabs == 0, 1.0, maxabs / 127.0).astype(np.float32)
    q = np.clip(np.rint(w / scale[None, :]), -127, 127).astype(np.int8)
    return q, scale


def activation_qparams(lo: float, hi: float):
    """Asymmetric uint8 range covering [min(lo,0), max(hi,0)] (zero exactly representable)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zp = int(np.clip(round(-lo / scale), 0, 255))
    return np.float32(scale), np.uint8(zp)


@torch.no_grad()
def calibrate(model, rows, batch: int = 4096):
    """{(member, linear index): (min, max)} of every Linear's input (deep and wide) over `rows`."""
    model = model.eval()
    ranges = {}
    hooks = []
    for k, m in enumerate(model.members):
        lins = [l for l in (m.mlp or []) if isinstance(l, nn.Linear)]
        if m.dense_linear is not None:
            lins = [m.dense_linear]
        for i, lin in enumerate(lins):
            def hook(mod, inp, out, key=(k, i)):
                x = inp[0]
                lo, hi = float(x.min()) if x.numel() else 0.0, float(x.max()) if x.numel() else 0.0
                old = ranges.get(key)
                ranges[key] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))
            hooks.append(lin.register_forward_hook(hook))
    try:
        dense, ids, weights = rows
        for s in range(0, ids.shape[0], batch):
            model(dense[s:s + batch], ids[s:s + batch], weights[s:s + batch])
    finally:
        for h in hooks:
            h.remove()
    return ranges


class _Builder:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def init(self, base, array):
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, base=None, **attrs):
        out = self.name(base or op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out


def _matmul(b, x, w, bias, mode, quantize, act_range, prefix):
    """x @ w.T + bias for a torch Linear weight `w` [out, in]."""
    wt = w.T.astype(np.float32)  # [in, out]
    if quantize:
        q, scale = quantize_columns(wt)
        wq = b.init(f"{prefix}.weight_int8", q)
        ws = b.init(f"{prefix}.weight_scale", scale)
        wz = b.init(f"{prefix}.weight_zero_point", np.zeros(scale.shape, np.int8))
        wf = b.op("DequantizeLinear", [wq, ws, wz], f"{prefix}.weight_dq", axis=1)
        if mode == "int8-static":
            a_scale, a_zp = activation_qparams(*act_range)
            s = b.init(f"{prefix}.input_scale", a_scale)
            z = b.init(f"{prefix}.input_zero_point", a_zp)
            xq = b.op("QuantizeLinear", [x, s, z], f"{prefix}.input_q")
            x = b.op("DequantizeLinear", [xq, s, z], f"{prefix}.input_dq")
    else:
        wf = b.init(f"{prefix}.weight_t", wt)
    y = b.op("MatMul", [x, wf], f"{prefix}.matmul")
    if bias is not None:
        y = b.op("Add", [y, b.init(f"{prefix}.bias", bias.astype(np.float32))], f"{prefix}.out")
    return y


def _bag(b, table, idx64, weights, quantize, prefix):
    buckets = b.init(f"{prefix}.buckets", np.array(table.shape[0], np.int64))
    idx = b.op("Mod", [idx64, buckets], f"{prefix}.idx", fmod=0)
    if quantize:
        q, scale = quantize_rows(table)
        rows = b.op("Gather", [b.init(f"{prefix}.table_int8", q), idx], f"{prefix}.rows_int8",
                    axis=0)
        rows = b.op("Cast", [rows], f"{prefix}.rows", to=TensorProto.FLOAT)
        rs = b.op("Gather", [b.init(f"{prefix}.table_row_scale", scale), idx],
                  f"{prefix}.row_scale_f16", axis=0)
        rs = b.op("Cast", [rs], f"{prefix}.row_scale", to=TensorProto.FLOAT)
        w = b.op("Mul", [weights, rs], f"{prefix}.scaled_weights")
    else:
        rows = b.op("Gather", [b.init(f"{prefix}.table", table.astype(np.float32)), idx],
                    f"{prefix}.rows", axis=0)
        w = weights
    axis2 = b.init(f"{prefix}.axis2", np.array([2], np.int64))
    w = b.op("Unsqueeze", [w, axis2], f"{prefix}.w3")
    prod = b.op("Mul", [rows, w], f"{prefix}.weighted")
    axis1 = b.init(f"{prefix}.axis1", np.array([1], np.int64))
    return b.op("ReduceSum", [prod, axis1], f"{prefix}.bag", keepdims=0)


@torch.no_grad()
def build_graph(model, head, mode: str = "int8-weights", ranges=None,
                quantize: bool = True) -> onnx.ModelProto:
    """ONNX graph of `model` (an EnsembleModel) with int8 tables and weights (see module doc)."""
    if mode not in ("int8-weights", "int8-static"):
        raise ValueError(f"unknown quantization mode {mode!r}")
    if quantize and mode == "int8-static" and ranges is None:
        raise ValueError("int8-static needs calibrated activation ranges")
    model = model.eval()
    D, C = model.dense_dim, model.num_out
    b = _Builder()
    idx64 = b.op("Cast", ["ids"], "ids_int64", to=TensorProto.INT64)
    outs = []
    for k, m in enumerate(model.members):
        p = f"m{k}"
        table = m.table.detach().cpu().numpy()
        bag = _bag(b, table, idx64, "weights", quantize, p)
        if m.type == "wide":
            y = b.op("Add", [bag, b.init(f"{p}.bias", m.bias.detach().cpu().numpy())], f"{p}.wide")
            if m.dense_linear is not None:
                d = _matmul(b, "dense", m.dense_linear.weight.detach().cpu().numpy(), None, mode,
                            quantize, (ranges or {}).get((k, 0)), f"{p}.dense")
                y = b.op("Add", [y, d], f"{p}.logits")
        else:
            x = b.op("Concat", [bag, "dense"], f"{p}.x", axis=1) if D > 0 else bag
            lins = [l for l in m.mlp if isinstance(l, nn.Linear)]
            for i, lin in enumerate(lins):
                x = _matmul(b, x, lin.weight.detach().cpu().numpy(),
                            lin.bias.detach().cpu().numpy(), mode, quantize,
                            (ranges or {}).get((k, i)), f"{p}.linear{i}")
                if i < len(lins) - 1:
                    x = b.op("Relu", [x], f"{p}.relu{i}")
            y = x
        outs.append(y)
    logits = outs[0]
    for y in outs[1:]:
        logits = b.op("Add", [logits, y], "sum")
    if len(outs) > 1:
        logits = b.op("Div", [logits, b.init("members", np.array(len(outs), np.float32))], "mean")
    b.nodes.append(helper.make_node("Identity", [logits], ["logits"], name="logits"))
    act = head.activation_name
    if head.kind == "classification":
        b.nodes.append(helper.make_node("Softmax", ["logits"], [act], name=act, axis=-1))
    else:
        b.nodes.append(helper.make_node("Identity", ["logits"], [act], name=act))

    f32, i32 = TensorProto.FLOAT, TensorProto.INT32
    inputs = [helper.make_tensor_value_info("dense", f32, ["batch", D]),
              helper.make_tensor_value_info("ids", i32, ["batch", "tokens"]),
              helper.make_tensor_value_info("weights", f32, ["batch", "tokens"])]
    outputs = [helper.make_tensor_value_info("logits", f32, ["batch", C]),
               helper.make_tensor_value_info(act, f32, ["batch", C])]
    graph = helper.make_graph(b.nodes, "student_int8" if quantize else "student_fp32", inputs,
                              outputs, initializer=b.inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="distillery_trainer")
    proto.ir_version = min(proto.ir_version, 8)  # onnx 1.12 writes IR 8 for opset 13
    onnx.checker.check_model(proto)
    verify_graph(proto, head, extra_ops=QUANT_OPS)
    assert [i.name for i in proto.graph.input] == INPUT_NAMES
    return proto


def int8_initializers(proto) -> list:
    return [t.name for t in proto.graph.initializer if t.data_type == TensorProto.INT8]
