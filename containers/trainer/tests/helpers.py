"""Run the trainer in-process with SM_* variables set (and restored afterwards)."""

import json
import os
from contextlib import contextmanager
from pathlib import Path

import onnx

from distillery_trainer import cli

import synthetic


@contextmanager
def environ(env: dict):
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_phase(tmp: Path, dataset: Path, phase: str, hp: dict, teacher: Path = None):
    env = synthetic.sm_env(tmp, dataset, phase, hp, teacher)
    with environ(env):
        rc = cli.main(["train"])
    return rc, env


def read_json(path):
    return json.loads(Path(path).read_text())


def load_onnx(path):
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    return model
