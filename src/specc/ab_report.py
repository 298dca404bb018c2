"""`specc ab-report`: compare the two models of an A/B test from what the serving app recorded.

Reads `runs/<spec>/serve/decisions.jsonl` (one line per request: which model answered, its decision, no
text and no id) and the review queue's reviewed items (which model flagged them, what the reviewer said).
Per model: requests, model flags, human-attention rate, model errors, latency; the difference of the flag
rates with a 95% interval; and, where reviewers labelled flags, the share of each model's flags they
confirmed. Pure Python: no torch, no transformers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from .errors import OutputError, UsageError
from .feedback import reviewed_items
from .write import write_file_atomic


def decisions_path(root: Path, spec_name: str) -> Path:
    return root / "runs" / spec_name / "serve" / "decisions.jsonl"


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def compare(spec, root: Path, risk_labels: list[str], b: str) -> dict:
    """The comparison as a dict (see the module docstring)."""
    if spec.serving.ab is None:
        raise UsageError(f"{spec.name} has no A/B test ([serving.ab])")
    path = decisions_path(root, spec.name)
    if not path.is_file():
        raise UsageError(f"no decisions recorded yet at {path}: serve the spec (`specc serve`) and send traffic first")
    arms: dict[str, dict] = {}
    bad = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            d = json.loads(line)
            name = str(d["model"])
        except (ValueError, KeyError, TypeError):
            bad += 1  # a line cut short by a crash: skipped, counted
            continue
        arm = arms.setdefault(name, {"requests": 0, "model_flags": 0, "attention": 0, "model_errors": 0, "ms": []})
        arm["requests"] += 1
        arm["model_flags"] += bool(d.get("model_flag"))
        arm["attention"] += bool(d.get("attention"))
        arm["model_errors"] += not d.get("model_ok", True)
        if isinstance(d.get("ms"), (int, float)):
            arm["ms"].append(float(d["ms"]))
    for item in reviewed_items(root, spec.name):
        arm = arms.get(str(item.get("model")))
        label = item["review"].get("label")
        if arm is None or label is None:
            continue
        arm.setdefault("reviewed", 0)
        arm.setdefault("confirmed", 0)
        arm["reviewed"] += 1
        arm["confirmed"] += label in risk_labels
    rows = {}
    for name, arm in arms.items():
        n = arm["requests"]
        rows[name] = {
            "requests": n, "model_flags": arm["model_flags"], "flag_rate": arm["model_flags"] / n,
            "attention_rate": arm["attention"] / n, "model_errors": arm["model_errors"],
            "p50_ms": _percentile(arm["ms"], 0.5), "p99_ms": _percentile(arm["ms"], 0.99),
            "reviewed": arm.get("reviewed", 0),
            "confirmed_share": arm["confirmed"] / arm["reviewed"] if arm.get("reviewed") else None,
        }
    a = spec.name
    rows = {name: rows[name] for name in sorted(rows, key=lambda n: (n != a, n != b, n))}
    difference = None
    if a in rows and b in rows:
        p1, n1, p2, n2 = rows[a]["flag_rate"], rows[a]["requests"], rows[b]["flag_rate"], rows[b]["requests"]
        se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        difference = {"b_minus_a": p2 - p1, "low": p2 - p1 - 1.96 * se, "high": p2 - p1 + 1.96 * se}
    return {"spec": spec.name, "a": a, "b": b, "share": spec.serving.ab.share, "models": rows,
            "flag_rate_difference": difference, "skipped_lines": bad}


def markdown(result: dict) -> str:
    def fmt(v, digits=3):
        return "n/a" if v is None else f"{v:.{digits}f}"

    lines = [f"# A/B report: {result['spec']}", "",
             f"Model A `{result['a']}` (the spec's own), model B `{result['b']}` (share {result['share']}).", "",
             "| model | requests | model flags | flag rate | attention rate | model errors | p50 ms | p99 ms | "
             "reviewed flags | confirmed by reviewers |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in result["models"].items():
        lines.append(f"| {name} | {r['requests']} | {r['model_flags']} | {fmt(r['flag_rate'])} | "
                     f"{fmt(r['attention_rate'])} | {r['model_errors']} | {fmt(r['p50_ms'], 1)} | {fmt(r['p99_ms'], 1)} | "
                     f"{r['reviewed']} | {fmt(r['confirmed_share'])} |")
    d = result["flag_rate_difference"]
    if d:
        lines += ["", f"Flag rate B - A: {d['b_minus_a']:+.3f} (95% interval {d['low']:+.3f} to {d['high']:+.3f}; "
                  "the models see different requests, so read it with the traffic in mind)."]
    else:
        lines += ["", "Only one model has answered so far: nothing to compare yet."]
    if result["skipped_lines"]:
        lines += ["", f"{result['skipped_lines']} damaged line(s) in decisions.jsonl were skipped."]
    return "\n".join(lines) + "\n"


def write_report(root: Path, result: dict) -> Path:
    out = decisions_path(root, result["spec"]).with_name("ab_report.md")
    try:
        write_file_atomic(out, markdown(result).encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from None
    return out
