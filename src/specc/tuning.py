"""`specc tune`: build, run the generated tune.py (an Optuna study), and turn its best trial into a patch
to the spec that a person reviews and applies (`git apply`, or `specc tune --apply`)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from .compiler import compile_spec, write
from .errors import EXIT_OK, OutputError, UsageError
from .runner import StageRun, _run_stage, check_runnable
from .spec_patch import PatchError, set_values, toml_literal, unified_diff
from .write import write_file_atomic


def tune_spec(spec_path: Path, root: Path, trials: int | None, apply: bool, console) -> int:
    checked = check_runnable(spec_path, root)
    compiled = compile_spec(checked)
    tuning = compiled.plan.get("tuning")
    if not tuning:
        raise UsageError(f"{spec_path} has no [tuning] section; add one with a [tuning.space] to tune")
    if importlib.util.find_spec("optuna") is None:
        raise UsageError("optuna is not installed; pip install optuna")
    if write(compiled):
        console.print(f"built {compiled.target}", markup=False)
    out = root / tuning["output_dir"]
    args = ["--output-dir", str(out)] + (["--trials", str(trials)] if trials else [])
    _run_stage(StageRun("tune", compiled.target / tuning["script"], args, out), root, console)

    best = (json.loads((out / "best.json").read_text(encoding="utf-8")).get("best") or {})
    params = best.get("params") or {}
    console.print(f"best trial {best.get('number')}: {tuning['metric']} {best.get('value'):.4f} ("
                  + ", ".join(f"{k} = {toml_literal(v)}" for k, v in params.items()) + ")", markup=False)
    values = {tuple(tuning["spec_keys"][k]): v for k, v in params.items()}
    if checked.source.kind != "toml":
        console.print(f"{spec_path} is a Python spec: set these values in it by hand", style="yellow", markup=False)
        return EXIT_OK
    text = spec_path.read_text(encoding="utf-8")
    try:
        patched = set_values(text, values)
    except PatchError as exc:
        console.print(f"could not write a patch ({exc}); set the values above by hand", style="yellow", markup=False)
        return EXIT_OK
    try:
        name = spec_path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        name = spec_path.name
    diff = unified_diff(text, patched, name)
    patch_file = out / "spec.patch"
    try:
        write_file_atomic(patch_file, diff.encode("utf-8"))
        if apply and diff:
            mode = spec_path.stat().st_mode & 0o777
            write_file_atomic(spec_path, patched.encode("utf-8"))
            spec_path.chmod(mode)
    except OSError as exc:
        raise OutputError(f"cannot write {exc.filename}: {exc.strerror}") from None
    if not diff:
        console.print("the spec already has the best settings; nothing to change", markup=False)
    elif apply:
        console.print(f"applied the best settings to {spec_path} (the change is in {patch_file})", markup=False)
    else:
        console.print(diff, markup=False, highlight=False)
        console.print(f"wrote {patch_file}; apply it with `git apply {patch_file}` or `specc tune --apply`",
                      markup=False)
    return EXIT_OK
