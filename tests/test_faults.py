"""Faults while writing: a build that runs out of space (a real write error from the kernel: the process's
file-size limit, RLIMIT_FSIZE, makes writes fail with EFBIG as a full disk fails them with ENOSPC) gives a
clear message and exit 4, and leaves the earlier good output exactly as it was."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

from .conftest import run_specc


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _limited(limit: int):
    def setup():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return setup


def test_build_that_runs_out_of_space_keeps_the_earlier_output(project: Path):
    assert run_specc("build", "specs/quickstart.toml", cwd=project).returncode == 0
    target = project / "generated" / "quickstart"
    before = _tree(target)
    spec = project / "specs" / "quickstart.toml"
    spec.write_text(spec.read_text().replace("epochs = 3", "epochs = 4"))
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    result = subprocess.run([sys.executable, "-m", "specc", "build", "specs/quickstart.toml"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=300, preexec_fn=_limited(4096))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "cannot write" in result.stderr and "earlier output is unchanged" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert _tree(target) == before  # byte for byte
    assert sorted(p.name for p in target.parent.iterdir()) == ["quickstart"]  # no temporary folders left
    # With room again, the same build goes through.
    assert run_specc("build", "specs/quickstart.toml", cwd=project).returncode == 0
    assert b"EPOCHS = 4" in (target / "train.py").read_bytes()
