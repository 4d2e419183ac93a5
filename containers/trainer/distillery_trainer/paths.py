"""SageMaker container paths, each overridable by its SageMaker `SM_*` environment variable.

SageMaker sets these itself inside a training job; locally the orchestrator points them at folders.
"""

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    dataset: Path      # input channel "dataset": manifest.json + <split>/*.npy
    teacher: Path      # input channel "teacher": output of the teacher phase (student phase only)
    config: Path       # holds hyperparameters.json
    model: Path        # everything written here is uploaded as model.tar.gz
    checkpoints: Path  # synced to S3 by SageMaker; survives spot interruptions
    output: Path       # `failure` is written here

    @property
    def hyperparameters(self) -> Path:
        return self.config / "hyperparameters.json"

    @property
    def failure(self) -> Path:
        return self.output / "failure"


def from_env(env=None) -> Paths:
    """Resolve paths from `env` (default `os.environ`), falling back to SageMaker's defaults."""
    env = os.environ if env is None else env

    def get(name: str, default: str) -> Path:
        return Path(env.get(name) or default)

    return Paths(
        dataset=get("SM_CHANNEL_DATASET", "/opt/ml/input/data/dataset"),
        teacher=get("SM_CHANNEL_TEACHER", "/opt/ml/input/data/teacher"),
        config=get("SM_INPUT_CONFIG_DIR", "/opt/ml/input/config"),
        model=get("SM_MODEL_DIR", "/opt/ml/model"),
        checkpoints=get("SM_CHECKPOINT_DIR", "/opt/ml/checkpoints"),
        output=get("SM_OUTPUT_DIR", "/opt/ml/output"),
    )
