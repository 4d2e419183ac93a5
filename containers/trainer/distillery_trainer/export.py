"""ONNX export (opset 13, TorchScript exporter) and parity probes for the Node side.

Graph contract (what onnxruntime-node is fed):
  inputs   dense float32 [batch, D]   ids int32 [batch, tokens]   weights float32 [batch, tokens]
  outputs  logits float32 [batch, C]  probabilities float32 [batch, C]  (head activation)
`batch` and `tokens` are dynamic. `dense` is kept as a graph input even when D == 0 (the logits are
reshaped to dense's batch size, so the input is referenced and never pruned by the exporter).
"""

import copy
import inspect
import io
from pathlib import Path

import onnx
import torch
import torch.nn as nn

OPSET = 13
INPUT_NAMES = ["dense", "ids", "weights"]
# Plain ONNX-domain ops the models may use; anything else means the export went somewhere odd.
STANDARD_OPS = {
    "Add", "Cast", "Concat", "Constant", "ConstantOfShape", "Div", "Gather", "Gemm", "MatMul",
    "Mod", "Mul", "ReduceSum", "Relu", "Reshape", "Shape", "Slice", "Softmax", "Squeeze", "Sub",
    "Unsqueeze", "Identity", "Expand", "Flatten", "Transpose",
}


class ExportWrapper(nn.Module):
    """(dense, ids, weights) -> (logits, activation(logits))."""

    def __init__(self, model, head):
        super().__init__()
        self.model = model
        self.head = head

    def forward(self, dense, ids, weights):
        logits = self.model(dense, ids, weights)
        # Reshape to dense's batch size: keeps `dense` a graph input when D == 0, and a constant C
        # makes the class axis static in the ONNX output shapes.
        logits = logits.reshape(dense.shape[0], self.model.num_out)
        return logits, self.head.activation(logits)


def example_inputs(tensors: dict, rows: int = 8):
    """First `rows` rows (at least 1; a zero row of padding if the split is empty)."""
    n = tensors["ids"].shape[0]
    if n == 0:
        d, l = tensors["dense"].shape[1], max(1, tensors["ids"].shape[1])
        return (torch.zeros(1, d), torch.zeros(1, l, dtype=torch.int32), torch.zeros(1, l))
    k = min(rows, n)
    return tuple(tensors[name][:k].detach().cpu().contiguous() for name in INPUT_NAMES)


def _export_kwargs():
    kwargs = {}
    # torch >= 2.5 has a dynamo exporter (default in newer releases); we need the TorchScript one.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    return kwargs


def export_onnx(model, head, path: Path, example) -> onnx.ModelProto:
    """Export a CPU copy of `model` in eval mode; check the result; return the ONNX model."""
    cpu_model = copy.deepcopy(model).to("cpu").eval()
    if hasattr(cpu_model, "set_sparse_grad"):
        cpu_model.set_sparse_grad(False)
    wrapper = ExportWrapper(cpu_model, head).eval()
    dyn = {"dense": {0: "batch"}, "ids": {0: "batch", 1: "tokens"},
           "weights": {0: "batch", 1: "tokens"}, "logits": {0: "batch"},
           head.activation_name: {0: "batch"}}
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(wrapper, tuple(example), buf, opset_version=OPSET,
                          input_names=INPUT_NAMES, output_names=["logits", head.activation_name],
                          dynamic_axes=dyn, do_constant_folding=True, **_export_kwargs())
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)
    verify_graph(proto, head)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(buf.getvalue())
    return proto


def verify_graph(proto: onnx.ModelProto, head, extra_ops=frozenset()) -> None:
    """Inputs/outputs named per the contract, batch axis dynamic, only standard ops."""
    inputs = [i.name for i in proto.graph.input]
    if inputs[:3] != INPUT_NAMES:
        raise RuntimeError(f"exported ONNX inputs are {inputs}, expected {INPUT_NAMES}")
    outputs = [o.name for o in proto.graph.output]
    if outputs != ["logits", head.activation_name]:
        raise RuntimeError(f"exported ONNX outputs are {outputs}")
    for value in list(proto.graph.input) + list(proto.graph.output):
        dim0 = value.type.tensor_type.shape.dim[0]
        if not dim0.dim_param:
            raise RuntimeError(f"ONNX {value.name} has a fixed batch axis")
    odd = {n.op_type for n in proto.graph.node if n.domain not in ("", "ai.onnx")} | (
        {n.op_type for n in proto.graph.node} - STANDARD_OPS - set(extra_ops))
    if odd:
        raise RuntimeError(f"exported ONNX uses unexpected ops: {sorted(odd)}")


@torch.no_grad()
def probe_outputs(model, head, example) -> dict:
    """PyTorch (eval mode, CPU) outputs for the probe rows, as JSON lists."""
    cpu_model = copy.deepcopy(model).to("cpu").eval()
    logits, act = ExportWrapper(cpu_model, head).eval()(*example)
    return {"logits": logits.tolist(), head.activation_name: act.tolist()}


def probe_inputs(example) -> dict:
    dense, ids, weights = example
    return {"rows": int(ids.shape[0]),
            "inputs": {"dense": dense.tolist(), "ids": ids.tolist(), "weights": weights.tolist()},
            "outputs": {}}
