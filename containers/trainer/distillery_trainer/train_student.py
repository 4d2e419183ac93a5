"""Phase `student`: distil the teacher into the student spec, and train a same-seed baseline.

(1) distilled: L = alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y)
    (Hinton et al. 2015; see losses.py), kd and ce terms logged separately per epoch.
(2) baseline: the same architecture and seed on CE(s, y) alone, so the gate can tell whether
    distillation helped.
Teacher logits come from the teacher channel's soft_targets/*.npy; if those are absent they are
recomputed from teacher.pt. Writes student.onnx, student-baseline.onnx, metrics.json, probes.json.
"""

import time
from pathlib import Path

import numpy as np
import torch

from . import export
from .checkpoint import torch_load
from .config import parse_model_spec
from .data import DataError
from .loop import fit, predict
from .models import build_model, count_parameters
from .progress import dump_json
from .runtime import seed_everything
from .train_teacher import model_identity, probe_split


def _teacher_from_pt(ctx, path: Path):
    blob = torch_load(path)
    spec = parse_model_spec(blob["spec"], "teacher.pt spec")
    model = build_model(spec, int(blob["denseDim"]), int(blob["numOutputs"]))
    model.load_state_dict(blob["stateDict"])
    return model.to(ctx.device).eval()


def load_teacher_logits(ctx) -> dict:
    """{"train": [N,C], "validation": [N,C]} float32 tensors on ctx.device, dataset row order."""
    root = ctx.paths.teacher
    files = {s: root / "soft_targets" / f"{s}.npy" for s in ("train", "validation")}
    teacher = None
    out = {}
    for split, path in files.items():
        if path.is_file():
            arr = np.load(path, allow_pickle=False).astype(np.float32)
        else:
            if teacher is None:
                pt = root / "teacher.pt"
                if not pt.is_file():
                    raise DataError(f"teacher channel {root} has neither {path.name} soft targets "
                                    f"nor teacher.pt")
                teacher = _teacher_from_pt(ctx, pt)
            arr = predict(teacher, ctx.tensors(split)).float().cpu().numpy()
        expected = (len(ctx.splits[split]), ctx.num_out)
        if arr.shape != expected:
            raise DataError(f"teacher soft targets for '{split}' have shape {arr.shape}, expected "
                            f"{expected}; was the teacher trained on this dataset snapshot?")
        if not np.isfinite(arr).all():
            raise DataError(f"teacher soft targets for '{split}' contain NaN or Inf")
        out[split] = torch.from_numpy(np.ascontiguousarray(arr)).to(ctx.device)
    return out


def _summary(ctx, name, model, result, file, test):
    head = ctx.head
    test_metric = head.metric(predict(model, test), test["y"]) if len(ctx.splits["test"]) else None
    return {"file": file, "params": count_parameters(model), "epochs": result.history,
            "bestEpoch": result.best_epoch, head.metric_key: result.best_metric,
            "test" + head.metric_name.capitalize(): test_metric,
            "resumedFromEpoch": result.resumed_from_epoch, "seconds": result.seconds}


def run(ctx) -> dict:
    t0 = time.time()
    hp, head, spec = ctx.hp, ctx.head, ctx.hp.student
    out = ctx.paths.model
    out.mkdir(parents=True, exist_ok=True)
    teacher_logits = load_teacher_logits(ctx)
    train, val, test = ctx.tensors("train"), ctx.tensors("validation"), ctx.tensors("test")
    teacher_val_metric = head.metric(teacher_logits["validation"], val["y"])
    T, alpha = hp.temperature, hp.alpha

    seed_everything(hp.seed)
    distilled = build_model(spec, ctx.dense_dim, ctx.num_out).to(ctx.device)
    kd_result = fit(phase="student", name="student", model=distilled, head=head, spec=spec,
                    train={**train, "teacher": teacher_logits["train"]}, val=val,
                    loss_fn=lambda s, b: head.soft_loss(s, b["teacher"], b["y"], T, alpha),
                    batch_size=hp.batch_size, seed=hp.seed,
                    checkpoint_path=ctx.paths.checkpoints / "student.ckpt",
                    identity=model_identity(ctx, "student", spec, temperature=T, alpha=alpha))

    seed_everything(hp.seed)
    baseline = build_model(spec, ctx.dense_dim, ctx.num_out).to(ctx.device)
    base_result = fit(phase="student", name="student-baseline", model=baseline, head=head,
                      spec=spec, train=train, val=val,
                      loss_fn=lambda s, b: head.hard_loss(s, b["y"]),
                      batch_size=hp.batch_size, seed=hp.seed,
                      checkpoint_path=ctx.paths.checkpoints / "student-baseline.ckpt",
                      identity=model_identity(ctx, "student-baseline", spec))

    example = export.example_inputs(probe_split(ctx))
    probes = export.probe_inputs(example)
    for model, file in ((distilled, "student.onnx"), (baseline, "student-baseline.onnx")):
        export.export_onnx(model, head, out / file, example)
        probes["outputs"][file] = export.probe_outputs(model, head, example)
    dump_json(out / "probes.json", probes)

    seconds = round(time.time() - t0, 3)
    metrics = {
        "phase": "student", "kind": head.kind, "device": str(ctx.device), "spec": spec.to_dict(),
        "temperature": T, "alpha": alpha, "teacher": {head.metric_key: teacher_val_metric},
        "students": {
            "distilled": _summary(ctx, "student", distilled, kd_result, "student.onnx", test),
            "baseline": _summary(ctx, "student-baseline", baseline, base_result,
                                 "student-baseline.onnx", test),
        },
        "seconds": seconds,
        "files": ["student.onnx", "student-baseline.onnx", "metrics.json", "probes.json"],
    }
    dump_json(out / "metrics.json", metrics)
    s = metrics["students"]
    return {"phase": "student", "device": str(ctx.device),
            "params": {"distilled": s["distilled"]["params"], "baseline": s["baseline"]["params"]},
            head.metric_key: {"teacher": teacher_val_metric,
                              "distilled": s["distilled"][head.metric_key],
                              "baseline": s["baseline"][head.metric_key]},
            "seconds": seconds, "files": metrics["files"]}
