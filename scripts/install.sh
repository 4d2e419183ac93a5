#!/usr/bin/env bash
# Installs everything ERP Distillery needs on a Debian machine: the npm packages (onnxruntime-node's
# CPU binaries ship in the package; its CUDA download is skipped) and the trainer's Python packages
# from Debian (torch, onnx, numpy, pytest). Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export ONNXRUNTIME_NODE_INSTALL=skip
py="${DISTILLERY_PYTHON:-/usr/bin/python3}"
if "$py" -c 'import torch, numpy, onnx, pytest' 2>/dev/null; then
  echo "trainer packages: present in $py"
else
  echo "trainer packages: installing python3-torch python3-onnx python3-numpy python3-pytest from Debian"
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to apt-get install the trainer's packages" >&2; exit 1; }
    sudo_cmd="sudo"
  fi
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends \
    python3-torch python3-onnx python3-numpy python3-pytest
  /usr/bin/python3 -c 'import torch, numpy, onnx, pytest; print("trainer packages: torch", torch.__version__, "onnx", onnx.__version__)'
fi

if [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  echo "npm packages: up to date"
else
  echo "npm packages: npm ci"
  npm ci --no-audit --no-fund
fi
