"""Machine-readable progress on stdout, human logs on stderr.

The orchestrator (local child process or CloudWatch logs) parses stdout line by line: every line
is exactly one JSON object (`{"progress": ...}`, `{"done": ...}` or `{"failed": ...}`). Anything
else, including warnings, goes to stderr so it can never corrupt that stream.
"""

import json
import math
import sys


def _clean(value):
    """JSON has no NaN/Infinity; emit null so strict parsers (JSON.parse) never choke."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def emit(kind: str, payload: dict) -> None:
    """Write one `{kind: payload}` JSON line to stdout and flush it immediately."""
    sys.stdout.write(json.dumps({kind: _clean(payload)}, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def log(message: str) -> None:
    """Free-form diagnostics for humans; stderr only."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()


def dump_json(path, obj) -> None:
    """Write a JSON file (NaN-safe, stable key order for diffs)."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(_clean(obj), fh, indent=2, sort_keys=False)
        fh.write("\n")
