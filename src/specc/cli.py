"""The `specc` command line. Every user-facing failure is a message and an exit code, never a traceback:
0 ok, 1 stale output or a failed stage, 2 bad input, 3 a gate failed, 4 output could not be written."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Diagnostic,
    SpeccError,
    SpecInvalid,
    StaleOutput,
    UsageError,
)

app = typer.Typer(
    name="specc",
    help="Compile a reviewed model spec into plain training, evaluation and serving scripts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

SpecArg = Annotated[Path, typer.Argument(help="A spec: a .toml file or a .py module that defines `spec`.")]
RootOpt = Annotated[Path, typer.Option("--root", help="Project root: data paths are relative to it and "
                                       "output goes to <root>/generated/.")]


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _say(text: str, color: str = "", stderr: bool = False) -> None:
    """One line to the terminal; plain text (no rich import) so that `check` stays fast."""
    stream = sys.stderr if stderr else sys.stdout
    codes = {"red": "31", "yellow": "33", "green": "32", "bold red": "1;31"}
    if color and stream.isatty() and not os.environ.get("NO_COLOR"):
        text = f"\x1b[{codes[color]}m{text}\x1b[0m"
    print(text, file=stream)


def _print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    for d in diagnostics:
        _say(d.render(), "red" if d.severity == "error" else "yellow", stderr=True)


def _fail(exc: SpeccError) -> typer.Exit:
    if isinstance(exc, SpecInvalid):
        _print_diagnostics(exc.diagnostics)
        errors = sum(1 for d in exc.diagnostics if d.severity == "error")
        _say(f"{errors} error{'s' if errors != 1 else ''}; nothing was built.", "bold red", stderr=True)
    else:
        _say(f"error: {exc}", "red", stderr=True)
    return typer.Exit(exc.exit_code)


@app.command()
def check(specs: Annotated[list[Path], typer.Argument(help="Spec files to validate.")],
          root: RootOpt = Path(".")) -> None:
    """Validate specs and report every problem, located; writes nothing."""
    from .load import load
    from .validate import validate

    failed = 0
    for path in specs:
        try:
            checked = validate(load(path), root)
        except SpeccError as exc:
            failed = max(failed, _fail(exc).exit_code)
            continue
        _print_diagnostics(checked.warnings)
        _say(f"ok: {checked.source.display} ({checked.spec.name})")
    raise typer.Exit(failed)


@app.command()
def build(specs: Annotated[list[Path], typer.Argument(help="Spec files to compile.")],
          check_only: Annotated[bool, typer.Option("--check", help="Write nothing; exit 1 if generated/ is "
                                                   "stale.")] = False,
          root: RootOpt = Path(".")) -> None:
    """Compile specs into generated/<name>/ (byte-identical for the same spec and specc)."""
    from .compiler import check as check_spec
    from .compiler import compile_spec, stale_files, write

    status = EXIT_OK
    for path in specs:
        try:
            checked = check_spec(path, root)
            _print_diagnostics(checked.warnings)
            compiled = compile_spec(checked)
            rel = compiled.target
            if check_only:
                stale = stale_files(compiled)
                if stale:
                    raise StaleOutput(f"{rel} is stale ({', '.join(stale)}); run `specc build {path}`")
                _say(f"fresh: {rel}")
            elif write(compiled):
                _say(f"built: {rel} ({', '.join(sorted(compiled.files))})")
            else:
                _say(f"unchanged: {rel}")
        except SpeccError as exc:
            status = max(status, _fail(exc).exit_code)
    raise typer.Exit(status)


@app.command()
def plan(spec: SpecArg,
         fmt: Annotated[str, typer.Option("--format", help="text, md or json")] = "text",
         device: Annotated[str, typer.Option(help="Device class for the time estimate and device risks: "
                                             "cpu-2core, t4, a10g, a100, h100, apple-m2.")] = "a100",
         root: RootOpt = Path(".")) -> None:
    """Show what a spec will do: every default resolved, parameters, memory, tokens, time and risks."""
    from .compiler import check as check_spec
    from .plan import build_plan
    from .report import DEVICES, full_report

    if fmt not in ("text", "md", "json"):
        _say(f'error: --format must be "text", "md" or "json", not {fmt!r}', "red", stderr=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    if device not in DEVICES:
        _say(f"error: unknown --device {device!r}; one of {', '.join(DEVICES)}", "red", stderr=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        checked = check_spec(spec, root)
        report = full_report(build_plan(checked), root, device)
    except SpeccError as exc:
        raise _fail(exc) from None
    if fmt == "json":
        sys.stdout.write(json.dumps(report, indent=2, sort_keys=True) + "\n")
        return
    _print_diagnostics(checked.warnings)
    from .show import plan_markdown, plan_text

    _say(plan_markdown(report) if fmt == "md" else plan_text(report))


@app.command()
def diff(base: Annotated[str | None, typer.Argument(help="Git ref to compare from (default: the merge-base "
                                                    "with main).")] = None,
         head: Annotated[str | None, typer.Argument(help="Git ref to compare to (default: the working "
                                                    "tree).")] = None,
         root: RootOpt = Path(".")) -> None:
    """Explain a change to specs as markdown for a pull request: settings, estimates, generated files,
    risks. Exit 0 no change, 1 changes, 2 error."""
    from .diff import run_diff

    try:
        text, changed = run_diff(root, base, head)
    except SpeccError as exc:
        raise _fail(exc) from None
    sys.stdout.write(text)
    raise typer.Exit(1 if changed else 0)


@app.command()
def schema(output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file "
                                                         "instead of stdout.")] = None) -> None:
    """Print the JSON Schema of the spec language (for editors: taplo, Even Better TOML)."""
    from .schema import schema_text
    from .write import write_file_atomic

    text = schema_text()
    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_file_atomic(output, text.encode("utf-8"))
    except OSError as exc:
        _say(f"error: cannot write {output}: {exc.strerror}", "red", stderr=True)
        raise typer.Exit(4) from None
    _say(f"wrote {output}")


@app.command()
def run(spec: SpecArg,
        stage: Annotated[str | None, typer.Option(help="Run only this stage (a training stage name or "
                                                     "`evaluate`).")] = None,
        max_steps: Annotated[int | None, typer.Option(help="Stop training after N steps (quick runs).")] = None,
        force: Annotated[bool, typer.Option(help="Run every stage, even those whose fingerprint is unchanged.")] = False,
        root: RootOpt = Path(".")) -> None:
    """Build if stale, then run the stages whose inputs changed since their last run (the rest are skipped)."""
    from .runner import run_spec

    try:
        code = run_spec(spec, root, only=stage, max_steps=max_steps, console=_console(), force=force)
    except SpeccError as exc:
        raise _fail(exc) from None
    raise typer.Exit(code)


@app.command()
def tune(spec: SpecArg,
         trials: Annotated[int | None, typer.Option(help="Trials the study should have in all (default: "
                                                         "tuning.trials).")] = None,
         apply: Annotated[bool, typer.Option(help="Write the best settings into the spec file.")] = False,
         root: RootOpt = Path(".")) -> None:
    """Run the spec's hyperparameter study (resumable) and write its best settings as a patch to the spec."""
    from .tuning import tune_spec

    try:
        code = tune_spec(spec, root, trials=trials, apply=apply, console=_console())
    except SpeccError as exc:
        raise _fail(exc) from None
    raise typer.Exit(code)


feedback_app = typer.Typer(help="The reviewed-flag loop: turn reviewed items into training data.",
                            no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")


@feedback_app.command("export")
def feedback_export(spec: SpecArg,
                    out: Annotated[Path | None, typer.Option(help="Folder of the dataset's versions "
                                                             "(default data/feedback/<spec>).")] = None,
                    root: RootOpt = Path(".")) -> None:
    """Write the items reviewed since the last export as the next dataset version, with its data card."""
    from .compiler import check as check_spec
    from .feedback import export

    try:
        result = export(check_spec(spec, root).spec, root, out)
    except SpeccError as exc:
        raise _fail(exc) from None
    if result.version is None:
        _say("nothing new to export: no item was reviewed since the last version"
             + (f" ({result.discarded} discarded, noted)" if result.discarded else "")
             + (f" ({result.skipped} with a label this spec does not have)" if result.skipped else ""))
        return
    _say(f"wrote {result.csv_path} (version {result.version}: {result.rows} rows, {result.discarded} discarded"
         + (f", {result.skipped} with unknown labels skipped" if result.skipped else "") + ") and its data card; "
         "add it to data.extra_train to train on it")


@app.command("ab-report")
def ab_report(spec: SpecArg, root: RootOpt = Path(".")) -> None:
    """Compare the two models of the spec's A/B test from the decisions the serving app recorded."""
    from .ab_report import compare, write_report
    from .compiler import check as check_spec
    from .plan import other_classifier, risk_labels

    try:
        checked = check_spec(spec, root)
        if checked.spec.serving.ab is None:
            raise UsageError(f"{checked.spec.name} has no A/B test ([serving.ab])")
        other = other_classifier(checked.spec.serving.ab.spec, root)["name"]
        result = compare(checked.spec, root, risk_labels(checked.spec), other)
        out = write_report(root, result)
    except SpeccError as exc:
        raise _fail(exc) from None
    from .ab_report import markdown

    print(markdown(result), end="")
    _say(f"wrote {out}")


def _exec(args: list[str], root: Path) -> None:
    """Become the server process (same pid), so that stopping `specc serve` stops the server too."""
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(root)
    os.execv(args[0], args)


@app.command()
def runs(spec: SpecArg, root: RootOpt = Path(".")) -> None:
    """List the recorded runs of a spec: when, which commit, what ran or was cached, how it ended."""
    from .compiler import check as check_spec
    from .records import list_records

    try:
        name = check_spec(spec, root).spec.name
    except SpeccError as exc:
        raise _fail(exc) from None
    records = list_records(root, name)
    if not records:
        _say(f"no recorded runs of {name} (run `specc run {spec}`)")
        return
    for r in records:
        commit = (r.get("git") or {}).get("commit", "")[:10] or "no git"
        dirty = "+dirty" if (r.get("git") or {}).get("dirty") else ""
        stages = ", ".join(f"{s['stage']} {s['status']}" for s in r.get("stages", []))
        _say(f"{r['started']}  exit {r['exit_code']}  {r['seconds']:.1f} s  {commit}{dirty}  {stages}")


@app.command()
def serve(spec: SpecArg,
          host: Annotated[str | None, typer.Option(help="Override serving.host.")] = None,
          port: Annotated[int | None, typer.Option(help="Override serving.port.")] = None,
          root: RootOpt = Path(".")) -> None:
    """Serve the last trained model of a spec with the generated FastAPI app (build first if stale)."""

    from .compiler import check as check_spec
    from .compiler import compile_spec, write

    try:
        compiled = compile_spec(check_spec(spec, root))
        write(compiled)
    except SpeccError as exc:
        raise _fail(exc) from None
    plan = compiled.plan
    if plan["spec"]["task"] == "chat":
        final = root / plan["generate"]["chain"][-1][1]
        if not (final / "specc_stage.json").is_file():
            _say(f"error: no trained model at {final}; run `specc run {spec}` first", "red", stderr=True)
            raise typer.Exit(EXIT_BAD_INPUT)
        args = [sys.executable, str(compiled.target / "serve.py")]
        args += (["--host", host] if host else []) + (["--port", str(port)] if port else [])
        _exec(args, root)
    model_dir = root / plan["evaluation"]["model_dir"]
    if not (model_dir / "labels.json").is_file():
        _say(f"error: no trained model at {model_dir}; run `specc run {spec}` first", "red", stderr=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    args = [sys.executable, str(compiled.target / "serve.py"), "--model-dir", str(model_dir),
            "--threshold-file", str(root / plan["evaluation"]["output_dir"] / "threshold.json")]
    if host:
        args += ["--host", host]
    if port:
        args += ["--port", str(port)]
    _exec(args, root)


@app.command()
def init(path: Annotated[Path, typer.Argument(help="Where to write the starter spec.")] = Path("specs/my_model.toml"),
         force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False) -> None:
    """Write a starter classifier spec to edit."""
    from .starter import STARTER_SPEC
    from .write import write_file_atomic

    if path.exists() and not force:
        _say(f"error: {path} exists; pass --force to overwrite", "red", stderr=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(path, STARTER_SPEC.encode("utf-8"))
    except OSError as exc:
        _say(f"error: cannot write {path}: {exc.strerror}", "red", stderr=True)
        raise typer.Exit(4) from None
    _say(f"wrote {path}; edit it, then `specc check {path}`")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        _say("interrupted", stderr=True)
        sys.exit(130)
