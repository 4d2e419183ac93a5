"""End-to-end: teacher phase then student phase on a tiny synthetic snapshot."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from distillery_trainer import loop
from distillery_trainer.export import STANDARD_OPS

import onnx_numpy
import synthetic
from helpers import load_onnx, read_json, run_phase

CLASSES = 4


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("phases")
    synthetic.write_snapshot(tmp / "dataset", classes=CLASSES)
    rc_t, env_t = run_phase(tmp, tmp / "dataset", "teacher", synthetic.hyperparameters("teacher"))
    teacher_dir = Path(env_t["SM_MODEL_DIR"])
    rc_s, env_s = run_phase(tmp, tmp / "dataset", "student", synthetic.hyperparameters("student"),
                            teacher=teacher_dir)
    return {"tmp": tmp, "rc": (rc_t, rc_s), "teacher": teacher_dir,
            "student": Path(env_s["SM_MODEL_DIR"])}


def test_teacher_phase_writes_all_files(runs):
    assert runs["rc"][0] == 0
    out = runs["teacher"]
    for f in ("teacher.pt", "teacher.onnx", "soft_targets/train.npy",
              "soft_targets/validation.npy", "metrics.json", "probes.json"):
        assert (out / f).is_file(), f
    for split, n in (("train", 240), ("validation", 80)):
        st = np.load(out / "soft_targets" / f"{split}.npy")
        assert st.dtype == np.float32 and st.shape == (n, CLASSES)
    # soft targets are logits in dataset row order: their argmax accuracy is the best val accuracy
    y = np.load(runs["tmp"] / "dataset" / "validation" / "y.npy")
    m = read_json(out / "metrics.json")
    val_acc = float((np.load(out / "soft_targets" / "validation.npy").argmax(1) == y).mean())
    assert val_acc == pytest.approx(m["valAccuracy"], abs=1e-6)
    assert m["params"] > 0 and m["bestEpoch"] >= 1 and m["device"] == "cpu"
    assert all({"epoch", "loss", "ce", "valAccuracy", "seconds"} <= set(e) for e in m["epochs"])
    assert m["valAccuracy"] > 0.8


def test_student_phase_writes_both_students_that_learn(runs):
    assert runs["rc"][1] == 0
    out = runs["student"]
    for f in ("student.onnx", "student-baseline.onnx", "metrics.json", "probes.json"):
        assert (out / f).is_file(), f
    m = read_json(out / "metrics.json")
    distilled, baseline = m["students"]["distilled"], m["students"]["baseline"]
    assert distilled["params"] == baseline["params"] > 0
    chance = 1.0 / CLASSES
    assert distilled["valAccuracy"] > chance + 0.4
    assert baseline["valAccuracy"] > chance + 0.4
    for e in distilled["epochs"]:  # loss = alpha*kd + (1-alpha)*ce, logged term by term
        assert e["loss"] == pytest.approx(0.7 * e["kd"] + 0.3 * e["ce"], rel=1e-4)
    assert all("kd" not in e for e in baseline["epochs"])


def _check_contract(model: onnx.ModelProto):
    assert [i.name for i in model.graph.input] == ["dense", "ids", "weights"]
    assert [o.name for o in model.graph.output] == ["logits", "probabilities"]
    types = {i.name: i.type.tensor_type for i in model.graph.input}
    assert types["dense"].elem_type == onnx.TensorProto.FLOAT
    assert types["ids"].elem_type == onnx.TensorProto.INT32
    assert types["weights"].elem_type == onnx.TensorProto.FLOAT
    for v in list(model.graph.input) + list(model.graph.output):
        assert v.type.tensor_type.shape.dim[0].dim_param, f"{v.name} batch axis not dynamic"
    for name in ("ids", "weights"):
        assert types[name].shape.dim[1].dim_param, f"{name} token axis not dynamic"
    assert model.graph.output[0].type.tensor_type.shape.dim[1].dim_value == CLASSES
    assert model.opset_import[0].version == 13
    assert {n.op_type for n in model.graph.node} <= STANDARD_OPS


@pytest.mark.parametrize("phase, files", [("teacher", ["teacher.onnx"]),
                                          ("student", ["student.onnx", "student-baseline.onnx"])])
def test_onnx_files_valid_and_match_probes(runs, phase, files):
    out = runs[phase]
    probes = read_json(out / "probes.json")
    assert probes["rows"] == 8 and sorted(probes["outputs"]) == sorted(files)
    feeds = {"dense": np.array(probes["inputs"]["dense"], dtype=np.float32),
             "ids": np.array(probes["inputs"]["ids"], dtype=np.int32),
             "weights": np.array(probes["inputs"]["weights"], dtype=np.float32)}
    # probe inputs are the first 8 test rows
    np.testing.assert_array_equal(feeds["ids"], np.load(runs["tmp"] / "dataset/test/ids.npy")[:8])
    for f in files:
        model = load_onnx(out / f)
        _check_contract(model)
        got = onnx_numpy.run(model, feeds)
        np.testing.assert_allclose(got["probabilities"], probes["outputs"][f]["probabilities"],
                                   atol=1e-5)
        np.testing.assert_allclose(got["probabilities"].sum(1), 1.0, atol=1e-5)
        # another batch size and token count through the same graph
        small = {"dense": feeds["dense"][:3], "ids": feeds["ids"][:3, :5],
                 "weights": feeds["weights"][:3, :5]}
        assert onnx_numpy.run(model, small)["logits"].shape == (3, CLASSES)


def test_teacher_pt_rebuilds_soft_targets(runs, tmp_path):
    """Without soft_targets/, the student phase recomputes them from teacher.pt."""
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    (teacher / "teacher.pt").write_bytes((runs["teacher"] / "teacher.pt").read_bytes())
    hp = synthetic.hyperparameters("student", student={**synthetic.STUDENT, "epochs": 1})
    rc, env = run_phase(tmp_path, runs["tmp"] / "dataset", "student", hp, teacher=teacher)
    assert rc == 0
    m = read_json(Path(env["SM_MODEL_DIR"]) / "metrics.json")
    assert m["teacher"]["valAccuracy"] == pytest.approx(
        read_json(runs["teacher"] / "metrics.json")["valAccuracy"], abs=1e-6)


class Interrupted(Exception):
    pass


def test_resume_from_checkpoint(tmp_path, monkeypatch):
    synthetic.write_snapshot(tmp_path / "ds", classes=3, rows=(60, 30, 10), tokens=6)
    spec = {"members": [{"type": "deep", "buckets": 256, "dim": 8, "hidden": [8],
                         "dropout": 0.2}], "epochs": 4, "lr": 0.01, "patience": 10}
    hp = synthetic.hyperparameters("teacher", teacher=spec, batch_size=16)
    rc, env = run_phase(tmp_path / "full", tmp_path / "ds", "teacher", hp)
    assert rc == 0
    full = read_json(Path(env["SM_MODEL_DIR"]) / "metrics.json")

    # Interrupt after epoch 2's checkpoint is written, then restart the same job.
    real_save, saves = loop.checkpoint.save, []

    def save_then_die(path, state):
        real_save(path, state)
        if "epoch" not in state:  # the `.best` weights file
            return
        saves.append(state["epoch"])
        if state["epoch"] == 2:
            raise Interrupted("spot instance reclaimed")

    monkeypatch.setattr(loop.checkpoint, "save", save_then_die)
    rc, env = run_phase(tmp_path / "resumed", tmp_path / "ds", "teacher", hp)
    assert rc == 1 and saves == [1, 2]
    assert (Path(env["SM_CHECKPOINT_DIR"]) / "teacher.ckpt").is_file()
    monkeypatch.setattr(loop.checkpoint, "save", real_save)
    Path(env["SM_OUTPUT_DIR"], "failure").unlink()
    rc, env = run_phase(tmp_path / "resumed", tmp_path / "ds", "teacher", hp)
    assert rc == 0
    resumed = read_json(Path(env["SM_MODEL_DIR"]) / "metrics.json")
    assert resumed["resumedFromEpoch"] == 2
    assert [e["epoch"] for e in resumed["epochs"]] == [1, 2, 3, 4]
    for a, b in zip(full["epochs"], resumed["epochs"]):  # same trajectory as uninterrupted
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4, abs=1e-6)
        assert a["valAccuracy"] == pytest.approx(b["valAccuracy"])


def test_failing_run_writes_failure_file(tmp_path):
    (tmp_path / "empty-dataset").mkdir()
    rc, env = run_phase(tmp_path, tmp_path / "empty-dataset", "teacher",
                        synthetic.hyperparameters("teacher"))
    assert rc == 1
    reason = (Path(env["SM_OUTPUT_DIR"]) / "failure").read_text()
    assert "manifest" in reason and reason.count("\n") == 1


def test_cli_subprocess_text_only_dataset(tmp_path):
    """D = 0 (text-only), `train` argument, stdout is JSON lines only, `dense` input kept."""
    synthetic.write_snapshot(tmp_path / "ds", classes=2, dense_dim=0, rows=(40, 20, 10), tokens=5)
    spec = {"members": [{"type": "wide", "buckets": 64}, {"type": "deep", "buckets": 64,
                                                         "dim": 4, "hidden": [4]}], "epochs": 2}
    env = synthetic.sm_env(tmp_path, tmp_path / "ds", "teacher",
                           synthetic.hyperparameters("teacher", teacher=spec))
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "distillery_trainer", "train"], cwd=root,
                          env={**__import__("os").environ, **env, "PYTHONPATH": str(root)},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(l) for l in proc.stdout.splitlines()]
    assert [next(iter(l)) for l in lines] == ["progress", "progress", "done"]
    assert lines[0]["progress"]["epochs"] == 2 and "valAccuracy" in lines[0]["progress"]
    model = load_onnx(Path(env["SM_MODEL_DIR"]) / "teacher.onnx")
    assert [i.name for i in model.graph.input] == ["dense", "ids", "weights"]
    probes = read_json(Path(env["SM_MODEL_DIR"]) / "probes.json")
    feeds = {k: np.array(v, dtype=np.int32 if k == "ids" else np.float32).reshape(
        (probes["rows"], -1) if k != "dense" else (probes["rows"], 0))
        for k, v in probes["inputs"].items()}
    got = onnx_numpy.run(model, feeds)["probabilities"]
    np.testing.assert_allclose(got, probes["outputs"]["teacher.onnx"]["probabilities"], atol=1e-5)
