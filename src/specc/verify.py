"""Step 5, verify: every generated Python file must parse, and is formatted with ruff so that diffs
between builds stay small and stable. Nothing is written when a file fails."""

from __future__ import annotations

import ast
import os
import subprocess
from functools import lru_cache

from .errors import RenderError

LINE_LENGTH = 100


@lru_cache(maxsize=1)
def _ruff() -> str:
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError as exc:  # ruff is a dependency of specc; a broken install lands here
        raise RenderError("ruff is not installed; reinstall specc (`pip install specc`)") from exc
    return os.fsdecode(find_ruff_bin())


def verify_python(name: str, source: str) -> str:
    """`source` parsed and formatted; RenderError if it does not parse."""
    _parse(name, source)
    result = subprocess.run(
        [_ruff(), "format", "--isolated", f"--line-length={LINE_LENGTH}", "--stdin-filename", name, "-"],
        input=source.encode("utf-8"), capture_output=True, check=False,
    )
    if result.returncode != 0:
        raise RenderError(f"ruff could not format {name}: {result.stderr.decode(errors='replace').strip()}")
    formatted = result.stdout.decode("utf-8")
    _parse(name, formatted)
    return formatted


def _parse(name: str, source: str) -> None:
    try:
        ast.parse(source, filename=name)
    except SyntaxError as exc:
        raise RenderError(f"generated {name} does not parse (line {exc.lineno}: {exc.msg}); "
                          "this is a bug in specc's templates, please report it") from None
