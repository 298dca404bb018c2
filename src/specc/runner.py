"""`specc run`: build when stale, then run the generated scripts as subprocesses, one stage after another,
with a progress bar and a summary at the end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path

from .compiler import check, compile_spec, write
from .errors import EXIT_OK, SpecInvalid, StageFailed, UsageError
from .validate import did_you_mean

# Warnings at check time that are errors once something is about to run.
RUN_BLOCKERS = {"data-file-missing", "model-not-found"}
_STEP = re.compile(r"\bstep (\d+)/(\d+)\b")


@dataclass(frozen=True)
class StageRun:
    name: str
    script: Path
    args: list[str]
    output_dir: Path


def plan_stages(compiled, root: Path, max_steps: int | None) -> list[StageRun]:
    plan = compiled.plan
    runs = []
    for stage in plan["stages"]:
        out = root / stage["output_dir"]
        args = ["--output-dir", str(out)]
        if max_steps:
            args += ["--max-steps", str(max_steps)]
        runs.append(StageRun(stage["name"], compiled.target / stage["script"], args, out))
    ev = plan["evaluation"]
    out = root / ev["output_dir"]
    runs.append(StageRun("evaluate", compiled.target / ev["script"],
                         ["--model-dir", str(root / ev["model_dir"]), "--output-dir", str(out)], out))
    return runs


def run_spec(spec_path: Path, root: Path, only: str | None, max_steps: int | None, console) -> int:
    checked = check(spec_path, root)
    blockers = [replace(d, severity="error") for d in checked.warnings if d.code in RUN_BLOCKERS]
    if blockers:
        raise SpecInvalid(blockers)
    for d in checked.warnings:
        console.print(d.render(), style="yellow", markup=False)
    compiled = compile_spec(checked)
    if write(compiled):
        console.print(f"built {compiled.target}", markup=False)
    stages = plan_stages(compiled, root, max_steps)
    if only is not None:
        names = [s.name for s in stages]
        if only not in names:
            hint = did_you_mean(only, names) or "stages: " + ", ".join(names)
            raise UsageError(f'no stage named "{only}" in {compiled.name}; {hint}')
        stages = [s for s in stages if s.name == only]

    for stage in stages:
        _run_stage(stage, root, console)
    _summary(stages, console)
    return EXIT_OK


def _run_stage(stage: StageRun, root: Path, console) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    env = dict(os.environ, PYTHONUNBUFFERED="1", HF_HUB_DISABLE_TELEMETRY="1", TQDM_DISABLE="1")
    tail: deque[str] = deque(maxlen=25)
    console.rule(f"stage {stage.name}", style="cyan")
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task(stage.name, total=None)
        proc = subprocess.Popen([sys.executable, str(stage.script), *stage.args], cwd=root, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            tail.append(line)
            m = _STEP.search(line)
            if m:
                progress.update(task, completed=int(m.group(1)), total=int(m.group(2)))
            if line.startswith((f"[{stage.name}]", "error:")):
                console.print(line, markup=False, highlight=False)
        code = proc.wait()
    if code != 0:
        console.print("\n".join(tail), markup=False, style="dim")
        what = {2: "stopped on bad input", 3: "failed a gate"}.get(code, f"crashed (exit {code})")
        raise StageFailed(stage.name, code, f"stage {stage.name} {what}; see the output above")
    console.print(f"stage {stage.name}: done -> {stage.output_dir}", style="green", markup=False)


def _summary(stages: list[StageRun], console) -> None:
    from rich.table import Table

    table = Table(title="run summary")
    table.add_column("stage")
    table.add_column("output")
    table.add_column("metrics")
    for stage in stages:
        shown = ""
        try:
            metrics = json.loads((stage.output_dir / "metrics.json").read_text(encoding="utf-8"))
            source = metrics.get("validation", metrics) if stage.name != "evaluate" else metrics
            shown = ", ".join(f"{k} {source[k]:.3f}" for k in ("accuracy", "precision", "recall", "f1", "roc_auc")
                              if isinstance(source.get(k), (int, float)))
        except (OSError, ValueError):
            shown = "(no metrics.json)"
        table.add_row(stage.name, str(stage.output_dir), shown)
    console.print(table)
