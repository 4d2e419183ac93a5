#!/usr/bin/env bash
# Runs the trainer's pytest suite from any working directory.
# Python choice: $DISTILLERY_PYTHON, else /usr/bin/python3, else python3 on PATH;
# the first one that imports torch, numpy, onnx and pytest is used.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
candidates=()
[ -n "${DISTILLERY_PYTHON:-}" ] && candidates+=("$DISTILLERY_PYTHON")
[ -x /usr/bin/python3 ] && candidates+=(/usr/bin/python3)
command -v python3 >/dev/null 2>&1 && candidates+=("$(command -v python3)")

report=""
for py in "${candidates[@]}"; do
  missing="$("$py" - <<'PY' 2>/dev/null
import importlib
missing = []
for name in ("torch", "numpy", "onnx", "pytest"):
    try:
        importlib.import_module(name)
    except Exception:
        missing.append(name)
print(" ".join(missing))
PY
)" || missing="(python failed to start)"
  if [ -z "$missing" ]; then
    cd "$here/../.." && exec "$py" -m pytest -q containers/trainer/tests "$@"
  fi
  report="$report\n  $py: missing $missing"
done
if [ ${#candidates[@]} -eq 0 ]; then report="\n  no python3 found (set DISTILLERY_PYTHON)"; fi
printf "trainer tests need a Python with torch, numpy, onnx and pytest; none found:%b\n" "$report" >&2
printf "Set DISTILLERY_PYTHON=/path/to/python or install the missing modules.\n" >&2
exit 1
