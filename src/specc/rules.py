"""Rules that span sections of a spec. Each rule looks only at sections that validated on their own,
so a spec with a type error in `[data]` still gets its LoRA targets checked.

Codes (stable; tests and users match on them):
lora-target-unknown, quantization-needs-adapter, label-count-mismatch, label-ids-invalid,
label-unknown, data-file-missing (warning here, error at run time), data-format-unknown,
data-column-missing, model-not-found (warning), model-family-unknown, model-family-mismatch,
stage-name-duplicate, stage-unsupported, conflicting-fields, eval-steps-missing, validation-missing,
threshold-needs-binary, threshold-needs-validation, gate-bound-missing, gate-label-unsupported,
suite-needs-binary, safety-case-empty, safety-case-duplicate, trust-remote-code (warning).
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
from pathlib import Path

from .errors import Diagnostic
from .families import FAMILIES
from .load import Source, format_path
from .locate_model import ModelInfo, locate_model
from .validate import did_you_mean, quote

DATA_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
_SCAN_ROWS = 200_000  # label values are checked on at most this many rows per file at check time


class _Rules:
    def __init__(self, sections: dict, source: Source, root: Path):
        self.s = sections
        self.source = source
        self.root = root
        self.out: list[Diagnostic] = []
        self.model_info: ModelInfo | None = None

    def report(self, code: str, path: tuple, message: str, hint: str = "", severity: str = "error",
               prefer: str = "value") -> None:
        self.out.append(Diagnostic(code, message, format_path(path), self.source.locate(path, prefer),
                                   hint, severity))

    # -- model -----------------------------------------------------------------------------------
    def model(self) -> None:
        model = self.s.get("model")
        if model is None:
            return
        info = self.model_info = locate_model(model, self.root)
        if info.problem:
            if info.family is None:  # nothing to plan with: an error now, not only at run time
                self.report("model-not-found", ("model", "base"), info.problem,
                            "install the package or fix the path, or set model.family to check without it")
            else:
                self.report("model-not-found", ("model", "base"), info.problem,
                            "install the package or fix the path; `specc run` stops here", severity="warning")
        if info.config is not None:
            model_type = str(info.config.get("model_type", ""))
            if info.family is None:
                self.report("model-family-unknown", ("model", "base"),
                            f'config.json says model_type = "{model_type}", which specc does not know',
                            "known families: " + ", ".join(FAMILIES))
            elif model.family and model.family != info.family.name:
                self.report("model-family-mismatch", ("model", "family"),
                            f'model.family = "{model.family}" but config.json says "{model_type}" '
                            f'({info.family.name})', "remove model.family; config.json decides")
        elif info.family is None and not info.problem:
            self.report("model-family-unknown", ("model", "base"),
                        f"specc does not know the family of {quote(model.base)}",
                        'set model.family (for example "bert" or "llama")')
        if model.trust_remote_code:
            self.report("trust-remote-code", ("model", "trust_remote_code"),
                        "trust_remote_code = true runs code shipped with the model", "read that code first",
                        severity="warning")

    def lora(self) -> None:
        lora = self.s.get("lora")
        info = self.model_info
        if lora is None or info is None or info.family is None or lora.targets == "all-linear":
            return
        family = info.family
        allowed = set(family.linear_modules) | set(family.classification_head)
        for i, target in enumerate(lora.targets):
            leaf = target.rsplit(".", 1)[-1]
            if leaf not in allowed:
                self.report("lora-target-unknown", ("lora", "targets", i),
                            f"lora.targets[{i}] = {quote(target)} is not a module of {family.name} models",
                            did_you_mean(leaf, family.linear_modules)
                            or "modules: " + ", ".join(family.linear_modules))

    def quantization(self) -> None:
        quant = self.s.get("quantization")
        if quant is None or quant.mode == "none":
            return
        if "lora" in self.s and self.s["lora"] is None:
            self.report("quantization-needs-adapter", ("quantization", "mode"),
                        f'quantization.mode = "{quant.mode}" needs an adapter: quantized weights cannot be '
                        "trained directly", "add a [lora] section or set mode = \"none\"")

    # -- labels and data -------------------------------------------------------------------------
    def labels(self) -> None:
        data, model = self.s.get("data"), self.s.get("model")
        if data is None:
            return
        names = data.label_names
        if isinstance(data.labels, dict):
            ids = sorted(data.labels.values())
            if ids != list(range(len(ids))):
                self.report("label-ids-invalid", ("data", "labels"),
                            f"label ids must be 0..{len(ids) - 1}, each once; got {ids}")
        if model is not None and model.num_labels is not None and model.num_labels != len(names):
            self.report("label-count-mismatch", ("model", "num_labels"),
                        f"model.num_labels = {model.num_labels} but data.labels names {len(names)} labels",
                        "make them agree or remove model.num_labels")
        evaluation = self.s.get("evaluation")
        positive = evaluation.positive_label if evaluation is not None else None
        if positive is not None and positive not in names:
            self.report("label-unknown", ("evaluation", "positive_label"),
                        f"evaluation.positive_label = {quote(positive)} is not one of data.labels",
                        did_you_mean(positive, names))

    def data_files(self) -> None:
        data = self.s.get("data")
        if data is None:
            return
        for split in ("train", "validation", "test"):
            rel = getattr(data, split)
            if rel is None:
                continue
            fmt = data.format if data.format != "auto" else DATA_SUFFIXES.get(Path(rel).suffix.lower())
            if fmt is None:
                self.report("data-format-unknown", ("data", split),
                            f"cannot tell the format of {quote(rel)} from its extension",
                            'use .csv, .jsonl or .parquet, or set data.format')
                continue
            path = self.root / Path(rel).expanduser()
            if not path.is_file():
                self.report("data-file-missing", ("data", split), f"data.{split} file {quote(rel)} does not exist",
                            "`specc run` stops here", severity="warning")
                continue
            self._check_columns(split, path, fmt, data)

    def _check_columns(self, split: str, path: Path, fmt: str, data) -> None:
        try:
            columns, values = _scan(path, fmt, data.label_column)
        except (OSError, ValueError, csv.Error) as exc:
            self.report("data-unreadable", ("data", split), f"cannot read {path.name}: {exc}")
            return
        if columns is None:
            return  # parquet: checked at run time
        evaluation = self.s.get("evaluation")
        group = getattr(evaluation, "group_column", None) if evaluation is not None else None
        if group is not None and split != "train" and group not in columns:
            self.report("data-column-missing", ("evaluation", "group_column"),
                        f"{path.name} has no column {quote(group)} (data.{split})",
                        did_you_mean(group, columns) or "columns: " + ", ".join(columns[:20]))
        for key in ("text_column", "label_column"):
            column = getattr(data, key)
            if column not in columns:
                if any(d.code == "data-column-missing" and d.path == f"data.{key}" for d in self.out):
                    return  # already reported for an earlier split
                self.report("data-column-missing", ("data", key),
                            f"{path.name} has no column {quote(column)} (data.{split})",
                            did_you_mean(column, columns) or "columns: " + ", ".join(columns[:20]))
                return
        names = set(data.label_names)
        unknown = sorted({v for v in values if v not in names})
        if unknown and not any(d.code == "label-unknown" and d.path == "data.labels" for d in self.out):
            shown = ", ".join(quote(v) for v in unknown[:5])
            self.report("label-unknown", ("data", "labels"),
                        f'{path.name} (data.{split}) has label values not in data.labels: {shown}',
                        did_you_mean(unknown[0], names))

    # -- stages ----------------------------------------------------------------------------------
    def stages(self) -> None:
        stages = self.s.get("stages")
        if not stages:
            return
        seen: set[str] = set()
        for i, stage in enumerate(stages):
            if stage.name in seen:
                self.report("stage-name-duplicate", ("stages", i, "name"),
                            f"two stages are named {quote(stage.name)}", "give each stage its own name")
            seen.add(stage.name)
            if stage.warmup_steps is not None and stage.warmup_ratio is not None:
                self.report("conflicting-fields", ("stages", i, "warmup_ratio"),
                            "set warmup_steps or warmup_ratio, not both")
            if stage.eval_strategy == "steps" and stage.eval_steps is None:
                self.report("eval-steps-missing", ("stages", i, "eval_strategy"),
                            'eval_strategy = "steps" needs eval_steps')
            data = self.s.get("data")
            if data is not None and data.validation is None and stage.eval_strategy != "no":
                self.report("validation-missing", ("stages", i, "eval_strategy"),
                            f'eval_strategy = "{stage.eval_strategy}" needs data.validation',
                            'add data.validation or set eval_strategy = "no"')
        if len(stages) > 1:
            self.report("stage-unsupported", ("stages", 1),
                        "a classification spec has exactly one training stage")


    # -- evaluation and safety --------------------------------------------------------------------
    def evaluation(self) -> None:
        evaluation, data = self.s.get("evaluation"), self.s.get("data")
        if evaluation is None or data is None:
            return
        names = data.label_names
        binary = len(names) == 2
        if evaluation.threshold is not None:
            if not binary:
                self.report("threshold-needs-binary", ("evaluation", "threshold"),
                            f"a decision threshold needs two labels; data.labels has {len(names)}",
                            "remove evaluation.threshold")
            if data.validation is None:
                self.report("threshold-needs-validation", ("evaluation", "threshold"),
                            "the threshold is chosen on the validation split, and data.validation is not set",
                            "add data.validation")
        for i, gate in enumerate(evaluation.gates):
            where = ("evaluation", "gates", i)
            if (gate.min is None) == (gate.max is None):
                self.report("gate-bound-missing", where + ("metric",),
                            f"evaluation.gates[{i}] needs exactly one of min or max",
                            f"for example min = 0.9 for {gate.metric}")
            if gate.label is not None:
                if gate.label not in names:
                    self.report("label-unknown", where + ("label",),
                                f"evaluation.gates[{i}].label = {quote(gate.label)} is not one of data.labels",
                                did_you_mean(gate.label, names))
                elif gate.metric not in ("precision", "recall", "f1"):
                    self.report("gate-label-unsupported", where + ("label",),
                                f"{gate.metric} is not reported per label; only precision, recall and f1 are",
                                "remove label from this gate")

    def safety(self) -> None:
        safety, data = self.s.get("safety"), self.s.get("data")
        if safety is None or data is None:
            return
        names = data.label_names
        if safety.suites and len(names) != 2:
            self.report("suite-needs-binary", ("safety", "suites"),
                        "built-in suites expect two labels (the positive label is the risk class)")
        seen: set[str] = set()
        for i, case in enumerate(safety.cases):
            where = ("safety", "cases", i)
            if case.expect is None and case.min_score is None and case.max_score is None:
                self.report("safety-case-empty", where + ("text",),
                            f"safety.cases[{i}] checks nothing", "set expect, min_score or max_score")
            if case.expect is not None and case.expect not in names:
                self.report("label-unknown", where + ("expect",),
                            f"safety.cases[{i}].expect = {quote(case.expect)} is not one of data.labels",
                            did_you_mean(case.expect, names))
            if case.id is not None:
                if case.id in seen:
                    self.report("safety-case-duplicate", where + ("id",), f"two safety cases have id {quote(case.id)}")
                seen.add(case.id)


    def serving(self) -> None:
        serving = self.s.get("serving")
        if serving is None:
            return
        for i, pattern in enumerate(serving.crisis_patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                self.report("crisis-pattern-invalid", ("serving", "crisis_patterns", i),
                            f"serving.crisis_patterns[{i}] is not a regular expression: {exc}")
        if serving.webhook_url is not None and not re.match(r"^https?://[^\s]+$", serving.webhook_url):
            self.report("bad-format", ("serving", "webhook_url"), "webhook_url must be an http(s) URL")
        if not serving.builtin_crisis_patterns:
            self.report("crisis-screen-weakened", ("serving", "builtin_crisis_patterns"),
                        "the built-in crisis screen is off: only your own patterns screen messages",
                        severity="warning")


def _scan(path: Path, fmt: str, label_column: str) -> tuple[list[str] | None, list[str]]:
    """Column names and label values (as strings) of a data file, reading at most _SCAN_ROWS rows."""
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.DictReader(fh)
            columns = list(reader.fieldnames or [])
            values = []
            if label_column in columns:
                for i, row in enumerate(reader):
                    if i >= _SCAN_ROWS:
                        break
                    values.append(str(row.get(label_column)))
            return columns, values
    if fmt == "jsonl":
        columns: list[str] = []
        values = []
        with path.open(encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if i >= _SCAN_ROWS:
                    break
                if not line.strip():
                    continue
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError(f"line {i + 1} is not a JSON object")
                columns.extend(k for k in row if k not in columns)
                if label_column in row:
                    values.append(str(row[label_column]))
        return columns, values
    return None, []


def run_rules(sections: dict, source: Source, root: Path) -> list[Diagnostic]:
    """Every cross-section finding for the sections that validated."""
    rules = _Rules(sections, source, root)
    for rule in (rules.model, rules.lora, rules.quantization, rules.labels, rules.data_files, rules.stages,
                 rules.evaluation, rules.safety, rules.serving):
        # A field a rule needs may have failed validation; that error is already reported.
        with contextlib.suppress(AttributeError):
            rule()
    return rules.out
