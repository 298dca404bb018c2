"""The compiler: spec values only ever become literals, output is byte-identical and atomic, and
`build --check` catches stale output."""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specc.compiler import check, compile_spec, write
from specc.errors import OutputError, RenderError
from specc.render import environment, py

from .conftest import REPO

HOSTILE = 'x"""\nimport os; os.system("touch /tmp/pwned")\n#'
HOSTILE_VALUES = [
    HOSTILE,
    "x'''\nimport os\n'''",
    "a\\\"b\\",
    "line\rbreak\x0cfeed",
    "{{ 7*7 }}{% raw %}",
    "sep\u2028para\u2029",
    "tab\tand\x1b[31m",
]


def _string_constants(source: str) -> set[str]:
    return {n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _calls(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            names.add(node.func.attr)
    return names


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_spec_strings_stay_inert_data(value: str, project: Path, specc):
    text = (REPO / "specs" / "quickstart.toml").read_text()
    toml_value = json.dumps(value)  # a TOML basic string is a JSON string for these characters
    text = text.replace('description = "Demo: MiniLM + LoRA risk classifier on synthetic posts."',
                        f"description = {toml_value}")
    text = text.replace('labels = ["non-suicide", "suicide"]', f'labels = ["non-suicide", {toml_value}]')
    text = text.replace('positive_label = "suicide"', f"positive_label = {toml_value}")
    text = text.replace('expect = "suicide"', f"expect = {toml_value}")
    text = text.replace('text = "I can\'t go on. I\'m going to end it tonight."', f"text = {toml_value}")
    text = text.replace('data_provenance = "', f"license = {toml_value}\ndata_provenance = \"")
    # The label column holds other values, so point the data at a file with the hostile label.
    for split in ("train", "validation", "test"):
        with open(project / "specs" / "data" / "quickstart" / f"{split}.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["id", "text", "class"])
            writer.writerows([i, f"post {i}", value if i % 2 else "non-suicide"] for i in range(6))
    (project / "s.toml").write_text(text)
    result = specc("build", "s.toml", cwd=project)
    assert result.returncode == 0, result.stderr
    for name in ("train.py", "evaluate.py", "safety.py", "model_card.py", "serve.py"):
        source = (project / "generated" / "quickstart" / name).read_text()
        constants = _string_constants(source)
        assert value in constants  # the hostile string is present as a literal value...
        assert "system" not in _calls(source)  # ...and never became code
    assert not Path("/tmp/pwned").exists()


def test_injection_example_from_the_issue_is_one_literal(project: Path, specc):
    text = (REPO / "specs" / "quickstart.toml").read_text().replace(
        'description = "Demo: MiniLM + LoRA risk classifier on synthetic posts."',
        f"description = {json.dumps(HOSTILE)}")
    (project / "s.toml").write_text(text)
    assert specc("build", "s.toml", cwd=project).returncode == 0
    tree = ast.parse((project / "generated" / "quickstart" / "train.py").read_text())
    assigned = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Name)}
    assert isinstance(assigned["SPEC_DESCRIPTION"], ast.Constant)
    assert assigned["SPEC_DESCRIPTION"].value == HOSTILE
    top_level_calls = [ast.unparse(n.value.func) for n in tree.body
                       if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)]
    assert top_level_calls == ["os.environ.setdefault"]  # the offline switch; nothing from the spec
    assert "system" not in _calls(ast.unparse(tree))


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(), lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12))
def test_py_filter_round_trips_any_plan_value(value):
    assert ast.literal_eval(py(value)) == value


def test_environment_refuses_values_that_skip_the_filter():
    with pytest.raises(RenderError, match="without the `py` filter"):
        environment().from_string("X = {{ value }}").render(value="1; import os")
    assert environment().from_string("X = {{ value | py }}").render(value="1; import os") == "X = '1; import os'"


def test_py_filter_refuses_what_is_not_plain_data():
    for bad in (float("nan"), float("inf"), object(), {1, 2}, b"bytes"):
        with pytest.raises(RenderError):
            py(bad)


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_build_is_byte_identical_across_rebuilds_and_roots(project: Path, tmp_path: Path, specc):
    assert specc("build", "specs/quickstart.toml", cwd=project).returncode == 0
    first = _tree(project / "generated" / "quickstart")
    shutil.rmtree(project / "generated")
    assert specc("build", "specs/quickstart.toml", cwd=project).returncode == 0
    assert _tree(project / "generated" / "quickstart") == first
    other = tmp_path / "elsewhere"
    shutil.copytree(project / "specs", other / "specs")
    assert specc("build", "specs/quickstart.toml", cwd=other).returncode == 0
    assert _tree(other / "generated" / "quickstart") == first


def test_python_spec_and_toml_twin_compile_to_identical_files(project: Path, specc):
    assert specc("build", "specs/quickstart.toml", cwd=project).returncode == 0
    from_toml = _tree(project / "generated" / "quickstart")
    shutil.rmtree(project / "generated")
    assert specc("build", "specs/quickstart.py", cwd=project).returncode == 0
    assert _tree(project / "generated" / "quickstart") == from_toml


def test_committed_generated_output_is_fresh(specc):
    result = specc("build", "--check", "specs/quickstart.toml", "specs/clinical_bert.toml", "specs/support_llm.toml",
                   "specs/support_smollm.toml", cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_manifest_records_hashes_and_version(project: Path, specc):
    assert specc("build", "specs/quickstart.toml", cwd=project).returncode == 0
    out = project / "generated" / "quickstart"
    manifest = json.loads((out / "manifest.json").read_text())
    from specc import __version__

    assert manifest["generated_by"] == f"specc {__version__}"
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert set(manifest["files"]) == {"screen.py", "train.py", "evaluate.py", "safety.py", "model_card.py", "serve.py"}
    templates = REPO / "templates"
    for name, digest in manifest["templates"].items():
        assert hashlib.sha256((templates / name).read_bytes()).hexdigest() == digest
    checked = check(project / "specs" / "quickstart.toml", project)
    from specc.plan import spec_hash

    assert manifest["spec"]["hash"] == spec_hash(checked.spec)
    header = (out / "train.py").read_text().splitlines()[0]
    assert manifest["spec"]["hash"] in header and "Generated by specc" in header


def test_every_generated_file_parses_and_is_formatted(project: Path, specc):
    for spec in ("quickstart.toml", "clinical_bert.toml"):
        assert specc("build", f"specs/{spec}", cwd=project).returncode == 0
    import subprocess

    from specc.verify import _ruff

    for path in (project / "generated").rglob("*.py"):
        ast.parse(path.read_text())
        formatted = subprocess.run([_ruff(), "format", "--isolated", "--line-length=100", "--check", str(path)],
                                   capture_output=True)
        assert formatted.returncode == 0, formatted.stdout
        assert "import specc" not in path.read_text() and "from specc" not in path.read_text()


def test_build_check_reports_stale_output(project: Path, specc):
    assert specc("build", "--check", "specs/quickstart.toml", cwd=project).returncode == 1  # nothing built yet
    assert specc("build", "specs/quickstart.toml", cwd=project).returncode == 0
    assert specc("build", "--check", "specs/quickstart.toml", cwd=project).returncode == 0
    train = project / "generated" / "quickstart" / "train.py"
    train.write_text(train.read_text() + "# edited by hand\n")
    result = specc("build", "--check", "specs/quickstart.toml", cwd=project)
    assert result.returncode == 1 and "train.py" in result.stderr
    assert specc("build", "specs/quickstart.toml", cwd=project).returncode == 0
    spec = project / "specs" / "quickstart.toml"
    spec.write_text(spec.read_text().replace("epochs = 3", "epochs = 4"))
    assert specc("build", "--check", "specs/quickstart.toml", cwd=project).returncode == 1
    assert specc("build", "specs/quickstart.toml", cwd=project).returncode == 0
    (project / "generated" / "quickstart" / "stray.py").write_text("x = 1\n")
    result = specc("build", "--check", "specs/quickstart.toml", cwd=project)
    assert result.returncode == 1 and "stray.py" in result.stderr


def test_failed_write_leaves_earlier_output_intact(project: Path, monkeypatch):
    # A real disk-full cannot be produced here without root-only mounts, so os.replace is made to fail
    # (the one call that swaps new output in); everything else is real.
    checked = check(project / "specs" / "quickstart.toml", project)
    compiled = compile_spec(checked)
    write(compiled)
    before = _tree(compiled.target)
    changed = compile_spec(check(project / "specs" / "quickstart.py", project))
    object.__setattr__(changed, "files", {**changed.files, "train.py": b"# new\n"})
    real_replace = os.replace
    calls = []

    def failing_replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # old output moved aside, new output about to move in: fail here
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OutputError, match="No space left on device"):
        write(changed)
    monkeypatch.setattr(os, "replace", real_replace)
    assert _tree(compiled.target) == before
    assert not [p for p in compiled.target.parent.iterdir() if p.name.startswith(".")]


def test_output_never_follows_a_symlink_out_of_generated(project: Path, tmp_path: Path, specc):
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "generated").mkdir()
    (project / "generated" / "quickstart").symlink_to(outside)
    result = specc("build", "specs/quickstart.toml", cwd=project)
    assert result.returncode == 4
    assert "is a link" in result.stderr
    assert list(outside.iterdir()) == []


def test_a_run_reuses_the_build_on_disk_only_when_nothing_changed(project: Path):
    from specc.compiler import check, compile_or_reuse, compile_spec, write

    checked = check(project / "specs" / "quickstart.toml", project)
    fresh = compile_spec(checked)
    write(fresh)
    assert compile_or_reuse(checked).files == fresh.files  # taken from disk, the same bytes
    train = project / "generated" / "quickstart" / "train.py"
    train.write_bytes(train.read_bytes() + b"\n# edited by hand\n")
    assert compile_or_reuse(checked).files["train.py"] == fresh.files["train.py"]  # a hand edit: compiled afresh
    write(fresh)
    spec = project / "specs" / "quickstart.toml"
    spec.write_text(spec.read_text().replace("epochs = 3", "epochs = 4"))
    changed = check(spec, project)
    assert b"EPOCHS = 4" in compile_or_reuse(changed).files["train.py"]  # a spec change: compiled afresh
