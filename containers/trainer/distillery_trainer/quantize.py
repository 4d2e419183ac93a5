"""int8 ONNX graph of an EnsembleModel, written op by op with onnx.helper (opset 13).

Same contract as export.py (inputs dense/ids/weights, outputs logits/probabilities, dynamic batch
and token axes). Laid out for single-row latency on onnxruntime-node, where per-op overhead
dominates: as few nodes as possible. Per member:

  idx   = Mod(ids, B)                          int32 throughout (ids >= 0: exact, no Cast)
  rows  = Cast(Gather(Tq, idx), float)         Tq int8 [B, dim], symmetric, zero point 0: the int8
                                               table is gathered row by row, never dequantized whole
  bag   = Squeeze(MatMul(Unsqueeze(w, 1), rows), 1)   [N,1,L] @ [N,L,dim] -> [N, dim]
  table scales, one of
    "column": one float32 scale per embedding dim, folded into the next layer (deep: the first
              Linear's bag columns; wide: one Mul after the bag); w = weights. No extra node.
    "row":    float16 scale per row, gathered with the ids and folded into the token weights:
              w = weights * Cast(Gather(s, idx), float)  (3 extra nodes, robust to outlier rows)
    build_graph(table_scales="auto") takes "column" when, on the calibration rows, it moves the
    head's outputs by at most COLUMN_TOLERANCE against the float model, else "row" (always "row"
    for int8-static, whose activation ranges are calibrated on the float bag).
  deep  : x = Concat(bag, dense); per Linear x = Gemm(x, W, b, transB=1) (float32: the Linear layers
          are a small share of the bytes, and an int8 weight costs DequantizeLinear + MatMul + Add)
          mode int8-static: x = Gemm(DequantizeLinear(QuantizeLinear(x, a_scale, a_zp)),
          DequantizeLinear(Wq, w_scale, 0, axis=0), b, transB=1), Wq int8 [out, in] per-output-
          channel symmetric, uint8 activation ranges calibrated on training rows.
  wide  : bag (* column scales) + b (+ Gemm(dense, W))
logits = mean of members; probabilities = head activation (Softmax for classification).

`quantize=False` writes the same graph with float32 tables (used by the tests to check the builder
itself against PyTorch).
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

    def op(self, op_type, inputs, base=None, out=None, **attrs):
        out = out or self.name(base or op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out


def quantize_table_columns(table: np.ndarray):
    """Symmetric int8 per column (embedding dim): table ~= q * scale[None, :]; float32 scales."""
    return quantize_columns(table)


def dequantized_table(table: np.ndarray, scheme: str) -> np.ndarray:
    """What the int8 graph's table stands for under `scheme` ("row" or "column")."""
    if scheme == "row":
        q, s = quantize_rows(table)
        return q.astype(np.float32) * s.astype(np.float32)[:, None]
    q, s = quantize_table_columns(table)
    return q.astype(np.float32) * s[None, :]


COLUMN_TOLERANCE = 1e-2  # max |Δprobability| on calibration rows that column scales may cost


@torch.no_grad()
def choose_table_scales(model, head, rows, batch: int = 4096) -> str:
    """"column" if column scales keep the head outputs within COLUMN_TOLERANCE on `rows`."""
    import copy
    if rows is None or rows[1].shape[0] == 0:
        return "row"
    ref = copy.deepcopy(model).to("cpu").eval()
    emu = copy.deepcopy(ref)
    for m in emu.members:
        t = m.table.detach().numpy()
        m.table.copy_(torch.from_numpy(dequantized_table(t, "column")))
    worst = 0.0
    dense, ids, weights = (r.detach().cpu() for r in rows)
    for s in range(0, ids.shape[0], batch):
        args = (dense[s:s + batch], ids[s:s + batch], weights[s:s + batch])
        a, b = head.activation(ref(*args)), head.activation(emu(*args))
        worst = max(worst, float((a - b).abs().max()))
    return "column" if worst <= COLUMN_TOLERANCE else "row"


def _linear(b, x, w, bias, mode, quantize, act_range, prefix, out=None, col_scale=None):
    """Gemm(x, w, bias, transB=1) for a torch Linear weight `w` [out, in]; `col_scale` multiplies
    the first len(col_scale) input columns (folded table column scales)."""
    w = np.array(w, dtype=np.float32)
    if col_scale is not None:
        w[:, :len(col_scale)] *= col_scale[None, :]
    if quantize and mode == "int8-static":
        q, scale = quantize_columns(w.T)  # per output channel (rows of w)
        wq = b.init(f"{prefix}.weight_int8", np.ascontiguousarray(q.T))
        ws = b.init(f"{prefix}.weight_scale", scale)
        wz = b.init(f"{prefix}.weight_zero_point", np.zeros(scale.shape, np.int8))
        wf = b.op("DequantizeLinear", [wq, ws, wz], f"{prefix}.weight_dq", axis=0)
        a_scale, a_zp = activation_qparams(*act_range)
        s = b.init(f"{prefix}.input_scale", a_scale)
        z = b.init(f"{prefix}.input_zero_point", a_zp)
        xq = b.op("QuantizeLinear", [x, s, z], f"{prefix}.input_q")
        x = b.op("DequantizeLinear", [xq, s, z], f"{prefix}.input_dq")
    else:
        wf = b.init(f"{prefix}.weight", w)
    inputs = [x, wf] + ([b.init(f"{prefix}.bias", bias.astype(np.float32))] if bias is not None
                        else [])
    return b.op("Gemm", inputs, f"{prefix}.gemm", out=out, transB=1)


def _bag(b, table, ids, quantize, scheme, prefix):
    """(bag [N, dim], column scales to fold downstream or None)."""
    buckets = b.init(f"{prefix}.buckets", np.array(table.shape[0], np.int32))
    idx = b.op("Mod", [ids, buckets], f"{prefix}.idx", fmod=0)
    w, col_scale = "weights", None
    if quantize:
        if scheme == "row":
            q, scale = quantize_rows(table)
            rs = b.op("Gather", [b.init(f"{prefix}.table_row_scale", scale), idx],
                      f"{prefix}.row_scale_f16", axis=0)
            rs = b.op("Cast", [rs], f"{prefix}.row_scale", to=TensorProto.FLOAT)
            w = b.op("Mul", ["weights", rs], f"{prefix}.scaled_weights")
        else:
            q, col_scale = quantize_table_columns(table)
        rows = b.op("Gather", [b.init(f"{prefix}.table_int8", q), idx], f"{prefix}.rows_int8",
                    axis=0)
        rows = b.op("Cast", [rows], f"{prefix}.rows", to=TensorProto.FLOAT)
    else:
        rows = b.op("Gather", [b.init(f"{prefix}.table", table.astype(np.float32)), idx],
                    f"{prefix}.rows", axis=0)
    axis1 = b.init(f"{prefix}.axis1", np.array([1], np.int64))
    w = b.op("Unsqueeze", [w, axis1], f"{prefix}.w3")
    bag = b.op("MatMul", [w, rows], f"{prefix}.bag3")
    return b.op("Squeeze", [bag, axis1], f"{prefix}.bag"), col_scale


@torch.no_grad()
def build_graph(model, head, mode: str = "int8-weights", ranges=None,
                quantize: bool = True, table_scales: str = "row", rows=None) -> onnx.ModelProto:
    """ONNX graph of `model` (an EnsembleModel) with int8 tables (see module doc).
    table_scales: "row", "column", or "auto" (needs calibration `rows`)."""
    if mode not in ("int8-weights", "int8-static"):
        raise ValueError(f"unknown quantization mode {mode!r}")
    if quantize and mode == "int8-static" and ranges is None:
        raise ValueError("int8-static needs calibrated activation ranges")
    if table_scales == "auto":
        # int8-static calibrates the first Linear's input as the float bag: keep it float there
        table_scales = "row" if mode == "int8-static" else choose_table_scales(model, head, rows)
    if table_scales not in ("row", "column"):
        raise ValueError(f"unknown table_scales {table_scales!r}")
    model = model.eval()
    D, C = model.dense_dim, model.num_out
    b = _Builder()
    single = len(model.members) == 1
    outs = []
    for k, m in enumerate(model.members):
        p = f"m{k}"
        out = "logits" if single else None
        table = m.table.detach().cpu().numpy()
        bag, cs = _bag(b, table, "ids", quantize, table_scales, p)
        if m.type == "wide":
            if cs is not None:
                bag = b.op("Mul", [bag, b.init(f"{p}.table_col_scale", cs)], f"{p}.bag_scaled")
            if m.dense_linear is not None:
                d = _linear(b, "dense", m.dense_linear.weight.detach().cpu().numpy(),
                            m.bias.detach().cpu().numpy(), mode, quantize,
                            (ranges or {}).get((k, 0)), f"{p}.dense")
                y = b.op("Add", [bag, d], f"{p}.logits", out=out)
            else:
                y = b.op("Add", [bag, b.init(f"{p}.bias", m.bias.detach().cpu().numpy())],
                         f"{p}.wide", out=out)
        else:
            x = b.op("Concat", [bag, "dense"], f"{p}.x", axis=1) if D > 0 else bag
            lins = [l for l in m.mlp if isinstance(l, nn.Linear)]
            for i, lin in enumerate(lins):
                last = i == len(lins) - 1
                x = _linear(b, x, lin.weight.detach().cpu().numpy(),
                            lin.bias.detach().cpu().numpy(), mode, quantize,
                            (ranges or {}).get((k, i)), f"{p}.linear{i}",
                            out=out if last else None, col_scale=cs if i == 0 else None)
                if not last:
                    x = b.op("Relu", [x], f"{p}.relu{i}")
            y = x
        outs.append(y)
    if not single:
        logits = outs[0]
        for y in outs[1:]:
            logits = b.op("Add", [logits, y], "sum")
        b.op("Div", [logits, b.init("members", np.array(len(outs), np.float32))], "mean",
             out="logits")
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
