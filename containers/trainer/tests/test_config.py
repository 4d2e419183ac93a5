import json

import pytest

from distillery_trainer.config import ConfigError, parse_hyperparameters
from distillery_trainer.paths import from_env


def test_all_string_hyperparameters_parse():
    raw = {"phase": "student", "task_kind": "classification", "seed": "42", "batch_size": "128",
           "temperature": "4", "alpha": "0.7", "unknown_key": "whatever",
           "teacher": json.dumps({"members": [{"type": "wide", "buckets": 262144},
                                              {"type": "deep", "buckets": 262144, "dim": 64,
                                               "hidden": [256], "dropout": 0.2}],
                                  "epochs": 20, "lr": 0.003, "weightDecay": 0.0}),
           "student": '{"members":[{"type":"deep","buckets":"65536","dim":"32","hidden":"[64]"}],'
                      '"epochs":"10","lr":"0.01"}'}
    hp = parse_hyperparameters(raw)
    assert hp.phase == "student" and hp.seed == 42 and hp.batch_size == 128
    assert hp.temperature == 4.0 and hp.alpha == pytest.approx(0.7)
    assert [m.type for m in hp.teacher.members] == ["wide", "deep"]
    assert hp.teacher.epochs == 20 and hp.teacher.lr == pytest.approx(0.003)
    s = hp.student.members[0]
    assert (s.buckets, s.dim, s.hidden, hp.student.epochs) == (65536, 32, [64], 10)


@pytest.mark.parametrize("raw, key", [
    ({"phase": "teacher", "teacher": "{not json"}, "teacher"),
    ({"phase": "teacher", "teacher": '{"members": []}'}, "members"),
    ({"phase": "teacher", "batch_size": "lots", "teacher": '{"members":[{}]}'}, "batch_size"),
    ({"phase": "teacher", "teacher": '{"members":[{"type":"cnn"}]}'}, "type"),
    ({"phase": "student", "student": '{"members":[{}]}', "alpha": "1.5"}, "alpha"),
    ({"phase": "distil"}, "phase"),
    ({"phase": "student"}, "student"),
])
def test_bad_hyperparameters_name_the_key(raw, key):
    with pytest.raises(ConfigError, match=key):
        parse_hyperparameters(raw)


def test_paths_defaults_and_overrides():
    p = from_env({})
    assert str(p.dataset) == "/opt/ml/input/data/dataset"
    assert str(p.hyperparameters) == "/opt/ml/input/config/hyperparameters.json"
    assert str(p.failure) == "/opt/ml/output/failure"
    p = from_env({"SM_MODEL_DIR": "/tmp/m", "SM_CHANNEL_TEACHER": "/tmp/t"})
    assert str(p.model) == "/tmp/m" and str(p.teacher) == "/tmp/t"
