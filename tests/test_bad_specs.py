"""The bad-spec corpus: every file under tests/bad_specs/ is a broken spec (typos, wrong types, impossible
combinations, wrong label counts, broken TOML, unsafe names and paths) whose header says which error it
must get and where (`# expect: CODE @ LINE:COL`). Each is checked by the real command line: exit 2, the
expected located error, every error line in the `file:line:col: error[code]: message` form, no traceback,
nothing built."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import REPO, run_specc

CORPUS = sorted((REPO / "tests" / "bad_specs").glob("*.toml"))
EXPECT = re.compile(r"^# expect: ([a-z0-9-]+) @ (\d+):(\d+)$", re.M)
ERROR_LINE = re.compile(r"^(?P<file>\S+):(?P<line>\d+):(?P<col>\d+): error\[(?P<code>[a-z0-9-]+)\]: \S.*$")


def test_the_corpus_is_large_and_every_file_says_what_it_expects():
    assert len(CORPUS) >= 60
    for path in CORPUS:
        assert EXPECT.search(path.read_text()), f"{path.name} has no `# expect: CODE @ LINE:COL` line"


def _check(path: Path):
    return path, run_specc("check", str(path.relative_to(REPO)), cwd=REPO)


def test_every_bad_spec_is_rejected_with_its_located_error(tmp_path: Path):
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_check, CORPUS))
    problems = []
    for path, result in results:
        rel = str(path.relative_to(REPO))
        output = result.stdout + result.stderr
        errors = [ERROR_LINE.match(line) for line in result.stderr.splitlines() if ": error[" in line]
        found = {(m["code"], int(m["line"]), int(m["col"])) for m in errors if m and m["file"] == rel}
        for code, line, col in EXPECT.findall(path.read_text()):
            if (code, int(line), int(col)) not in found:
                problems.append(f"{path.name}: expected {code} @ {line}:{col}; got {sorted(found)}")
        if result.returncode != 2:
            problems.append(f"{path.name}: exit {result.returncode}, expected 2")
        if "Traceback" in output:
            problems.append(f"{path.name}: a traceback reached the user")
        if any(m is None for m in errors):
            problems.append(f"{path.name}: an error line is not `file:line:col: error[code]: message`")
        if "nothing was built" not in result.stderr:
            problems.append(f"{path.name}: no `nothing was built` summary")
    assert not problems, "\n".join(problems)
    assert not (REPO / "generated" / "bad").exists() and not (REPO / "generated" / "bad-chat").exists()


@pytest.mark.parametrize("path", CORPUS[:3], ids=lambda p: p.name)
def test_build_rejects_them_too(path: Path, tmp_path: Path):
    result = run_specc("build", str(path), "--root", str(tmp_path), cwd=REPO)
    assert result.returncode == 2 and not (tmp_path / "generated").exists()
