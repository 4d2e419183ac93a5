"""Command line: resolve paths, run the requested phase, report success or failure.

On any exception the reason (one paragraph, <= 1024 chars, SageMaker's FailureReason limit) is
written to $SM_OUTPUT_DIR/failure, a `{"failed": ...}` line goes to stdout, the traceback to
stderr, and the exit code is 1.
"""

import re
import time
import traceback

from . import paths as paths_mod
from .progress import emit, log
from .runtime import configure_threads


def failure_reason(exc: BaseException, phase: str = None) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if phase:
        text = f"{phase} phase failed: {text}"
    return re.sub(r"\s+", " ", text).strip()[:1024]


def main(argv=None) -> int:
    argv = list(argv or [])
    paths = paths_mod.from_env()
    phase = None
    t0 = time.time()
    try:
        extra = [a for a in argv if a != "train"]
        if extra:
            log(f"ignoring unexpected arguments: {extra}")
        threads = configure_threads()
        from .context import build_context  # imported late so import errors become failures too
        ctx = build_context(paths)
        phase = ctx.hp.phase
        log(f"distillery trainer: phase={phase} kind={ctx.head.kind} device={ctx.device} "
            f"threads={threads} train={len(ctx.splits['train'])} val={len(ctx.splits['validation'])}")
        if phase == "teacher":
            from .train_teacher import run
        else:
            from .train_student import run
        summary = run(ctx)
        summary["wallSeconds"] = round(time.time() - t0, 3)
        emit("done", summary)
        return 0
    except Exception as exc:  # noqa: BLE001 - every failure must be reported to SageMaker
        reason = failure_reason(exc, phase)
        traceback.print_exc()
        try:
            paths.output.mkdir(parents=True, exist_ok=True)
            with open(paths.failure, "w", encoding="utf-8") as fh:
                fh.write(reason + "\n")
        except OSError as io_exc:
            log(f"could not write failure file {paths.failure}: {io_exc}")
        emit("failed", {"phase": phase, "reason": reason})
        return 1
