"""Step 6, write: generated files land atomically, and only under `generated/<name>/`.

All files are written to a temporary folder beside the target, then swapped in by rename, so a failed or
interrupted build leaves the previous output as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from .errors import OutputError
from .spec import SPEC_NAME_RE

GENERATED_DIR = "generated"


def output_dir(root: Path, name: str) -> Path:
    """`<root>/generated/<name>`, refusing names or symlinks that would leave that folder."""
    if not re.match(SPEC_NAME_RE, name):
        raise OutputError(f"refusing to write output for the spec name {name!r}")
    base = (root / GENERATED_DIR).resolve()
    target = root / GENERATED_DIR / name
    if target.is_symlink() or (target.exists() and target.resolve().parent != base):
        raise OutputError(f"{target} is a link or leaves {base}; remove it and build again")
    return target


def read_tree(folder: Path) -> dict[str, bytes] | None:
    """The files of an output folder (names to bytes), or None if it does not exist."""
    if not folder.is_dir():
        return None
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def write_tree(folder: Path, files: dict[str, bytes]) -> None:
    """Replace `folder` with exactly `files`, atomically."""
    parent = folder.parent
    tmp = old = None
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=parent))
        for name, content in files.items():
            with open(tmp / name, "wb") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
            if name.endswith(".py"):
                os.chmod(tmp / name, 0o644)
        os.chmod(tmp, 0o755)
        if folder.exists():
            old = parent / f".{folder.name}.old-{os.getpid()}"
            os.replace(folder, old)
        os.replace(tmp, folder)
        tmp = None
    except OSError as exc:
        if old is not None and not folder.exists():
            os.replace(old, folder)  # put the previous output back
            old = None
        raise OutputError(f"cannot write {folder}: {exc.strerror or exc}; earlier output is unchanged") from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_file_atomic(path: Path, content: bytes) -> None:
    """Write one file via a temporary file and rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise
