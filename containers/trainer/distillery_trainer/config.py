"""Hyperparameters: SageMaker delivers `hyperparameters.json` with every value as a STRING.

Numbers and the JSON model specs (`teacher`, `student`) are parsed here; unknown keys are ignored
so the TypeScript side can add keys without breaking older images. Real JSON values (not strings)
are accepted too, which makes local runs and tests simpler.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

MEMBER_TYPES = ("wide", "deep")


class ConfigError(ValueError):
    """A hyperparameter is missing or malformed; the message names the key."""


def _json_value(raw, key):
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"hyperparameter '{key}' is not valid JSON: {exc}") from None
    return raw


def _number(raw, key, cast, default):
    if raw is None:
        return default
    try:
        value = float(raw) if isinstance(raw, str) else raw
        if cast is int:
            if float(value) != int(float(value)):
                raise ValueError
            return int(float(value))
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"hyperparameter '{key}' must be a {cast.__name__}, got {raw!r}") from None


@dataclass
class MemberSpec:
    """One ensemble member. `wide`: linear over hashed ids (+dense); `deep`: bag -> MLP."""
    type: str = "deep"
    buckets: int = 262144
    dim: int = 64
    hidden: List[int] = field(default_factory=lambda: [256])
    dropout: float = 0.2

    def to_dict(self):
        return {"type": self.type, "buckets": self.buckets, "dim": self.dim,
                "hidden": list(self.hidden), "dropout": self.dropout}


@dataclass
class ModelSpec:
    """A model = mean of its members' logits; trained with Adam for `epochs` epochs."""
    members: List[MemberSpec]
    epochs: int = 20
    lr: float = 0.003
    weight_decay: float = 0.0
    patience: int = 5  # early stopping: epochs without a better validation metric

    def to_dict(self):
        return {"members": [m.to_dict() for m in self.members], "epochs": self.epochs,
                "lr": self.lr, "weightDecay": self.weight_decay, "patience": self.patience}


def parse_member(raw, where: str) -> MemberSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be an object")
    m = MemberSpec()
    m.type = str(raw.get("type", m.type))
    if m.type not in MEMBER_TYPES:
        raise ConfigError(f"{where}.type must be one of {MEMBER_TYPES}, got {m.type!r}")
    m.buckets = _number(raw.get("buckets"), f"{where}.buckets", int, m.buckets)
    m.dim = _number(raw.get("dim"), f"{where}.dim", int, m.dim)
    hidden = _json_value(raw.get("hidden", m.hidden), f"{where}.hidden")
    if isinstance(hidden, (int, float)):
        hidden = [hidden]
    if not isinstance(hidden, list):
        raise ConfigError(f"{where}.hidden must be a list of layer widths")
    m.hidden = [_number(h, f"{where}.hidden", int, 0) for h in hidden]
    m.dropout = _number(raw.get("dropout"), f"{where}.dropout", float, m.dropout)
    if m.buckets < 1 or m.dim < 1 or any(h < 1 for h in m.hidden) or not 0 <= m.dropout < 1:
        raise ConfigError(f"{where} has an out-of-range value: {raw}")
    return m


def parse_model_spec(raw, key: str) -> ModelSpec:
    raw = _json_value(raw, key)
    if not isinstance(raw, dict):
        raise ConfigError(f"hyperparameter '{key}' must be a JSON object model spec")
    members = _json_value(raw.get("members"), f"{key}.members")
    if not isinstance(members, list) or not members:
        raise ConfigError(f"hyperparameter '{key}' needs a non-empty 'members' list")
    spec = ModelSpec(members=[parse_member(m, f"{key}.members[{i}]") for i, m in enumerate(members)])
    spec.epochs = _number(raw.get("epochs"), f"{key}.epochs", int, spec.epochs)
    spec.lr = _number(raw.get("lr"), f"{key}.lr", float, spec.lr)
    spec.weight_decay = _number(raw.get("weightDecay"), f"{key}.weightDecay", float, spec.weight_decay)
    spec.patience = _number(raw.get("patience"), f"{key}.patience", int, spec.patience)
    if spec.epochs < 1 or spec.lr <= 0 or spec.weight_decay < 0 or spec.patience < 1:
        raise ConfigError(f"hyperparameter '{key}' has an out-of-range epochs/lr/weightDecay/patience")
    return spec


QUANTIZATION_MODES = ("int8-weights", "int8-static", "none")


@dataclass
class CompressionSpec:
    """Student-phase compression: structured pruning of deep members, then int8 quantisation."""
    prune_ratio: float = 0.25      # fraction of hidden units AND embedding dims removed per layer
    fine_tune_epochs: int = 3      # distillation fine-tune after pruning
    quantization: str = "int8-weights"
    calibration_rows: int = 2048   # training rows used for activation ranges (int8-static)

    def to_dict(self):
        return {"pruneRatio": self.prune_ratio, "fineTuneEpochs": self.fine_tune_epochs,
                "quantization": self.quantization, "calibrationRows": self.calibration_rows}


def parse_compression(raw, key: str = "compression") -> CompressionSpec:
    c = CompressionSpec()
    if raw in (None, ""):
        return c
    raw = _json_value(raw, key)
    if not isinstance(raw, dict):
        raise ConfigError(f"hyperparameter '{key}' must be a JSON object like "
                          f'{{"pruneRatio": 0.25, "fineTuneEpochs": 3, '
                          f'"quantization": "int8-weights", "calibrationRows": 2048}}')
    c.prune_ratio = _number(raw.get("pruneRatio"), f"{key}.pruneRatio", float, c.prune_ratio)
    c.fine_tune_epochs = _number(raw.get("fineTuneEpochs"), f"{key}.fineTuneEpochs", int,
                                 c.fine_tune_epochs)
    c.calibration_rows = _number(raw.get("calibrationRows"), f"{key}.calibrationRows", int,
                                 c.calibration_rows)
    q = raw.get("quantization", c.quantization)
    c.quantization = str(q).strip().lower() if q is not None else c.quantization
    if not 0.0 <= c.prune_ratio < 1.0:
        raise ConfigError(f"hyperparameter '{key}.pruneRatio' must be within [0, 1), "
                          f"got {c.prune_ratio}")
    if c.fine_tune_epochs < 0:
        raise ConfigError(f"hyperparameter '{key}.fineTuneEpochs' must be >= 0, "
                          f"got {c.fine_tune_epochs}")
    if c.calibration_rows < 1:
        raise ConfigError(f"hyperparameter '{key}.calibrationRows' must be >= 1, "
                          f"got {c.calibration_rows}")
    if c.quantization not in QUANTIZATION_MODES:
        raise ConfigError(f"hyperparameter '{key}.quantization' must be one of "
                          f"{QUANTIZATION_MODES}, got {q!r}")
    return c


@dataclass
class Hyperparameters:
    phase: str = "teacher"
    task_kind: Optional[str] = None  # defaults to manifest "kind"
    seed: int = 0
    batch_size: int = 256
    temperature: float = 4.0
    alpha: float = 0.7
    teacher: Optional[ModelSpec] = None
    student: Optional[ModelSpec] = None
    compression: CompressionSpec = field(default_factory=CompressionSpec)


def parse_hyperparameters(raw: dict) -> Hyperparameters:
    """Parse SageMaker's all-strings dict. Specs are only required by the phase that uses them."""
    if not isinstance(raw, dict):
        raise ConfigError("hyperparameters.json must hold a JSON object")
    hp = Hyperparameters()
    hp.phase = str(raw.get("phase", hp.phase)).strip().lower()
    if hp.phase not in ("teacher", "student"):
        raise ConfigError(f"hyperparameter 'phase' must be 'teacher' or 'student', got {hp.phase!r}")
    if raw.get("task_kind") not in (None, ""):
        hp.task_kind = str(raw["task_kind"]).strip().lower()
    hp.seed = _number(raw.get("seed"), "seed", int, hp.seed)
    hp.batch_size = _number(raw.get("batch_size"), "batch_size", int, hp.batch_size)
    hp.temperature = _number(raw.get("temperature"), "temperature", float, hp.temperature)
    hp.alpha = _number(raw.get("alpha"), "alpha", float, hp.alpha)
    if hp.batch_size < 1:
        raise ConfigError("hyperparameter 'batch_size' must be >= 1")
    if hp.temperature <= 0:
        raise ConfigError("hyperparameter 'temperature' must be > 0")
    if not 0.0 <= hp.alpha <= 1.0:
        raise ConfigError("hyperparameter 'alpha' must be within [0, 1]")
    if raw.get("teacher") not in (None, ""):
        hp.teacher = parse_model_spec(raw["teacher"], "teacher")
    if raw.get("student") not in (None, ""):
        hp.student = parse_model_spec(raw["student"], "student")
    hp.compression = parse_compression(raw.get("compression"))
    if hp.phase == "teacher" and hp.teacher is None:
        raise ConfigError("phase 'teacher' needs the hyperparameter 'teacher' (JSON model spec)")
    if hp.phase == "student" and hp.student is None:
        raise ConfigError("phase 'student' needs the hyperparameter 'student' (JSON model spec)")
    return hp


def load_hyperparameters(path: Path) -> Hyperparameters:
    if not Path(path).is_file():
        raise ConfigError(f"hyperparameters file not found: {path}")
    with open(path, "r", encoding="utf-8") as fh:
        try:
            raw = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    return parse_hyperparameters(raw)
