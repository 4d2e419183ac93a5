"""Phase `student`: distil the teacher into the student spec, and train a same-seed baseline.

(1) distilled: L = alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y)
    (Hinton et al. 2015; see losses.py), kd and ce terms logged separately per epoch.
(2) baseline: the same architecture and seed on CE(s, y) alone, so the gate can tell whether
    distillation helped.
Teacher logits come from the teacher channel's soft_targets/*.npy; if those are absent they are
recomputed from teacher.pt.
(3) compression (hyperparameter `compression`): the distilled student's deep members are pruned
    structurally (prune.py), fine-tuned with the same distillation loss -> student-pruned.onnx;
    then quantised to int8 (quantize.py) -> student-int8.onnx.
Writes student.onnx, student-baseline.onnx, student-pruned.onnx, student-int8.onnx (unless
quantization is "none"), metrics.json, probes.json.
"""

import copy
import dataclasses
import time
from pathlib import Path

import numpy as np
import torch

from . import export, onnx_numpy, quantize
from .prune import prune_model
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


def _calibration_rows(ctx, train, n: int):
    """`n` training rows (a seeded random subset) as (dense, ids, weights) on ctx.device."""
    total = train["ids"].shape[0]
    gen = torch.Generator().manual_seed(ctx.hp.seed * 7919 + 17)
    idx = torch.randperm(total, generator=gen)[:min(n, total)].to(train["ids"].device)
    return tuple(train[k][idx] for k in export.INPUT_NAMES)


def onnx_logits(proto, tensors, batch: int = 2048) -> torch.Tensor:
    """Logits of an ONNX graph over a whole split, via the NumPy interpreter (CPU)."""
    n = tensors["ids"].shape[0]
    out = []
    for s in range(0, n, batch):
        feeds = {k: tensors[k][s:s + batch].detach().cpu().numpy() for k in export.INPUT_NAMES}
        out.append(onnx_numpy.run(proto, feeds)["logits"])
    c = int(proto.graph.output[0].type.tensor_type.shape.dim[1].dim_value)
    return torch.from_numpy(np.concatenate(out) if out else np.zeros((0, c), np.float32))


def _prune_and_fine_tune(ctx, distilled, train_kd, val, loss_fn, rows):
    """(pruned model, FitResult or None, prune details, val metric right after pruning)."""
    hp, head, spec, comp = ctx.hp, ctx.head, ctx.hp.student, ctx.hp.compression
    has_deep = any(m.type == "deep" for m in spec.members)
    if comp.prune_ratio <= 0 or not has_deep:
        pruned = copy.deepcopy(distilled).eval()
        return pruned, None, [], head.metric(predict(pruned, val), val["y"])
    pruned, pspec, details = prune_model(distilled, spec, comp.prune_ratio, rows=rows)
    before = head.metric(predict(pruned, val), val["y"])
    if comp.fine_tune_epochs == 0:
        return pruned, None, details, before
    ft_spec = dataclasses.replace(pspec, epochs=comp.fine_tune_epochs)
    seed_everything(hp.seed)
    result = fit(phase="student", name="student-pruned", model=pruned, head=head, spec=ft_spec,
                 train=train_kd, val=val, loss_fn=loss_fn, batch_size=hp.batch_size,
                 seed=hp.seed, checkpoint_path=ctx.paths.checkpoints / "student-pruned.ckpt",
                 identity=model_identity(ctx, "student-pruned", ft_spec, temperature=hp.temperature,
                                         alpha=hp.alpha, compression=comp.to_dict(),
                                         prune=details))
    return pruned, result, details, before


def _no_fit(head, model, val):
    """A FitResult stand-in when the pruned model is not fine-tuned (no epochs)."""
    from .loop import FitResult
    return FitResult(history=[], best_epoch=0,
                     best_metric=head.metric(predict(model, val), val["y"]))


def _quantize(ctx, pruned, rows, example, probes, out, val, test) -> dict:
    """Write student-int8.onnx; add its probe entry (the int8 graph's own outputs); summarise."""
    head, mode = ctx.head, ctx.hp.compression.quantization
    ranges = quantize.calibrate(pruned, rows) if mode == "int8-static" else None
    scales = quantize.choose_table_scales(pruned, head, rows) if mode == "int8-weights" else "row"
    proto = quantize.build_graph(pruned, head, mode, ranges, table_scales=scales)
    path = out / "student-int8.onnx"
    with open(path, "wb") as fh:
        fh.write(proto.SerializeToString())
    feeds = {k: v.numpy() for k, v in zip(export.INPUT_NAMES, example)}
    got = onnx_numpy.run(proto, feeds)
    probes["outputs"]["student-int8.onnx"] = {k: got[k].tolist() for k in
                                              ("logits", head.activation_name)}
    ref = probes["outputs"]["student-pruned.onnx"]
    delta = {k: float(np.abs(got[k] - np.asarray(ref[k], np.float32)).max()) for k in
             ("logits", head.activation_name)}
    pruned_bytes = (out / "student-pruned.onnx").stat().st_size
    size = path.stat().st_size
    val_metric = head.metric(onnx_logits(proto, val), val["y"].cpu())
    test_metric = (head.metric(onnx_logits(proto, test), test["y"].cpu())
                   if len(ctx.splits["test"]) else None)
    return {"file": "student-int8.onnx", "quantization": mode, "bytes": size,
            "prunedBytes": pruned_bytes, "sizeRatio": round(pruned_bytes / max(1, size), 4),
            "probeMaxAbsDiff": delta, "int8Initializers": len(quantize.int8_initializers(proto)),
            "calibrationRows": int(rows[1].shape[0]),
            "tableScales": scales,
            head.metric_key: val_metric,
            "test" + head.metric_name.capitalize(): test_metric}


def run(ctx) -> dict:
    t0 = time.time()
    hp, head, spec = ctx.hp, ctx.head, ctx.hp.student
    out = ctx.paths.model
    out.mkdir(parents=True, exist_ok=True)
    teacher_logits = load_teacher_logits(ctx)
    train, val, test = ctx.tensors("train"), ctx.tensors("validation"), ctx.tensors("test")
    teacher_val_metric = head.metric(teacher_logits["validation"], val["y"])
    T, alpha = hp.temperature, hp.alpha

    comp = hp.compression
    train_kd = {**train, "teacher": teacher_logits["train"]}
    kd_loss = lambda s, b: head.soft_loss(s, b["teacher"], b["y"], T, alpha)  # noqa: E731

    seed_everything(hp.seed)
    distilled = build_model(spec, ctx.dense_dim, ctx.num_out).to(ctx.device)
    kd_result = fit(phase="student", name="student", model=distilled, head=head, spec=spec,
                    train=train_kd, val=val, loss_fn=kd_loss,
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

    rows = _calibration_rows(ctx, train, comp.calibration_rows)
    pruned, ft_result, prune_details, pruned_before = _prune_and_fine_tune(
        ctx, distilled, train_kd, val, kd_loss, rows)

    example = export.example_inputs(probe_split(ctx))
    probes = export.probe_inputs(example)
    files = ["student.onnx", "student-baseline.onnx", "student-pruned.onnx"]
    for model, file in zip((distilled, baseline, pruned), files):
        export.export_onnx(model, head, out / file, example)
        probes["outputs"][file] = export.probe_outputs(model, head, example)

    int8_summary = None
    if comp.quantization != "none":
        int8_summary = _quantize(ctx, pruned, rows, example, probes, out, val, test)
        files.append("student-int8.onnx")
    dump_json(out / "probes.json", probes)

    pruned_summary = _summary(ctx, "student-pruned", pruned,
                              ft_result or _no_fit(head, pruned, val), "student-pruned.onnx", test)
    pruned_summary.update({"pruneRatio": comp.prune_ratio, "fineTuneEpochs": comp.fine_tune_epochs,
                           "valAccuracyBeforeFineTune": pruned_before,
                           "bytes": (out / "student-pruned.onnx").stat().st_size,
                           "prune": prune_details})

    seconds = round(time.time() - t0, 3)
    metrics = {
        "phase": "student", "kind": head.kind, "device": str(ctx.device), "spec": spec.to_dict(),
        "temperature": T, "alpha": alpha, "teacher": {head.metric_key: teacher_val_metric},
        "students": {
            "distilled": _summary(ctx, "student", distilled, kd_result, "student.onnx", test),
            "baseline": _summary(ctx, "student-baseline", baseline, base_result,
                                 "student-baseline.onnx", test),
            "pruned": pruned_summary,
            **({"int8": int8_summary} if int8_summary is not None else {}),
        },
        "compression": comp.to_dict(),
        "seconds": seconds,
        "files": files + ["metrics.json", "probes.json"],
    }
    dump_json(out / "metrics.json", metrics)
    s = metrics["students"]
    return {"phase": "student", "device": str(ctx.device),
            "params": {"distilled": s["distilled"]["params"], "baseline": s["baseline"]["params"],
                       "pruned": s["pruned"]["params"]},
            head.metric_key: {"teacher": teacher_val_metric,
                              "distilled": s["distilled"][head.metric_key],
                              "baseline": s["baseline"][head.metric_key],
                              "pruned": s["pruned"][head.metric_key],
                              **({"int8": s["int8"][head.metric_key]} if "int8" in s else {})},
            "seconds": seconds, "files": metrics["files"]}
