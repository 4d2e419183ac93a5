"""A tiny NumPy interpreter for the handful of standard ONNX ops our exports use.

There is no onnxruntime for Python here; this lets the tests check that the *exported graph*
(not just PyTorch) computes the probe outputs, i.e. what onnxruntime-node will see.
"""

import numpy as np
from onnx import helper, numpy_helper

ONNX_TO_NP = {1: np.float32, 6: np.int32, 7: np.int64, 9: np.bool_, 11: np.float64}


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def run(model, feeds: dict) -> dict:
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env.update(feeds)
    for node in model.graph.node:
        a = _attrs(node)
        x = [env[i] if i else None for i in node.input]
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
        elif op == "Gemm":
            A = x[0].T if a.get("transA", 0) else x[0]
            B = x[1].T if a.get("transB", 0) else x[1]
            out = a.get("alpha", 1.0) * (A @ B)
            if len(x) > 2 and x[2] is not None:
                out = out + a.get("beta", 1.0) * x[2]
        elif op == "Relu":
            out = np.maximum(x[0], 0)
        elif op == "ReduceSum":
            axes = tuple(int(v) for v in x[1]) if len(x) > 1 and x[1] is not None else None
            out = x[0].sum(axis=axes, keepdims=bool(a.get("keepdims", 1)))
        elif op == "Unsqueeze":
            out = x[0]
            for ax in sorted(int(v) for v in x[1]):
                out = np.expand_dims(out, ax)
        elif op == "Squeeze":
            out = np.squeeze(x[0], axis=tuple(int(v) for v in x[1]))
        elif op == "Concat":
            out = np.concatenate(x, axis=a["axis"])
        elif op == "Shape":
            out = np.array(x[0].shape, dtype=np.int64)
        elif op == "Reshape":
            out = x[0].reshape(tuple(int(v) for v in x[1]))
        elif op == "Softmax":
            out = _softmax(x[0], a.get("axis", -1))
        elif op == "Identity":
            out = x[0]
        else:
            raise NotImplementedError(f"onnx_numpy: op {op} not implemented")
        env[node.output[0]] = out
    return {o.name: env[o.name] for o in model.graph.output}
