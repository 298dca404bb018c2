"""check / build / plan never import torch, transformers or peft: validation is fast and the same on a
laptop and in CI."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import REPO

HEAVY = ("torch", "transformers", "peft", "trl", "bitsandbytes", "datasets", "sklearn", "numpy")


@pytest.mark.parametrize("args", [
    ["check", "specs/clinical_bert.toml", "specs/quickstart.toml"],
    ["build", "--check", "specs/clinical_bert.toml", "specs/quickstart.toml"],
    ["plan", "specs/clinical_bert.toml"],
    ["plan", "specs/quickstart.py", "--format", "json"],
    ["check", "specs/support_llm.toml", "specs/support_smollm.toml"],
    ["build", "--check", "specs/support_llm.toml", "specs/support_smollm.toml"],
    ["plan", "specs/support_smollm.toml", "--format", "md"],
    ["schema"],
])
def test_light_commands_import_no_ml_library(args):
    result = probe_imports(args, REPO)
    assert "HEAVY [] CODE 0" in result.stderr, result.stderr


def probe_imports(args: list[str], cwd) -> subprocess.CompletedProcess:
    """Run a specc command in-process and report which heavy libraries it imported."""
    probe = (
        "import sys\n"
        "from specc.cli import main\n"
        f"sys.argv = ['specc', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "print('HEAVY', heavy, 'CODE', code, file=sys.stderr)\n"
    )
    return subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, timeout=120)
