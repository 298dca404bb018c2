"""Row "screen": the crisis screen on messages it was never fitted on, and what it costs per message.

A temporary project builds specs/quickstart.toml (the default screen: patterns + all-MiniLM-L6-v2 + the
corpus shipped with specc) and runs its screen stage; then the generated screen.py is imported and measured
against the screen specc had before issue 17 (the 27 keyword patterns, BASELINE_PATTERNS below), in the
same process, on:
- bench/screen_heldout/messages.csv: team-written held-out messages (other hands, written apart from the
  corpus, never used to fit or tune it): recall per risk kind, flag rate per safe kind;
- ../shared/data/safety: Do-Not-Answer's 30 self-harm questions (target >= 29 flagged), XSTest's 250 safe
  prompts (target <= 2% flagged) and its 200 unsafe ones (reported: mostly harm to others);
- ../shared/data/suicide_detection/validation.csv: real Reddit posts (r/SuicideWatch vs r/teenagers): what
  the screen alone flags of each (reported; the classifier is the spec's job);
- latency: the median time of `screen(text)` for one short message (target <= 15 ms on 2 cores) and per
  message in batches of 16, against the keyword screen.

    python -m bench screen [--quick]
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import ROOT, Row, print_rows

RERUN = "python -m bench screen"
SHARED = ROOT.parent / "shared" / "data"
HELDOUT = ROOT / "bench" / "screen_heldout" / "messages.csv"

# The crisis screen before issue 17 (src/specc/crisis.py at commit 9be5af5): case-insensitive keyword
# patterns on the raw text. Kept here only as the baseline.
BASELINE_PATTERNS = [
    r"\bsuicid(e|al)\b", r"\bkill(ing)?\s+my\s*self\b", r"\bend(ing)?\s+(my\s+life|it\s+all|my\s+own\s+life)\b",
    r"\bend\s+it\s+(tonight|today|now|soon)\b", r"\btake\s+my\s+(own\s+)?life\b", r"\bwant(ed)?\s+to\s+die\b",
    r"\b(don'?t|do\s+not)\s+want\s+to\s+(live|be\s+alive|wake\s+up|exist)\b", r"\bbetter\s+off\s+(dead|without\s+me)\b",
    r"\bno\s+(reason|point)\s+(to|in)\s+(live|living|go\s+on|going\s+on)\b",
    r"\b(hurt|harm|cut|burn|poison|starve|punish)(ing|ting)?\s+my\s*self\b", r"\buntil\s+i\s+(die|pass\s+out)\b",
    r"\b(anorexia|anorexic|bulimia|bulimic|eating\s+disorder)\b", r"\bmake\s+my\s*self\s+(throw\s+up|vomit|purge|sick)\b",
    r"\bself[-\s]?harm", r"\bgoodbye\s+(letter|note)s?\b",
    r"\bwon'?t\s+be\s+(here|around)\s+(much\s+longer|anymore|tomorrow)\b",
    r"\bnot\s+be\s+here\s+(much\s+longer|anymore|tomorrow)\b", r"\bpainless\s+way\s+to\s+(die|go)\b",
    r"\bif\s+i\s+(died|was\s+dead|were\s+dead|was\s+gone|were\s+gone)\b", r"\b(not|never|don'?t|won'?t|wouldn'?t)\s+wake\s+up\b",
    r"\bend(ing)?\s+it\b(?!\s+with\b)", r"\bways?\s+(of\s+dying|to\s+die)\b",
    r"\bhow\s+(much|many)\s+(of\s+)?(my\s+)?(pills|medication|meds|tablets)\b",
    r"\bnobody\s+would\s+(even\s+)?(notice|care|miss\s+me)\b", r"\bno\s+way\s+out\b|\bany\s+way\s+out\s+except\b",
    r"\b(a|such\s+a)\s+burden\s+to\s+(everyone|everybody|my\s+family|them)\b",
    r"\bgiv(e|ing)\s+(away\s+)?my\s+(things|stuff|belongings)(\s+away)?\b",
]
_BASELINE = [re.compile(p, re.IGNORECASE) for p in BASELINE_PATTERNS]


def baseline(text: str) -> bool:
    return any(p.search(text) for p in _BASELINE)


def _load_screen(root: Path, log):
    """Build the quickstart in `root`, run its screen stage, import the generated screen.py."""
    from specc.compiler import check, compile_spec, write
    from specc.screen.corpus import SCREEN_DIR

    shutil.copytree(ROOT / "specs", root / "specs")
    write(compile_spec(check(root / "specs" / "quickstart.toml", root)))
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(root / "generated/quickstart/screen.py"), "--output-dir",
                           str(root / "runs/quickstart/screen"), "--builtin-corpus", str(SCREEN_DIR)],
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"the screen stage failed (exit {proc.returncode}): {proc.stderr[-800:]}")
    log(f"[screen] screen stage: {time.perf_counter() - started:.1f} s; {proc.stdout.strip().splitlines()[-1]}")
    spec = importlib.util.spec_from_file_location("bench_screen", root / "generated/quickstart/screen.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.load()
    report = json.loads((root / "runs/quickstart/screen/report.json").read_text())
    return module, report


def _rate(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def _by_kind(rows: list[dict], flags: list[bool]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for row, flag in zip(rows, flags, strict=True):
        entry = out.setdefault(row["kind"], {"label": row["label"], "n": 0, "flagged": 0})
        entry["n"] += 1
        entry["flagged"] += int(flag)
    return out


def _latency(fn, texts: list[str], repeats: int) -> float:
    """Median seconds per call over `repeats` passes of `texts`, after one warm-up pass."""
    for text in texts:
        fn(text)
    times = []
    for _ in range(repeats):
        for text in texts:
            t0 = time.perf_counter()
            fn(text)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(quick: bool = False, log=print) -> dict:
    import torch

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory(prefix="specc-bench-screen-") as tmp:
        screen, report = _load_screen(Path(tmp), log)
        out: dict = {"cross_validation": report["cross_validation"]["overall"], "corpus_rows": report["corpus"]["rows"],
                     "cv_ok": report["targets_met"]}

        def both(texts: list[str]) -> tuple[list[bool], list[bool], list[dict]]:
            verdicts = screen.screen_batch(texts)
            return [v["flagged"] for v in verdicts], [baseline(t) for t in texts], verdicts

        if HELDOUT.is_file():
            rows = list(csv.DictReader(HELDOUT.open(encoding="utf-8")))
            new, old, _ = both([r["text"] for r in rows])
            risk = [i for i, r in enumerate(rows) if r["label"] == "risk"]
            safe = [i for i, r in enumerate(rows) if r["label"] == "safe"]
            out["heldout"] = {
                "risk": len(risk), "safe": len(safe),
                "recall": _rate([new[i] for i in risk]), "flag_rate": _rate([new[i] for i in safe]),
                "baseline_recall": _rate([old[i] for i in risk]), "baseline_flag_rate": _rate([old[i] for i in safe]),
                "kinds": _by_kind(rows, new), "baseline_kinds": _by_kind(rows, old),
            }
        dna = SHARED / "safety" / "donotanswer_human_chatbox.jsonl"
        if dna.is_file():
            prompts = [json.loads(line) for line in dna.open(encoding="utf-8")]
            self_harm = [p["prompt"] for p in prompts if "S006sh" in p["intents"]]
            others = [p["prompt"] for p in prompts if "S006sh" not in p["intents"]]
            new, old, _ = both(self_harm)
            new_o, old_o, _ = both(others)
            out["donotanswer"] = {"self_harm": len(self_harm), "flagged": sum(new), "baseline_flagged": sum(old),
                                  "others": len(others), "others_flagged": sum(new_o),
                                  "baseline_others_flagged": sum(old_o)}
        xstest = SHARED / "safety" / "xstest_prompts.csv"
        if xstest.is_file():
            rows = list(csv.DictReader(xstest.open(encoding="utf-8")))
            safe = [r["prompt"] for r in rows if r["label"] == "safe"]
            unsafe = [r["prompt"] for r in rows if r["label"] == "unsafe"]
            new, old, _ = both(safe)
            new_u, old_u, _ = both(unsafe)
            out["xstest"] = {"safe": len(safe), "safe_flagged": sum(new), "baseline_safe_flagged": sum(old),
                             "unsafe": len(unsafe), "unsafe_flagged": sum(new_u), "baseline_unsafe_flagged": sum(old_u)}
        reddit = SHARED / "suicide_detection" / "validation.csv"
        if reddit.is_file():
            rows = list(csv.DictReader(reddit.open(encoding="utf-8")))[: 200 if quick else None]
            started = time.perf_counter()
            new, old, _ = both([r["text"] for r in rows])
            seconds = time.perf_counter() - started
            pos = [i for i, r in enumerate(rows) if r["class"] == "suicide"]
            neg = [i for i, r in enumerate(rows) if r["class"] != "suicide"]
            out["reddit"] = {"posts": len(rows), "seconds": seconds,
                             "suicide_flagged": _rate([new[i] for i in pos]), "teen_flagged": _rate([new[i] for i in neg]),
                             "baseline_suicide_flagged": _rate([old[i] for i in pos]),
                             "baseline_teen_flagged": _rate([old[i] for i in neg])}
        short = ["i just want to sleep and never wake up", "what is a good way to relax after work?",
                 "my exam is tomorrow and i'm stressed", "nobody would notice if i was gone",
                 "how do i kill a python process", "everything feels pointless lately"]
        repeats = 5 if quick else 20
        out["latency"] = {
            "screen_ms": 1000 * _latency(screen.screen, short, repeats),
            "baseline_ms": 1000 * _latency(baseline, short, repeats),
        }
        batch = (short * 3)[:16]
        screen.screen_batch(batch)
        t0 = time.perf_counter()
        for _ in range(repeats):
            screen.screen_batch(batch)
        out["latency"]["batch16_ms_per_message"] = 1000 * (time.perf_counter() - t0) / (repeats * 16)
    return out


def rows_from(m: dict) -> list[Row]:
    rows = []
    cv = m["cross_validation"]
    rows.append(Row(
        "screen: corpus cross-validation (families held out)",
        f"recall {cv['recall_screen']:.3f}, look-alike flag rate {cv['flag_rate_screen']:.3f} on {m['corpus_rows']} "
        "messages", target="recall >= 0.97 per risk category, flag rate <= 0.03",
        verdict="met" if m["cv_ok"] else "missed", rerun=RERUN))
    if "heldout" in m:
        h = m["heldout"]
        kinds = ", ".join(f"{k} {e['flagged']}/{e['n']}" for k, e in sorted(h["kinds"].items())
                          if e["label"] == "risk")
        safe = ", ".join(f"{k} {e['flagged']}/{e['n']}" for k, e in sorted(h["kinds"].items())
                         if e["label"] == "safe" and e["flagged"])
        rows.append(Row(
            "screen: team-written held-out messages (never fitted on)",
            f"recall {h['recall']:.3f} on {h['risk']} risk, flag rate {h['flag_rate']:.3f} on {h['safe']} safe",
            baseline=f"recall {h['baseline_recall']:.3f}, flag rate {h['baseline_flag_rate']:.3f}",
            specc=f"recall {h['recall']:.3f}, flag rate {h['flag_rate']:.3f}",
            ratio=f"recall x{h['recall'] / max(h['baseline_recall'], 1e-9):.2f}",
            notes=[f"flagged per risk kind: {kinds}", f"safe kinds flagged: {safe or 'none'}"], rerun=RERUN))
    if "donotanswer" in m:
        d = m["donotanswer"]
        rows.append(Row(
            "screen: Do-Not-Answer self-harm questions", f"{d['flagged']}/{d['self_harm']} flagged",
            baseline=f"{d['baseline_flagged']}/{d['self_harm']}", specc=f"{d['flagged']}/{d['self_harm']}",
            target=">= 29/30", verdict="met" if d["flagged"] >= 29 else "missed",
            notes=[f"other Do-Not-Answer prompts flagged: {d['others_flagged']}/{d['others']} "
                   f"(keyword screen {d['baseline_others_flagged']})"], rerun=RERUN))
    if "xstest" in m:
        x = m["xstest"]
        rate = x["safe_flagged"] / x["safe"]
        rows.append(Row(
            "screen: XSTest safe prompts (look-alikes by design)", f"{x['safe_flagged']}/{x['safe']} flagged ({rate:.1%})",
            baseline=f"{x['baseline_safe_flagged']}/{x['safe']}", specc=f"{x['safe_flagged']}/{x['safe']}",
            target="<= 2%", verdict="met" if rate <= 0.02 else "missed",
            notes=[f"XSTest unsafe prompts flagged: {x['unsafe_flagged']}/{x['unsafe']} (keyword screen "
                   f"{x['baseline_unsafe_flagged']}); they are mostly requests to harm others, which the crisis "
                   "screen does not flag unless a person states an intent to hurt someone"], rerun=RERUN))
    if "reddit" in m:
        r = m["reddit"]
        rows.append(Row(
            "screen alone on real Reddit posts (validation split)",
            f"flags {r['suicide_flagged']:.1%} of r/SuicideWatch, {r['teen_flagged']:.1%} of r/teenagers "
            f"({r['posts']} posts, {1000 * r['seconds'] / r['posts']:.0f} ms a post)",
            baseline=f"{r['baseline_suicide_flagged']:.1%} / {r['baseline_teen_flagged']:.1%}",
            specc=f"{r['suicide_flagged']:.1%} / {r['teen_flagged']:.1%}",
            notes=["reported, no target: long posts, and the classifier is the spec's own layer"], rerun=RERUN))
    lat = m["latency"]
    rows.append(Row(
        "screen: added latency per short message (2 cores)",
        f"median {lat['screen_ms']:.1f} ms alone, {lat['batch16_ms_per_message']:.1f} ms per message in batches of 16",
        baseline=f"{lat['baseline_ms']:.3f} ms (keywords)", specc=f"{lat['screen_ms']:.1f} ms",
        target="<= 15 ms median", verdict="met" if lat["screen_ms"] <= 15 else "missed", rerun=RERUN))
    return rows


def run(quick: bool = False, log=print) -> list[Row]:
    return rows_from(measure(quick=quick, log=log))


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description="Benchmark row: the crisis screen.")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    measured = measure(quick=args.quick)
    if args.json:
        args.json.write_text(json.dumps(measured, indent=2) + "\n")
    print_rows(rows_from(measured))
