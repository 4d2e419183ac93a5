"""A small NumPy interpreter for the standard ONNX ops our exports use (fp32 and int8 graphs).

There is no onnxruntime for Python here. The tests use it to check that the *exported graph* (not
just PyTorch) computes the probe outputs, i.e. what onnxruntime-node will see; the student phase
uses it to compute the int8 graph's own probe outputs and its validation accuracy.

Quantisation ops follow the ONNX spec (opset 13), as onnxruntime implements them:
  DequantizeLinear  y = (float(x) - float(zero_point)) * scale      (per-tensor or per-axis)
  QuantizeLinear    y = saturate(round_half_even(x / scale) + zero_point)
"""

import numpy as np
from onnx import helper, numpy_helper

ONNX_TO_NP = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64,
              9: np.bool_, 10: np.float16, 11: np.float64}


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _per_axis(v, x, axis):
    """Broadcast a per-axis 1-D scale/zero point against x along `axis` (scalars pass through)."""
    v = np.asarray(v)
    if v.ndim == 0 or v.size == 1 and x.ndim == 0:
        return v.reshape(())
    shape = [1] * x.ndim
    shape[axis % x.ndim] = v.shape[0]
    return v.reshape(shape)


def _dequantize(x, scale, zp, axis):
    scale = _per_axis(scale, x, axis).astype(np.float32)
    zp = np.zeros((), np.int32) if zp is None else _per_axis(zp, x, axis).astype(np.int32)
    return ((x.astype(np.int32) - zp).astype(np.float32) * scale).astype(np.float32)


def _quantize(x, scale, zp, axis):
    scale = _per_axis(scale, x, axis).astype(np.float32)
    dtype = np.uint8 if zp is None else np.asarray(zp).dtype
    zp = np.zeros((), np.int32) if zp is None else _per_axis(zp, x, axis).astype(np.int32)
    info = np.iinfo(dtype)
    q = np.rint(x.astype(np.float32) / scale).astype(np.int64) + zp
    return np.clip(q, info.min, info.max).astype(dtype)


def _reshape(x, shape, allowzero=0):
    shape = [int(v) for v in shape]
    if not allowzero:
        shape = [x.shape[i] if v == 0 else v for i, v in enumerate(shape)]
    return x.reshape(shape)


def run(model, feeds: dict) -> dict:
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env.update(feeds)
    for node in model.graph.node:
        a = _attrs(node)
        x = [env[i] if i else None for i in node.input]
        x += [None] * 3
        op = node.op_type
        if op == "Constant":
            out = numpy_helper.to_array(a["value"])
        elif op == "Cast":
            out = x[0].astype(ONNX_TO_NP[a["to"]])
        elif op == "Mod":
            out = np.fmod(x[0], x[1]) if a.get("fmod", 0) else np.mod(x[0], x[1])
        elif op == "Gather":
            out = np.take(x[0], x[1], axis=a.get("axis", 0))
        elif op in ("Add", "Sub", "Mul", "Div"):
            f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op]
            out = f(x[0], x[1]).astype(np.result_type(x[0], x[1]))
        elif op == "MatMul":
            out = x[0] @ x[1]
        elif op == "MatMulInteger":
            az = 0 if x[2] is None else x[2].astype(np.int32)
            bz = 0 if x[3] is None else x[3].astype(np.int32)
            out = (x[0].astype(np.int32) - az) @ (x[1].astype(np.int32) - bz)
        elif op == "Gemm":
            A = x[0].T if a.get("transA", 0) else x[0]
            B = x[1].T if a.get("transB", 0) else x[1]
            out = a.get("alpha", 1.0) * (A @ B)
            if x[2] is not None:
                out = out + a.get("beta", 1.0) * x[2]
            out = out.astype(np.float32)
        elif op == "Relu":
            out = np.maximum(x[0], 0).astype(x[0].dtype)
        elif op == "ReduceSum":
            axes = tuple(int(v) for v in x[1]) if x[1] is not None else None
            out = x[0].sum(axis=axes, keepdims=bool(a.get("keepdims", 1))).astype(x[0].dtype)
        elif op == "Unsqueeze":
            out = x[0]
            for ax in sorted(int(v) for v in x[1]):
                out = np.expand_dims(out, ax)
        elif op == "Squeeze":
            out = np.squeeze(x[0], axis=tuple(int(v) for v in x[1]))
        elif op == "Concat":
            out = np.concatenate([v for v in x if v is not None], axis=a["axis"])
        elif op == "Shape":
            out = np.array(x[0].shape, dtype=np.int64)
        elif op == "Reshape":
            out = _reshape(x[0], x[1], a.get("allowzero", 0))
        elif op == "Softmax":
            out = _softmax(x[0], a.get("axis", -1))
        elif op == "Identity":
            out = x[0]
        elif op == "DequantizeLinear":
            out = _dequantize(x[0], x[1], x[2], a.get("axis", 1))
        elif op == "QuantizeLinear":
            out = _quantize(x[0], x[1], x[2], a.get("axis", 1))
        else:
            raise NotImplementedError(f"onnx_numpy: op {op} not implemented")
        env[node.output[0]] = out
    return {o.name: env[o.name] for o in model.graph.output}
