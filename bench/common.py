"""Shared pieces of the benchmark suite: result rows, timing helpers, machine facts, markdown output.

Nothing here imports torch or transformers: versions come from package metadata, so collecting them
does not disturb the latency measurements.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the specc checkout


@dataclass
class Row:
    """One line of the BENCHMARKS.md table."""

    name: str
    measured: str
    baseline: str = ""
    specc: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""  # "met", "missed", "skipped", "failed" or "" (no target)
    noise: str = ""
    rerun: str = ""
    notes: list[str] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "n/a"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def busy_processes(threshold: float = 20.0) -> list[str]:
    """Other processes using a noticeable share of a CPU right now (they skew every timing here)."""
    try:
        out = subprocess.run(["ps", "-eo", "pid,pcpu,comm", "--sort=-pcpu", "--no-headers"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    busy = []
    me = os.getpid()
    for line in out.splitlines():
        parts = line.split(None, 2)
        if len(parts) < 3:
            continue
        pid, pcpu, comm = parts
        try:
            if int(pid) == me or comm == "ps" or float(pcpu) < threshold:
                continue
        except ValueError:
            continue
        busy.append(f"{comm} ({pcpu}% cpu)")
    return busy


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError):
        pass
    return "unknown"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "templates"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not head:
        return "unknown"
    return head + (" (src/ or templates/ modified)" if dirty else "")


def machine_info() -> dict[str, str]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "CPU": _cpu_model(),
        "cores": f"{os.cpu_count()} logical, {affinity} usable by this process",
        "RAM": _ram_gib(),
        "GPU": "none used (all training on CPU, use_cpu=True / no CUDA)",
        "OS": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "torch": _version("torch"),
        "transformers": _version("transformers"),
        "peft": _version("peft"),
        "datasets": _version("datasets"),
        "pydantic": _version("pydantic"),
        "specc": f"{_version('specc')} at commit {git_commit()}",
    }


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def specc_command() -> tuple[list[str], str]:
    """How to run the specc CLI in a subprocess, as a user would: the venv's console script when it
    sits beside this Python, otherwise the same entry point through `python -c`."""
    script = Path(sys.executable).with_name("specc")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)], f"console script {script}"
    found = shutil.which("specc")
    if found and Path(found).resolve().parent == Path(sys.executable).resolve().parent:
        return [found], f"console script {found}"
    return [sys.executable, "-c", "from specc.cli import main; main()"], "python -c 'from specc.cli import main; main()'"


def timed_run(cmd: list[str], cwd: Path | None = None, env: dict | None = None,
              timeout: float | None = 120) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time of one subprocess, output captured."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return time.perf_counter() - start, proc


def summary(times: list[float]) -> dict[str, float]:
    return {"min": min(times), "median": statistics.median(times), "max": max(times), "n": len(times)}


def fmt_s(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(x: float) -> str:
    if x >= 10:
        return f"{x:.1f}x"
    if x >= 0.1:
        return f"{x:.2f}x"
    return f"{x:.3f}x"


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def print_rows(rows: list[Row], file=sys.stdout) -> None:
    for row in rows:
        print(f"\n== {row.name}: {row.measured}", file=file)
        for label, value in (("baseline", row.baseline), ("specc", row.specc), ("ratio", row.ratio),
                             ("target", row.target), ("verdict", row.verdict), ("noise", row.noise),
                             ("rerun", row.rerun)):
            if value:
                print(f"   {label:9s} {value}", file=file)
        for note in row.notes:
            print(f"   note      {note}", file=file)
    file.flush()


def render_markdown(rows: list[Row], info: dict[str, str], meta: dict[str, str]) -> str:
    lines = [
        "# specc benchmarks",
        "",
        "Written by `python -m bench` (the suite in `bench/`); do not edit by hand, rerun it. "
        "Every row runs real subprocesses on this machine, baseline and specc back to back, so both sides "
        "see the same load. Numbers from different machines are not comparable.",
        "",
        "## Run",
        "",
    ]
    for key, value in meta.items():
        lines.append(f"- **{key}**: {value}")
    lines += ["", "## Machine", ""]
    for key, value in info.items():
        lines.append(f"- **{key}**: {value}")
    lines += [
        "",
        "## Results",
        "",
        "| row | what was measured | baseline | specc | ratio (specc / baseline) | target | noise | rerun alone |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        target = r.target + (f" ({r.verdict})" if r.verdict else "")
        lines.append("| " + " | ".join(_cell(c) for c in (
            r.name, r.measured, r.baseline, r.specc, r.ratio, target, r.noise, f"`{r.rerun}`" if r.rerun else ""))
            + " |")
    notes = [(r.name, n) for r in rows for n in r.notes]
    if notes:
        lines += ["", "## Notes", ""]
        for name, note in notes:
            lines.append(f"- *{name}*: {note}")
    lines.append("")
    return "\n".join(lines)
