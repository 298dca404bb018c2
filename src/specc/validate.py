"""Step 2, validate: turn loaded data into a `Spec`, or into every problem it has, each located.

Structure (types, enums, missing and unknown keys) is pydantic's job; rules that span sections are in
`rules.py`. Both run on the same spec so that one `specc check` reports everything at once.
"""

from __future__ import annotations

import difflib
import json
import typing
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, TypeAdapter, ValidationError

from .errors import Diagnostic, Location, SpecInvalid
from .load import Source, format_path
from .spec import SECTION_OF_CLASS, STAGE_CLASSES, Spec

_TYPE_NAMES = {
    "int": "an integer", "float": "a number", "bool": "true or false", "str": "a string",
    "list": "a list", "dict": "a table", "model": "a table", "model_attributes": "a table",
}
_GOT_NAMES = {
    str: "a string", int: "an integer", float: "a number", bool: "a boolean", list: "a list",
    dict: "a table", type(None): "nothing",
}


# Names users bring from transformers / peft / other tools, and what the spec calls them.
ALIASES = {
    "rank": "r", "lora_r": "r", "lora_alpha": "alpha", "lora_dropout": "dropout", "target_modules": "targets",
    "lr": "learning_rate", "num_train_epochs": "epochs", "per_device_train_batch_size": "batch_size",
    "per_device_eval_batch_size": "eval_batch_size", "evaluation_strategy": "eval_strategy",
    "max_seq_length": "max_length", "model_name_or_path": "base", "model_name": "base",
    "load_in_4bit": "mode", "load_in_8bit": "mode", "bnb_4bit_quant_type": "quant_type",
    "bnb_4bit_use_double_quant": "double_quant", "bnb_4bit_compute_dtype": "compute_dtype",
    "optim": "optimizer", "lr_scheduler_type": "lr_scheduler", "metric_for_best_model": "best_metric",
}


@dataclass(frozen=True)
class Checked:
    """A spec that passed validation, with the warnings it still has."""

    spec: Spec
    source: Source
    root: Path
    warnings: list[Diagnostic]


def did_you_mean(word: str, options: typing.Iterable[str]) -> str:
    """`did you mean "x"?` for the closest option, or ""."""
    match = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f"did you mean {quote(match[0])}?" if match else ""


def quote(value: object, limit: int = 80) -> str:
    """A value as it would be written in TOML, on one line, control characters escaped."""
    if isinstance(value, str):
        shown = json.dumps(value[:limit], ensure_ascii=False)
        return shown[:-1] + '..."' if len(value) > limit else shown
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "a table" if isinstance(value, dict) else "a list"
    return str(value)


def _clean_loc(loc: tuple, data: object) -> tuple:
    """Drop pydantic's union-member tags from an error location, keeping real keys and indices."""
    out: list = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict) and isinstance(part, str):
            if part in node:
                out.append(part)
                node = node[part]
            elif last:
                out.append(part)
            continue  # a union tag such as "list[str]"
        if isinstance(node, list) and isinstance(part, int):
            out.append(part)
            node = node[part] if part < len(node) else None
            continue
        if isinstance(part, (str, int)) and (last or node is None):
            out.append(part)
    return tuple(out)


def _model_for(path: tuple, raw_loc: tuple = ()) -> type[BaseModel] | None:
    """The section class that owns the field at `path` (to list valid keys)."""
    if path[:1] == ("stages",) and len(path) >= 2:
        tag = next((p for p in raw_loc if isinstance(p, str) and p in STAGE_CLASSES), None)
        if tag is not None:
            return STAGE_CLASSES[tag]
    model: type[BaseModel] | None = Spec
    for part in path:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return model
        model = _first_model(field.annotation)
    return model


def _first_model(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _first_model(arg)
        if found:
            return found
    return None


def _message(err: dict, path: tuple) -> tuple[str, str, str]:
    """(code, message, hint) for one pydantic error."""
    kind = err["type"]
    where = format_path(path) or "the spec"
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        owner = _model_for(path[:-1], tuple(err.get("loc", ())))
        options = list(owner.model_fields) if owner else []
        alias = ALIASES.get(str(path[-1]))
        hint = f'did you mean "{alias}"?' if alias in options else did_you_mean(path[-1], options)
        if not hint and options:
            hint = "allowed keys: " + ", ".join(options)
        return "unknown-key", f'unknown key "{where}"', hint
    if kind == "missing":
        parent = format_path(path[:-1])
        section = f" in [{parent}]" if parent else ""
        return "missing-field", f'"{path[-1]}" is required{section} but missing', ""
    if kind == "union_tag_not_found":
        return "missing-field", f'"{ctx.get("discriminator", "kind").strip(chr(39))}" is required in {where}', \
            'set kind = "sft" or kind = "dpo"'
    if kind == "union_tag_invalid":
        tag = ctx.get("tag", "")
        options = [o.strip().strip("'") for o in str(ctx.get("expected_tags", "")).split(",") if o.strip()]
        return ("bad-value", f"{where}.kind = {quote(tag)} is not one of " + ", ".join(f'"{o}"' for o in options),
                did_you_mean(tag, options))
    if kind in ("literal_error", "enum"):
        expected = ctx.get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",") if o.strip()]
        listed = ", ".join(f'"{o}"' for o in options)
        return ("bad-value", f"{where} = {quote(value)} is not one of {listed}",
                did_you_mean(value, options) if isinstance(value, str) else "")
    base = kind.split("_")[0]
    if kind.endswith("_type") or kind.endswith("_parsing") or kind in ("model_type", "model_attributes_type"):
        want = _TYPE_NAMES.get(base, base)
        if kind == "int_from_float":
            want = "a whole number"
        got = _GOT_NAMES.get(type(value), type(value).__name__)
        return "wrong-type", f"{where} must be {want}, not {got} ({quote(value)})", ""
    if kind == "int_from_float":
        return "wrong-type", f"{where} must be a whole number, not {quote(value)}", ""
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = {"greater_than": "greater than", "greater_than_equal": "at least",
                 "less_than": "less than", "less_than_equal": "at most"}[kind]
        limit = next(iter(ctx.values()), "")
        return "out-of-range", f"{where} = {quote(value)} must be {bound} {limit}", ""
    if kind in ("too_short", "too_long", "string_too_short", "string_too_long"):
        return "out-of-range", f"{where}: {err['msg'][0].lower()}{err['msg'][1:]}", ""
    if kind == "string_pattern_mismatch":
        return ("bad-format", f"{where} = {quote(value)} has the wrong form",
                "use lowercase letters, digits, '-' and '_', starting with a letter or digit")
    if "-" in kind:  # our own PydanticCustomError codes are kebab-case
        return kind, f"{where}: {err['msg']}", ""
    return "invalid-value", f"{where}: {err['msg']}", ""


def diagnostics_from_validation_error(
    exc: ValidationError, source: Source, python_line: int | None = None, prefix: tuple = ()
) -> list[Diagnostic]:
    """One located diagnostic per pydantic error."""
    out = []
    if source.kind == "python" and not prefix:
        section = SECTION_OF_CLASS.get(exc.title, "")
        prefix = (section,) if section else ()
    for err in exc.errors():
        path = prefix + _clean_loc(tuple(err["loc"]), source.data if source.data is not None else None)
        code, message, hint = _message(err, path)
        prefer = "key" if code == "unknown-key" else "value"
        if source.kind == "python":
            location = source.locate(path)
            if not location.line and python_line:
                location = Location(source.display, python_line)
        else:
            location = source.locate(path, prefer)
        out.append(Diagnostic(code, message, format_path(path), location, hint))
    return out


def validate(source: Source, root: Path) -> Checked:
    """A valid `Spec` with its warnings, or `SpecInvalid` with every error found."""
    from .rules import run_rules

    diagnostics: list[Diagnostic] = []
    spec: Spec | None
    if source.kind == "python":
        spec = source.spec  # type: ignore[assignment]
        sections = {name: getattr(spec, name) for name in Spec.model_fields}
    else:
        data = source.data or {}
        try:
            spec = Spec.model_validate(data)
            sections = {name: getattr(spec, name) for name in Spec.model_fields}
        except ValidationError as exc:
            spec = None
            diagnostics.extend(diagnostics_from_validation_error(exc, source))
            sections = _valid_sections(data, {d.path.split(".")[0].split("[")[0] for d in diagnostics})
    diagnostics.extend(run_rules(sections, source, root))
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors or spec is None:
        raise SpecInvalid(diagnostics)
    return Checked(spec, source, root, sorted(diagnostics, key=Diagnostic.sort_key))


def _valid_sections(data: dict, broken: set[str]) -> dict:
    """Each section with the fields that validate on their own, so cross-section rules can still run on
    them; a field that failed is absent (rules skip what they cannot read)."""
    sections: dict = {}
    for name, field in Spec.model_fields.items():
        if name not in data:
            if not field.is_required():
                sections[name] = field.get_default(call_default_factory=True)
            continue
        raw = data[name]
        if name not in broken:
            sections[name] = TypeAdapter(field.annotation).validate_python(raw)
            continue
        cls = _first_model(field.annotation)
        if cls is None:
            continue
        if isinstance(raw, dict):
            sections[name] = _partial(cls, raw)
        elif isinstance(raw, list):
            sections[name] = [_partial(_item_class(name, item, cls), item) for item in raw if isinstance(item, dict)]
    return sections


def _item_class(section: str, item: dict, default: type[BaseModel]) -> type[BaseModel]:
    """The class of one list item: a stage's class follows its `kind`."""
    if section == "stages":
        return STAGE_CLASSES.get(str(item.get("kind")), default)
    return default


def _partial(cls: type[BaseModel], raw: dict) -> BaseModel:
    instance = cls.model_construct()
    for key, value in raw.items():
        if key in cls.model_fields:
            try:
                cls.__pydantic_validator__.validate_assignment(instance, key, value)
            except ValidationError:
                if key in instance.__dict__:
                    del instance.__dict__[key]
    return instance
