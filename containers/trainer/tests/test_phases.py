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
from distillery_trainer.quantize import QUANT_OPS

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


def _check_contract(model: onnx.ModelProto, quantized=False):
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
    assert {n.op_type for n in model.graph.node} <= STANDARD_OPS | (QUANT_OPS if quantized else set())


STUDENT_FILES = ["student.onnx", "student-baseline.onnx", "student-pruned.onnx",
                 "student-int8.onnx"]


@pytest.mark.parametrize("phase, files", [("teacher", ["teacher.onnx"]),
                                          ("student", STUDENT_FILES)])
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
        _check_contract(model, quantized=f.endswith("int8.onnx"))
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


def test_student_phase_compression_outputs(runs):
    """Pruned student (smaller, learns after fine-tune) and int8 student, with metrics and probes."""
    out = runs["student"]
    m = read_json(out / "metrics.json")
    s = m["students"]
    assert m["compression"] == {"pruneRatio": 0.25, "fineTuneEpochs": 3,
                                "quantization": "int8-weights", "calibrationRows": 2048}
    assert set(STUDENT_FILES) <= set(m["files"])
    pruned, int8 = s["pruned"], s["int8"]
    assert pruned["params"] < s["distilled"]["params"]
    assert 1 <= len(pruned["epochs"]) <= 3 and all("kd" in e for e in pruned["epochs"])
    assert pruned["valAccuracy"] > 1.0 / CLASSES + 0.4
    assert pruned["testAccuracy"] is not None
    (detail,) = pruned["prune"]  # STUDENT has one deep member: dim 8 -> 6, hidden 16 -> 12
    assert detail["embeddingDims"]["kept"] == 6 and detail["embeddingDims"]["removed"] == 2
    assert [(h["kept"], h["removed"]) for h in detail["hiddenLayers"]] == [(12, 4)]
    pruned_onnx = load_onnx(out / "student-pruned.onnx")
    names = [t.name for t in pruned_onnx.graph.initializer]
    assert not any("_orig" in n or "_mask" in n for n in names)
    shapes = sorted(tuple(t.dims) for t in pruned_onnx.graph.initializer if len(t.dims) == 2)
    assert (1024, 6) in shapes and (1024, 8) not in shapes
    # int8-weights: the table is int8; the small Linear layers stay float32 Gemm (per-op latency)
    assert int8["quantization"] == "int8-weights" and int8["int8Initializers"] >= 1
    assert int8["tableScales"] in ("row", "column")
    assert int8["bytes"] == (out / "student-int8.onnx").stat().st_size
    assert int8["sizeRatio"] > 2.5  # tiny dim-6 table; the 3.5x check uses a realistic table
    assert int8["probeMaxAbsDiff"]["probabilities"] < 0.02
    assert abs(int8["valAccuracy"] - pruned["valAccuracy"]) <= 0.05
    model = load_onnx(out / "student-int8.onnx")
    int8_names = {t.name for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8}
    assert any("table_int8" in n for n in int8_names)
    assert not any(t.data_type == onnx.TensorProto.FLOAT and len(t.dims) == 2 and t.dims[0] == 1024
                   for t in model.graph.initializer)  # no float copy of the table
    probes = read_json(out / "probes.json")
    np.testing.assert_allclose(probes["outputs"]["student-int8.onnx"]["probabilities"],
                               probes["outputs"]["student-pruned.onnx"]["probabilities"], atol=0.02)


def test_student_phase_without_pruning_or_quantization(runs, tmp_path):
    hp = synthetic.hyperparameters("student", student={**synthetic.STUDENT, "epochs": 1},
                                   compression={"pruneRatio": 0, "quantization": "none"})
    rc, env = run_phase(tmp_path, runs["tmp"] / "dataset", "student", hp, teacher=runs["teacher"])
    assert rc == 0
    out = Path(env["SM_MODEL_DIR"])
    m = read_json(out / "metrics.json")
    assert "int8" not in m["students"] and not (out / "student-int8.onnx").exists()
    assert m["students"]["pruned"]["params"] == m["students"]["distilled"]["params"]
    assert m["students"]["pruned"]["prune"] == [] and m["students"]["pruned"]["epochs"] == []
    probes = read_json(out / "probes.json")
    assert sorted(probes["outputs"]) == sorted(STUDENT_FILES[:3])
    assert probes["outputs"]["student-pruned.onnx"] == probes["outputs"]["student.onnx"]
