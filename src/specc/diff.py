"""`specc diff`: what a change to specs does, for a pull-request comment.

For every spec that differs between two git refs (or a ref and the working tree): a semantic diff of the
resolved plan (so a changed default shows), the generated files that changed, data files that changed
(by content hash), and the risk flags a reviewer must not miss.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SpeccError, SpecInvalid, UsageError
from .plan import data_files

SPEC_SUFFIXES = (".toml", ".py")
# Keys whose change is noise for a reviewer (they change whenever anything does).
NOISE = {("spec", "hash"), ("specc_version",)}


class GitError(SpeccError):
    """A git command failed (not a repository, an unknown ref)."""

    exit_code = 2


def git(repo: Path, *args: str, binary: bool = False) -> str | bytes:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, check=False)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {' '.join(args)}: {message[-1] if message else 'failed'}")
    return result.stdout if binary else result.stdout.decode()


def repo_root(start: Path) -> Path:
    return Path(str(git(start, "rev-parse", "--show-toplevel")).strip())


def default_base(repo: Path) -> str:
    """The merge-base with main (or master), else HEAD."""
    for branch in ("main", "master", "origin/main"):
        try:
            return str(git(repo, "merge-base", "HEAD", branch)).strip()
        except GitError:
            continue
    return "HEAD"


@dataclass
class Side:
    """One side of the diff: a git ref, or the working tree when `ref` is None."""

    repo: Path
    ref: str | None

    def files(self, folder: str) -> set[str]:
        if self.ref is None:
            base = self.repo / folder
            if not base.is_dir():
                return set()
            return {p.relative_to(self.repo).as_posix() for p in base.rglob("*") if p.is_file()}
        out = str(git(self.repo, "ls-tree", "-r", "--name-only", self.ref, "--", folder))
        return set(filter(None, out.splitlines()))

    def read(self, path: str) -> bytes | None:
        if self.ref is None:
            file = self.repo / path
            return file.read_bytes() if file.is_file() else None
        try:
            return git(self.repo, "show", f"{self.ref}:{path}", binary=True)  # type: ignore[return-value]
        except GitError:
            return None

    @property
    def label(self) -> str:
        return self.ref or "working tree"


@dataclass
class SpecChange:
    path: str
    status: str  # "added", "removed", "changed", "unchanged", "invalid"
    changes: list[tuple[str, object, object]] = field(default_factory=list)
    generated: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    deltas: list[tuple[str, object, object]] = field(default_factory=list)
    error: str = ""


def _plan_of(path: str, content: bytes, repo: Path) -> dict:
    """Check and plan a spec as it is on one side, with the data paths of the working tree."""
    from .load import load
    from .plan import build_plan
    from .validate import validate

    with tempfile.TemporaryDirectory(prefix="specc-diff-") as tmp:
        file = Path(tmp) / Path(path).name
        file.write_bytes(content)
        return build_plan(validate(load(file), repo))


def flatten(value: object, prefix: tuple = ()) -> dict[tuple, object]:
    """{("lora", "r"): 16, ...}; lists of tables are keyed by a stable id where they have one."""
    if isinstance(value, dict):
        out: dict[tuple, object] = {}
        for key, item in value.items():
            out.update(flatten(item, prefix + (key,)))
        return out or {prefix: {}}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, item in enumerate(value):
            key = item.get("id") or item.get("name") or i
            out.update(flatten(item, prefix + (key,)))
        return out
    return {prefix: value}


def _key(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def _data_hashes(side: Side, plan: dict, repo: Path) -> dict[str, str]:
    hashes = {}
    for _, entry in data_files(plan):
        rel = entry["path"]
        absolute = (repo / rel).resolve()
        content = None
        if absolute.is_relative_to(repo.resolve()):
            content = side.read(absolute.relative_to(repo.resolve()).as_posix())
        elif absolute.is_file() and side.ref is None:
            content = absolute.read_bytes()
        hashes[rel] = hashlib.sha256(content).hexdigest()[:12] if content is not None else "absent"
    return hashes


def risk_flags(old: dict | None, new: dict, repo: Path) -> list[str]:
    """What a reviewer must look at twice."""
    risks: list[str] = []
    old = old or {}
    old_ev, new_ev = old.get("evaluation") or {}, new["evaluation"] or {"gates": []}
    old_gates = {g["name"]: g for g in old_ev.get("gates", [])}
    new_gates = {g["name"]: g for g in new_ev["gates"]}
    for name, gate in old_gates.items():
        if name not in new_gates:
            risks.append(f"gate removed: {name} {gate['op']} {gate['bound']}")
            continue
        after = new_gates[name]
        lowered = (after["bound"] < gate["bound"]) if gate["op"] == ">=" else (after["bound"] > gate["bound"])
        if after["op"] != gate["op"] or lowered:
            risks.append(f"gate lowered: {name} {gate['op']} {gate['bound']} -> {after['op']} {after['bound']}")
    if not new_gates and new["spec"]["task"] != "chat":  # chat models are held back by [safety] cases
        risks.append("no gates: nothing stops a worse model from shipping")
    if new["spec"]["task"] == "chat" and old.get("stages") and new["stages"] != old["stages"]:
        for stage in new["stages"]:
            before = next((s for s in old["stages"] if s["name"] == stage["name"]), None)
            if stage["kind"] == "dpo" and before and before.get("reference") != stage.get("reference"):
                risks.append(f"DPO reference changed ({stage['name']}): {stage['reference']}")
    if old.get("chat") and new.get("chat") and old["chat"].get("template_sha256") != new["chat"].get("template_sha256"):
        risks.append("chat template changed: replies are formatted differently; retrain every stage")
    old_target = (old_ev.get("threshold") or {}).get("target_recall")
    new_target = (new_ev.get("threshold") or {}).get("target_recall")
    if old_target is not None and (new_target is None or new_target < old_target):
        risks.append(f"recall target lowered: {old_target} -> {new_target}")
    old_safety, new_safety = old.get("safety") or {}, new["safety"] or {"suites": [], "cases": [], "pass_rate": 1.0}
    for suite in sorted(set(old_safety.get("suites", [])) - set(new_safety["suites"])):
        risks.append(f"safety suite removed: {suite}")
    old_cases = {c["id"] for c in old_safety.get("cases", []) if c["source"] == "spec"}
    new_cases = {c["id"] for c in new_safety["cases"] if c["source"] == "spec"}
    for case in sorted(old_cases - new_cases):
        risks.append(f"safety case removed: {case}")
    if old_safety and new_safety["pass_rate"] < old_safety.get("pass_rate", 0):
        risks.append(f"safety pass rate lowered: {old_safety['pass_rate']} -> {new_safety['pass_rate']}")
    if not new_safety["cases"]:
        risks.append("no safety tests")
    old_serving, new_serving = old.get("serving") or {}, new.get("serving") or {}
    if old_serving.get("builtin_crisis_patterns") and not new_serving.get("builtin_crisis_patterns"):
        risks.append("crisis screen weakened: the built-in crisis patterns were turned off")
    for pattern in sorted(set(old_serving.get("custom_crisis_patterns", []))
                          - set(new_serving.get("custom_crisis_patterns", []))):
        risks.append(f"crisis screen weakened: pattern removed: {pattern}")
    risks += screen_risks(old, new)
    if old_serving and old_serving.get("locale") != new_serving.get("locale"):
        risks.append(f"crisis resources changed: locale {old_serving.get('locale')} -> {new_serving.get('locale')}")
    old_risk = set((old.get("evaluation") or {}).get("risk_labels") or [])
    for label in sorted(old_risk - set((new.get("evaluation") or {}).get("risk_labels") or [])):
        risks.append(f"human attention narrowed: {label} no longer flags a message for a human")
    old_ab, new_ab = old_serving.get("ab"), new_serving.get("ab")
    if new_ab and (not old_ab or old_ab["name"] != new_ab["name"] or new_ab["share"] > old_ab["share"]):
        risks.append(f"live traffic to another model: {new_ab['share']:.0%} of requests answered by {new_ab['name']}")
    if (new.get("feedback") or {}).get("enabled") and not (old.get("feedback") or {}).get("enabled"):
        risks.append("review queue turned on: consented flagged messages are kept (redacted) for reviewers")
    old_members = [m["name"] for m in (old.get("ensemble") or {}).get("members", [])]
    new_members = [m["name"] for m in (new.get("ensemble") or {}).get("members", [])]
    if old and old_members != new_members:
        risks.append(f"ensemble members changed: {old_members or 'none'} -> {new_members or 'none'}")
    for entry in (new.get("data") or {}).get("extra_train", []):
        if entry not in (old.get("data") or {}).get("extra_train", []):
            risks.append(f"training data added: {entry['path']} (check its data card)")
    if new["model"]["trust_remote_code"] and not old.get("model", {}).get("trust_remote_code"):
        risks.append("trust_remote_code turned on: code shipped with the model will run")
    if old and old["quantization"] != new["quantization"]:
        risks.append(f"quantization changed: {old['quantization']['mode']} -> {new['quantization']['mode']}")
    old_precision = [s["precision"] for s in old.get("stages", [])]
    new_precision = [s["precision"] for s in new["stages"]]
    if old and old_precision != new_precision:
        risks.append(f"training precision changed: {old_precision} -> {new_precision}")
    if old and old["model"]["base"] != new["model"]["base"]:
        risks.append(f"base model changed: {old['model']['base']} -> {new['model']['base']}")
    for path in dict.fromkeys(entry["path"] for _, entry in data_files(new)):
        if not (repo / path).resolve().is_relative_to(repo.resolve()):
            risks.append(f"data path outside the repository: {path}")
    return risks


def screen_risks(old: dict, new: dict) -> list[str]:
    """Changes that weaken the crisis screen: a layer removed, a smaller corpus, a higher semantic threshold,
    the model answering crisis messages, another reply for them."""
    before, after = old.get("screen"), new["screen"]
    old_serving = old.get("serving") or {}
    risks: list[str] = []
    if before is None:  # the base side predates the layered screen: compare with what it had (patterns only)
        before = {"layers": ["patterns"] if old_serving.get("crisis_patterns") else [], "corpus": None,
                  "threshold": None, "builtin_corpus": False, "replies": {}} if old else None
    if before is None:
        return risks
    for layer in before["layers"]:
        if layer not in after["layers"]:
            risks.append(f"crisis screen weakened: the {layer} layer was removed")
    if before["corpus"] is not None and after["semantic"]:
        if after["corpus"]["rows"] < before["corpus"]["rows"]:
            risks.append(f"crisis screen weakened: the screen corpus shrank ({before['corpus']['rows']} -> "
                         f"{after['corpus']['rows']} messages)")
        if before["builtin_corpus"] and not after["builtin_corpus"]:
            risks.append("crisis screen weakened: fitted without specc's built-in corpus")
        if after["threshold"] > before["threshold"]:
            risks.append(f"crisis screen weakened: semantic threshold raised {before['threshold']:g} -> "
                         f"{after['threshold']:g}")
    if after["replies"]["model_replies_when_flagged"] and not before["replies"].get("model_replies_when_flagged"):
        risks.append("the model now answers crisis messages itself (behind the supportive-reply check) instead of "
                     "the vetted reply")
    if before["replies"].get("crisis_reply") not in (None, after["replies"]["crisis_reply"]):
        risks.append("the reply crisis messages get changed: have a clinician read it")
    return risks


def diff_specs(repo: Path, base: str | None, head: str | None) -> list[SpecChange]:
    """Every spec under specs/ that differs between the two sides, with its changes and risks."""
    old_side = Side(repo, base or default_base(repo))
    new_side = Side(repo, head)
    git(repo, "rev-parse", "--verify", f"{old_side.ref}^{{commit}}")
    if head is not None:
        git(repo, "rev-parse", "--verify", f"{head}^{{commit}}")
    specs = sorted(p for p in old_side.files("specs") | new_side.files("specs")
                   if p.endswith(SPEC_SUFFIXES) and "/data/" not in p)
    old_generated = {p: old_side.read(p) for p in old_side.files("generated")}
    new_generated = {p: new_side.read(p) for p in new_side.files("generated")}
    changes = []
    for path in specs:
        old_bytes, new_bytes = old_side.read(path), new_side.read(path)
        change = SpecChange(path, "changed")
        try:
            old_plan = _plan_of(path, old_bytes, repo) if old_bytes is not None else None
            new_plan = _plan_of(path, new_bytes, repo) if new_bytes is not None else None
        except SpecInvalid as exc:
            change.status = "invalid"
            change.error = "; ".join(d.render() for d in exc.diagnostics if d.severity == "error")
            changes.append(change)
            continue
        if new_plan is None:
            change.status = "removed"
            changes.append(change)
            continue
        if old_plan is None:
            change.status = "added"
        name = new_plan["spec"]["name"]
        prefix = f"generated/{name}/"
        change.generated = sorted(p.removeprefix("generated/") for p in set(old_generated) | set(new_generated)
                                  if p.startswith(prefix) and old_generated.get(p) != new_generated.get(p))
        before = flatten(old_plan) if old_plan else {}
        after = flatten(new_plan)
        change.changes = [(_key(k), before.get(k), after.get(k)) for k in sorted(set(before) | set(after), key=_key)
                          if k not in NOISE and before.get(k) != after.get(k)] if old_plan else []
        old_data = _data_hashes(old_side, old_plan, repo) if old_plan else {}
        new_data = _data_hashes(new_side, new_plan, repo)
        change.data = [f"{p}: {old_data.get(p, 'absent')} -> {h}" for p, h in new_data.items()
                       if old_plan and old_data.get(p) != h]
        change.deltas = _deltas(old_plan, new_plan, repo)
        change.risks = risk_flags(old_plan, new_plan, repo) + [f"data file changed: {d}" for d in change.data]
        if old_plan and not change.changes and not change.generated and not change.data:
            change.status = "unchanged"
        changes.append(change)
    return changes


def _deltas(old: dict | None, new: dict, repo: Path) -> list[tuple[str, object, object]]:
    """Plan numbers that moved: parameters, memory, tokens."""
    from .report import plan_numbers

    after = plan_numbers(new, repo)
    before = plan_numbers(old, repo) if old else {}
    return [(k, before.get(k), v) for k, v in after.items() if before.get(k) != v]


def _fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return f"`{value}`"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    return f"`{value}`" if isinstance(value, (bool, list, dict)) else str(value)


def to_markdown(changes: list[SpecChange], base: str, head: str) -> str:
    changed = [c for c in changes if c.status != "unchanged"]
    lines = [f"## specc diff: `{base}` → `{head}`", ""]
    if not changed:
        return "\n".join(lines + ["No spec changes."]) + "\n"
    risky = sum(len(c.risks) for c in changed)
    lines.append(f"{len(changed)} spec(s) changed, {risky} risk flag(s).")
    for c in changed:
        lines += ["", f"### `{c.path}` ({c.status})", ""]
        if c.error:
            lines += [f"Does not check: {c.error}"]
            continue
        if c.risks:
            lines += ["**Risks**", ""] + [f"- ⚠️ {r}" for r in c.risks] + [""]
        if c.changes:
            lines += ["| setting | before | after |", "|---|---|---|"]
            lines += [f"| `{k}` | {_fmt(a)} | {_fmt(b)} |" for k, a, b in c.changes]
            lines.append("")
        if c.deltas:
            lines += ["| estimate | before | after |", "|---|---|---|"]
            lines += [f"| {k} | {_fmt(a)} | {_fmt(b)} |" for k, a, b in c.deltas]
            lines.append("")
        if c.generated:
            lines += ["Generated files changed: " + ", ".join(f"`{g}`" for g in c.generated)]
    return "\n".join(lines).rstrip() + "\n"


def run_diff(start: Path, base: str | None, head: str | None) -> tuple[str, bool]:
    """Markdown and whether anything changed."""
    repo = repo_root(start)
    if head is not None and base is None:
        raise UsageError("give BASE when giving HEAD")
    changes = diff_specs(repo, base, head)
    label_base = base or f"merge-base {default_base(repo)[:10]}"
    text = to_markdown(changes, label_base, head or "working tree")
    return text, any(c.status != "unchanged" for c in changes)
