"""`specc run`: build when stale, then run the generated scripts as subprocesses, one stage after another,
with a progress bar and a summary at the end."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path

from .compiler import check, compile_or_reuse, write
from .errors import EXIT_GATE_FAILED, EXIT_OK, SpecInvalid, StageFailed, UsageError
from .fingerprint import fingerprints, finished, forget, interrupted, mark_running, record, recorded
from .records import write_run_record
from .validate import did_you_mean

# Warnings at check time that are errors once something is about to run.
RUN_BLOCKERS = {"data-file-missing", "model-not-found", "package-missing", "screen-encoder-missing"}
_STEP = re.compile(r"\bstep (\d+)/(\d+)\b")


@dataclass(frozen=True)
class StageRun:
    name: str
    script: Path
    args: list[str]
    output_dir: Path
    trains: bool = False  # a training stage (it can resume from a checkpoint)
    python_args: tuple[str, ...] = ()  # launcher before the script (torchrun for training stages)


def plan_stages(compiled, root: Path, max_steps: int | None) -> list[StageRun]:
    plan = compiled.plan
    from .screen.corpus import SCREEN_DIR

    screen_out = root / plan["screen"]["output_dir"]
    runs = [StageRun("screen", compiled.target / plan["screen"]["script"],
                     ["--output-dir", str(screen_out), "--builtin-corpus", str(SCREEN_DIR)], screen_out)]
    for stage in plan["stages"]:
        out = root / stage["output_dir"]
        args = ["--output-dir", str(out)]
        if max_steps:
            args += ["--max-steps", str(max_steps)]
        runs.append(StageRun(stage["name"], compiled.target / stage["script"], args, out, trains=True,
                             python_args=tuple(plan["compute"]["python_args"])))
    if plan["spec"]["task"] == "chat":
        safety_out = root / plan["safety"]["output_dir"]
        runs.append(StageRun("safety", compiled.target / plan["safety"]["script"], ["--output-dir", str(safety_out)],
                             safety_out))
        card_out = root / plan["card"]["output"]
        runs.append(StageRun("model_card", compiled.target / plan["card"]["script"], ["--output", str(card_out)],
                             card_out.parent))
        return runs
    ev, safety, card = plan["evaluation"], plan["safety"], plan["card"]
    model_dir, ev_out, safety_out = root / ev["model_dir"], root / ev["output_dir"], root / safety["output_dir"]
    runs.append(StageRun("evaluate", compiled.target / ev["script"],
                         ["--model-dir", str(model_dir), "--output-dir", str(ev_out)], ev_out))
    runs.append(StageRun("safety", compiled.target / safety["script"],
                         ["--model-dir", str(model_dir), "--threshold-file", str(ev_out / "threshold.json"),
                          "--output-dir", str(safety_out)], safety_out))
    card_out = root / card["output"]
    runs.append(StageRun("model_card", compiled.target / card["script"],
                         ["--train-dir", str(root / plan["stages"][0]["output_dir"]), "--evaluate-dir", str(ev_out),
                          "--safety-dir", str(safety_out), "--output", str(card_out)], card_out.parent))
    return runs


def check_runnable(spec_path: Path, root: Path):
    """Check a spec for running: warnings that would stop a script (missing data, model or package) are
    errors here."""
    checked = check(spec_path, root)
    blockers = [replace(d, severity="error") for d in checked.warnings if d.code in RUN_BLOCKERS]
    if blockers:
        raise SpecInvalid(blockers)
    return checked


def _stop_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def run_spec(spec_path: Path, root: Path, only: str | None, max_steps: int | None, console,
             force: bool = False) -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # so that the running stage's script is stopped too
    checked = check_runnable(spec_path, root)
    for d in checked.warnings:
        console.print(d.render(), style="yellow", markup=False)
    compiled = compile_or_reuse(checked)
    if write(compiled):
        console.print(f"built {compiled.target}", markup=False)
    stages = plan_stages(compiled, root, max_steps)
    if only is not None:
        names = [s.name for s in stages]
        if only not in names:
            hint = did_you_mean(only, names) or "stages: " + ", ".join(names)
            raise UsageError(f'no stage named "{only}" in {compiled.name}; {hint}')
        stages = [s for s in stages if s.name == only]

    fps = fingerprints(compiled.plan, compiled.files, {s.name: s.script.name for s in plan_stages(compiled, root, None)},
                       root, max_steps)
    started_at = time.time()
    gate_failures: list[str] = []
    history: list[dict] = []
    for stage in stages:
        fp = fps[stage.name]
        before = recorded(stage.output_dir)
        began = time.perf_counter()
        if not force and only is None and before is not None and before["fingerprint"] == fp:
            code = int(before.get("exit_code", 0))
            console.print(f"stage {stage.name}: up to date (fingerprint {fp[:12]}), skipped -> {stage.output_dir}",
                          style="green", markup=False)
            status = "cached"
        else:
            forget(stage.output_dir)
            if (stage.trains and interrupted(stage.output_dir) == fp
                    and any((stage.output_dir / "checkpoints").glob("checkpoint-*"))):
                console.print(f"stage {stage.name}: an earlier run with the same inputs was interrupted; "
                              "resuming from its last checkpoint", style="yellow", markup=False)
                stage = replace(stage, args=[*stage.args, "--resume"])
            mark_running(stage.output_dir, fp)
            try:
                code = _run_stage(stage, root, console)
            except StageFailed as exc:
                history.append({"stage": stage.name, "fingerprint": fp, "status": "failed", "exit_code": exc.returncode,
                                "seconds": round(time.perf_counter() - began, 2)})
                write_run_record(compiled, root, started_at, history, exc.exit_code, max_steps)
                raise
            record(stage.output_dir, stage.name, fp, code)
            finished(stage.output_dir)
            status = "ran"
        history.append({"stage": stage.name, "fingerprint": fp, "status": status, "exit_code": code,
                        "seconds": round(time.perf_counter() - began, 2), "result": _result(stage)})
        if code == EXIT_GATE_FAILED:  # keep going: safety results and the model card are still wanted
            gate_failures.append(stage.name)
    _summary(stages, console)
    write_run_record(compiled, root, started_at, history, EXIT_GATE_FAILED if gate_failures else EXIT_OK, max_steps)
    if gate_failures:
        raise StageFailed(gate_failures[0], EXIT_GATE_FAILED,
                          f"not fit to ship: {' and '.join(gate_failures)} failed (see above)")
    return EXIT_OK


def _run_stage(stage: StageRun, root: Path, console) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    env = dict(os.environ, PYTHONUNBUFFERED="1", HF_HUB_DISABLE_TELEMETRY="1", TQDM_DISABLE="1")
    tail: deque[str] = deque(maxlen=25)
    console.rule(f"stage {stage.name}", style="cyan")
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task(stage.name, total=None)
        proc = subprocess.Popen([sys.executable, *stage.python_args, str(stage.script), *stage.args], cwd=root, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                line = line.rstrip("\n")
                tail.append(line)
                m = _STEP.search(line)
                if m:
                    progress.update(task, completed=int(m.group(1)), total=int(m.group(2)))
                if line.startswith((f"[{stage.name}]", "error:")):
                    console.print(line, markup=False, highlight=False)
            code = proc.wait()
        except BaseException:  # Ctrl-C or SIGTERM: stop the script too, never leave it training alone
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    if code == EXIT_GATE_FAILED:
        console.print(f"stage {stage.name}: FAILED its gates -> {stage.output_dir}", style="bold red", markup=False)
        return code
    if code != 0:
        console.print("\n".join(tail), markup=False, style="dim")
        what = {2: "stopped on bad input", 4: "could not read or write a file (disk full? read-only?)"}.get(
            code, f"crashed (exit {code})")
        raise StageFailed(stage.name, code, f"stage {stage.name} {what}; see the output above")
    console.print(f"stage {stage.name}: done -> {stage.output_dir}", style="green", markup=False)
    return code


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _result(stage: StageRun) -> str:
    """One line on what a stage produced, from the files it wrote."""
    if stage.name == "safety":
        safety = _read(stage.output_dir / "safety.json")
        if not safety:
            return "(no safety.json)"
        s = safety["summary"]
        return (f"{s['passed']}/{s['cases']} cases passed, critical failures {s['critical_failures']}, "
                f"pass rate {s['pass_rate']:.3f} (required {s['required_pass_rate']})")
    if stage.name == "model_card":
        return "model_card.md"
    if stage.name == "screen":
        report = _read(stage.output_dir / "report.json")
        if not report:
            return "(no report.json)"
        o = report["cross_validation"]["overall"]
        return (f"{report['corpus']['rows']} corpus messages; cross-validated recall {o['recall_screen']:.3f}, "
                f"look-alike flag rate {o['flag_rate_screen']:.3f}"
                + ("" if report["targets_met"] else "; below specc's targets (report.md)"))
    metrics = _read(stage.output_dir / "metrics.json")
    if metrics is None:
        return "(no metrics.json)"
    if metrics.get("kind") in ("sft", "dpo"):
        return _chat_result(metrics)
    source = metrics if stage.name == "evaluate" else metrics.get("validation", metrics)
    shown = ", ".join(f"{k} {source[k]:.3f}" for k in ("accuracy", "precision", "recall", "f1", "roc_auc")
                      if isinstance(source.get(k), (int, float)))
    if stage.name == "evaluate" and (metrics.get("threshold") or {}).get("threshold") is not None:
        shown += f"; threshold {metrics['threshold']['threshold']:.4f}"
    failed = sum(not g["passed"] for g in metrics.get("gates") or [])
    return shown + (f"; {failed} gate(s) FAILED" if failed else "")


def _chat_result(metrics: dict) -> str:
    losses = [e["loss"] for e in metrics.get("log") or [] if "loss" in e]
    shown = f"{metrics['steps']} steps, {metrics['seconds_per_step']:.2f} s/step"
    if losses:
        shown += f", loss {losses[0]:.4f} -> {losses[-1]:.4f}"
    if metrics.get("validation", {}).get("loss") is not None:
        shown += f", validation loss {metrics['validation']['loss']:.4f}"
    rss = (metrics.get("memory") or {}).get("peak_rss_bytes")
    if rss:
        shown += f", peak RSS {rss / 2**30:.2f} GiB"
    return shown


def _failed_gates(stages: list[StageRun]) -> list[str]:
    """One line per failed gate: which, the bound, what was measured, and by how much it fell short."""
    lines = []
    for stage in stages:
        for gate in (_read(stage.output_dir / "metrics.json") or {}).get("gates") or []:
            if not gate["passed"]:
                value = "n/a" if gate["value"] is None else f"{gate['value']:.4f}"
                short = "" if gate["margin"] is None else f", short by {abs(gate['margin']):.4f}"
                lines.append(f"GATE FAILED {gate['name']} {gate['op']} {gate['bound']}: measured {value}{short}")
    return lines


def _summary(stages: list[StageRun], console) -> None:
    from rich.table import Table

    table = Table(title="run summary")
    table.add_column("stage")
    table.add_column("output")
    table.add_column("result")
    for stage in stages:
        table.add_row(stage.name, str(stage.output_dir), _result(stage))
    console.print(table)
    for line in _failed_gates(stages):
        console.print(line, style="bold red", markup=False, soft_wrap=True)
