"""Phase `teacher`: train the large ensemble on hard labels and publish what distillation needs.

Writes to SM_MODEL_DIR: teacher.pt, teacher.onnx, soft_targets/{train,validation}.npy (float32
teacher LOGITS [N, C], dataset row order), metrics.json, probes.json.
"""

import time

import numpy as np
import torch

from . import export
from .loop import fit, predict
from .models import build_model, count_parameters
from .progress import dump_json
from .runtime import seed_everything


def model_identity(ctx, name, spec, **extra) -> dict:
    """What must match for a checkpoint to be resumed."""
    return {"name": name, "kind": ctx.head.kind, "spec": spec.to_dict(), "seed": ctx.hp.seed,
            "batchSize": ctx.hp.batch_size, "denseDim": ctx.dense_dim, "numOutputs": ctx.num_out,
            "trainRows": len(ctx.splits["train"]), "validationRows": len(ctx.splits["validation"]),
            **extra}


def probe_split(ctx):
    """Probe rows come from the test split; fall back to validation if test is empty."""
    return ctx.tensors("test") if len(ctx.splits["test"]) else ctx.tensors("validation")


def run(ctx) -> dict:
    t0 = time.time()
    hp, head, spec = ctx.hp, ctx.head, ctx.hp.teacher
    out = ctx.paths.model
    (out / "soft_targets").mkdir(parents=True, exist_ok=True)

    seed_everything(hp.seed)
    model = build_model(spec, ctx.dense_dim, ctx.num_out).to(ctx.device)
    train, val, test = ctx.tensors("train"), ctx.tensors("validation"), ctx.tensors("test")
    result = fit(phase="teacher", name="teacher", model=model, head=head, spec=spec, train=train,
                 val=val, loss_fn=lambda logits, b: head.hard_loss(logits, b["y"]),
                 batch_size=hp.batch_size, seed=hp.seed,
                 checkpoint_path=ctx.paths.checkpoints / "teacher.ckpt",
                 identity=model_identity(ctx, "teacher", spec))

    torch.save({"format": 1, "kind": head.kind, "spec": spec.to_dict(), "denseDim": ctx.dense_dim,
                "numOutputs": ctx.num_out, "labels": ctx.manifest.labels,
                "stateDict": {k: v.detach().cpu() for k, v in model.state_dict().items()}},
               out / "teacher.pt")
    for split, tensors in (("train", train), ("validation", val)):
        logits = predict(model, tensors).float().cpu().numpy().astype(np.float32)
        np.save(out / "soft_targets" / f"{split}.npy", logits)

    example = export.example_inputs(probe_split(ctx))
    export.export_onnx(model, head, out / "teacher.onnx", example)
    probes = export.probe_inputs(example)
    probes["outputs"]["teacher.onnx"] = export.probe_outputs(model, head, example)
    dump_json(out / "probes.json", probes)

    test_metric = head.metric(predict(model, test), test["y"]) if len(ctx.splits["test"]) else None
    seconds = round(time.time() - t0, 3)
    metrics = {
        "phase": "teacher", "kind": head.kind, "device": str(ctx.device),
        "params": count_parameters(model), "spec": spec.to_dict(),
        "epochs": result.history, "bestEpoch": result.best_epoch,
        head.metric_key: result.best_metric,
        "test" + head.metric_name.capitalize(): test_metric,
        "resumedFromEpoch": result.resumed_from_epoch,
        "trainSeconds": result.seconds, "seconds": seconds,
        "files": ["teacher.pt", "teacher.onnx", "soft_targets/train.npy",
                  "soft_targets/validation.npy", "metrics.json", "probes.json"],
    }
    dump_json(out / "metrics.json", metrics)
    return {"phase": "teacher", "device": str(ctx.device), "params": metrics["params"],
            "bestEpoch": result.best_epoch, head.metric_key: result.best_metric,
            "seconds": seconds, "files": metrics["files"]}
