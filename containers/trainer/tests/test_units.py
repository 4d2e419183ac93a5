import io
import math

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F

from distillery_trainer import losses, runtime
from distillery_trainer.config import parse_model_spec
from distillery_trainer.heads import ClassificationHead, get_head
from distillery_trainer.loop import fit
from distillery_trainer.models import build_model, hashed_bag

import onnx_numpy


def test_mod_embedding_equals_direct_lookup():
    B, dim = 1000, 5
    table = torch.randn(B, dim)
    edge = [0, 1, B - 1, B, B + 1, 2 * B - 1, (1 << 20) - 1, (1 << 24) - 1, 2 ** 31 - 1]
    ids = torch.tensor([edge, list(range(9))], dtype=torch.int32)
    weights = torch.rand(2, 9)
    weights[1, 5:] = 0  # padding
    got = hashed_bag(table, ids, weights)
    expect = torch.zeros(2, dim)
    for n in range(2):
        for l in range(9):
            expect[n] += table[int(ids[n, l]) % B] * weights[n, l]
    assert torch.allclose(got, expect, atol=1e-6)

    # ...and the exported ONNX graph (Cast -> Mod -> Gather) computes the same thing.
    class Bag(torch.nn.Module):
        def forward(self, ids, weights):
            return hashed_bag(table, ids, weights)

    buf = io.BytesIO()
    torch.onnx.export(Bag(), (ids, weights), buf, opset_version=13, input_names=["ids", "weights"],
                      output_names=["bag"], dynamic_axes={"ids": {0: "b", 1: "t"},
                                                          "weights": {0: "b", 1: "t"}})
    model = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(model)
    assert {"Mod", "Gather"} <= {n.op_type for n in model.graph.node}
    out = onnx_numpy.run(model, {"ids": ids.numpy(), "weights": weights.numpy()})["bag"]
    np.testing.assert_allclose(out, expect.numpy(), atol=1e-5)


def test_kd_loss_matches_hand_computation():
    t = torch.tensor([[2.0, 0.0, -2.0]])
    s = torch.tensor([[0.0, 1.0, 0.0]])
    y = torch.tensor([1])
    T, alpha = 2.0, 0.7
    # by hand: p = softmax(t/T) = softmax([1, 0, -1]); q = softmax(s/T) = softmax([0, .5, 0])
    zp = math.e + 1 + math.exp(-1)
    p = [math.e / zp, 1 / zp, math.exp(-1) / zp]
    zq = 2 + math.exp(0.5)
    q = [1 / zq, math.exp(0.5) / zq, 1 / zq]
    kl = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q))
    kd = T * T * kl
    ce = -math.log(math.exp(1) / (2 + math.e))  # -log softmax([0, 1, 0])[1]
    terms = losses.distillation_terms(s, t, y, T, alpha)
    assert terms["kd"].item() == pytest.approx(kd, rel=1e-5)
    assert terms["ce"].item() == pytest.approx(ce, rel=1e-5)
    assert terms["total"].item() == pytest.approx(alpha * kd + (1 - alpha) * ce, rel=1e-5)
    # same as PyTorch's batchmean KL, and zero when student == teacher
    ref = F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1), reduction="batchmean") * T * T
    assert terms["kd"].item() == pytest.approx(ref.item(), rel=1e-5)
    assert losses.kd_kl(t, t, T).item() == pytest.approx(0.0, abs=1e-7)


def test_head_seam():
    head = get_head("classification")
    assert isinstance(head, ClassificationHead)
    logits = torch.tensor([[1.0, 3.0], [2.0, 0.0]])
    assert head.metric(logits, torch.tensor([1, 1])) == 0.5
    assert torch.allclose(head.activation(logits).sum(-1), torch.ones(2))
    with pytest.raises(ValueError, match="regression"):
        get_head("regression")


def test_device_choice_never_crashes_on_cpu(monkeypatch):
    assert runtime.choose_device("cpu").type == "cpu"
    assert runtime.choose_device().type in ("cpu", "cuda")

    def broken():
        raise RuntimeError("no driver")

    monkeypatch.setattr(torch.cuda, "is_available", broken)
    assert runtime.choose_device().type == "cpu"
    assert runtime.configure_threads() >= 1


def test_nan_loss_raises_clear_error(tmp_path):
    spec = parse_model_spec({"members": [{"type": "wide", "buckets": 16}], "epochs": 2}, "s")
    model = build_model(spec, 2, 3)
    data = {"dense": torch.zeros(4, 2), "ids": torch.ones(4, 3, dtype=torch.int32),
            "weights": torch.ones(4, 3), "y": torch.zeros(4, dtype=torch.long)}

    def nan_loss(logits, batch):
        v = logits.sum() * float("nan")
        return {"total": v}

    with pytest.raises(FloatingPointError, match="loss became nan"):
        fit(phase="t", name="m", model=model, head=ClassificationHead(), spec=spec, train=data,
            val=data, loss_fn=nan_loss, batch_size=2, seed=0,
            checkpoint_path=tmp_path / "c.ckpt", identity={})


def test_resume_restores_best_weights_saved_beside_checkpoint(tmp_path, monkeypatch):
    """Best epoch (2) older than the interrupted checkpoint (4): the `.best` file is used."""
    from distillery_trainer import loop
    spec = parse_model_spec({"members": [{"type": "wide", "buckets": 16}], "epochs": 6,
                             "lr": 0.5, "patience": 10}, "s")
    torch.manual_seed(0)
    data = {"dense": torch.randn(32, 2), "ids": torch.randint(0, 100, (32, 3), dtype=torch.int32),
            "weights": torch.ones(32, 3), "y": torch.randint(0, 3, (32,))}
    scores = iter([0.5, 0.9, 0.6, 0.7, 0.8, 0.85])

    class ScriptedHead(ClassificationHead):
        def metric(self, logits, y):
            return next(scores)

    real_save = loop.checkpoint.save

    def save_then_die(path, state):
        real_save(path, state)
        if state.get("epoch") == 4:
            raise KeyboardInterrupt

    kwargs = dict(phase="t", name="m", head=ScriptedHead(), spec=spec, train=data, val=data,
                  loss_fn=lambda l, b: ClassificationHead().hard_loss(l, b["y"]), batch_size=8,
                  seed=0, checkpoint_path=tmp_path / "m.ckpt", identity={"x": 1})
    monkeypatch.setattr(loop.checkpoint, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        fit(model=build_model(spec, 2, 3), **kwargs)
    monkeypatch.setattr(loop.checkpoint, "save", real_save)
    best = loop.checkpoint.load(tmp_path / "m.ckpt.best", {"x": 1})
    assert best["best_epoch"] == 2
    model = build_model(spec, 2, 3)
    result = fit(model=model, **kwargs)
    assert (result.resumed_from_epoch, result.best_epoch) == (4, 2)
    assert torch.equal(model.members[0].table, best["state"]["members.0.table"])
