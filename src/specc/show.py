"""Human-readable views of a plan report (`specc plan --format text|md`)."""

from __future__ import annotations

import json


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _gib(n: int | None) -> str:
    return "unknown" if n is None else f"{n / 2**30:.2f} GiB"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _settings(plan: dict) -> list[tuple[str, str]]:
    """(section, one line) for every resolved setting a reviewer needs."""
    spec, model = plan["spec"], plan["model"]
    rows = [("spec", f"{spec['name']} ({spec['task']}), sha256 {spec['hash'][:12]}")]
    if spec["description"]:
        rows.append(("", spec["description"]))
    pooled = f", pooling {model['pooling']}" if model.get("pooling", "native") != "native" else ""
    rows.append(("model", f"{model['base']} [{model['source']}, family {model['family']}{pooled}]"))
    q = plan["quantization"]
    rows.append(("quant", "none" if q["mode"] == "none" else
                 f"{q['mode']} {q['quant_type']}, double quant {q['double_quant']}, compute {q['compute_dtype']}"))
    lora = plan["lora"]
    head = f"; head trained in full: {_fmt(lora['modules_to_save'])}" if lora and lora["modules_to_save"] else ""
    rows.append(("lora", "none (full fine-tuning)" if lora is None else
                 f"r {lora['r']}, alpha {lora['alpha']}, dropout {lora['dropout']:g}, targets {_fmt(lora['targets'])}"
                 + head))
    compute = plan.get("compute") or {}
    if compute.get("launcher", "python") != "python" or compute.get("strategy", "ddp") != "ddp":
        rows.append(("compute", f"{compute['launcher']}, {compute['processes_per_node']} process(es) per node x "
                     f"{compute['nodes']} node(s), {compute['strategy']}: python {' '.join(compute['python_args'])} "
                     "<script>"))
        if compute.get("config_files"):
            rows.append(("", "writes " + ", ".join(sorted(compute["config_files"]))))
    tracking = plan.get("tracking") or {}
    if tracking.get("backend", "none") != "none":
        where = tracking["uri"] or tracking["store"] or "wandb"
        rows.append(("track", f"{tracking['backend']} -> {where}, experiment {tracking['experiment']}"))
    tuning = plan.get("tuning")
    if tuning:
        rows.append(("tuning", f"{tuning['trials']} trials ({tuning['sampler']}, pruning {tuning['pruning']}), "
                     f"{tuning['direction']} validation {tuning['metric']}; study {tuning['storage']}"))
        for key, dist in tuning["space"].items():
            shown = (_fmt(dist["choices"]) if dist["type"] == "categorical"
                     else f"{_fmt(dist['low'])} .. {_fmt(dist['high'])}{' (log)' if dist['log'] else ''}")
            rows.append(("", f"{key}: {shown}"))
    rows += _screen_settings(plan)
    if spec["task"] == "chat":
        return rows + _chat_settings(plan)
    labels = plan["labels"]
    positive = f", positive {labels['positive']}" if labels["positive"] else ""
    rows.append(("labels", f"{_fmt(labels['names'])} ({labels['average']} averaging{positive})"))
    data = plan["data"]
    for split, entry in data["splits"].items():
        rows.append(("data", f"{split:<10} {entry['path']} ({entry['format']})"))
    rows.append(("", f"text column {json.dumps(data['text_column'])}, label column "
                 f"{json.dumps(data['label_column'])}, max length {data['max_length']}"))
    for stage in plan["stages"]:
        rows.append(("stage", f"{stage['name']} ({stage['kind']}) -> {stage['output_dir']}"))
        skip = {"name", "kind", "output_dir", "script"}
        rows.extend(("", f"{k:<28} {_fmt(v)}") for k, v in stage.items() if k not in skip)
    ev = plan["evaluation"]
    threshold = (f"threshold for recall >= {ev['threshold']['target_recall']} (chosen on validation)"
                 if ev["threshold"] else "most probable label")
    rows.append(("eval", f"{ev['split']} split, {threshold}, best checkpoint by {ev['best_metric']}"))
    if ev.get("ordinal"):
        rows.append(("levels", f"ordinal, lowest first: {_fmt(plan['labels']['names'])}"))
    rows.append(("risk", f"human attention for: {_fmt(ev.get('risk_labels')) or 'none (crisis patterns only)'}"))
    for gate in ev["gates"]:
        rows.append(("gate", f"{gate['name']} {gate['op']} {gate['bound']}"))
    if plan.get("ensemble"):
        members = ", ".join(m["name"] for m in plan["ensemble"]["members"])
        rows.append(("ensemble", f"{plan['ensemble']['rule']} of this model and {members}"))
    ab = plan["serving"].get("ab")
    if ab:
        rows.append(("a/b", f"{ab['share']:.0%} of requests to {ab['name']} ({ab['spec']})"))
    if plan.get("feedback", {}).get("enabled"):
        rows.append(("review", f"consented flags kept (redacted) in {plan['feedback']['queue_dir']}"))
    safety = plan["safety"]
    rows.append(("safety", f"{len(safety['cases'])} cases (suites: {_fmt(safety['suites']) or 'none'}), "
                 f"pass rate {safety['pass_rate']}"))
    return rows


def _screen_settings(plan: dict) -> list[tuple[str, str]]:
    """The crisis screen: its layers, the encoder, the corpus (size and hash) and what flagged messages get."""
    screen, serving = plan["screen"], plan["serving"]
    rows = [("screen", "layers: " + (" + ".join(screen["layers"]) or "NONE") + "; a message the screen cannot "
             "read (another language) is flagged")]
    if screen["semantic"]:
        corpus = screen["corpus"]
        rows.append(("", f"semantic: {screen['encoder']['source']}:{screen['encoder']['ref']}, threshold "
                     f"{screen['threshold']:g}; corpus {corpus['rows']} messages ({corpus['risk']} risk, "
                     f"{corpus['safe']} safe) in {len(corpus['files'])} files, sha256 {corpus['sha256'][:12]}"
                     + ("" if screen["builtin_corpus"] else "; WITHOUT the built-in corpus")))
        rows.append(("", f"fitted by the screen stage -> {screen['artifact']}"))
    rows.append(("", f"patterns: {len(serving['crisis_patterns'])} ({len(serving['custom_crisis_patterns'])} "
                 "the spec's own)" + ("" if serving["builtin_crisis_patterns"] else "; built-in patterns OFF")))
    if serving.get("screen"):
        rows.append(("", f"classifier: {serving['screen']['spec']} at its evaluated threshold"))
    replies = screen["replies"]
    if plan["spec"]["task"] == "chat":
        rows.append(("", "flagged messages get " + ("the model's reply when the reply check reads it as supportive"
                     if replies["model_replies_when_flagged"] else
                     ("specc's vetted reply" if replies["crisis_reply_is_builtin"] else "the spec's own reply"))
                     + f", the {serving['locale']} crisis resources and a human"))
    return rows


def _chat_settings(plan: dict) -> list[tuple[str, str]]:
    chat = plan["chat"]
    rows = [("chat", f"template {chat['template']}"
             + (f" (sha256 {chat['template_sha256'][:12]})" if chat["template_sha256"] else " (the tokenizer's own)")
             + (", system prompt set" if chat["system_prompt"] else ", no system prompt")
             + f"; generation: max {chat['max_new_tokens']} new tokens, temperature {chat['temperature']:g}")]
    for section in ("data", "preference_data"):
        block = plan.get(section)
        if not block:
            continue
        name = "chat_data" if section == "data" else section
        for split, entry in block["splits"].items():
            rows_of = f", rows with {entry['rows']['column']} = {entry['rows']['value']}" if entry.get("rows") else ""
            rows.append(("data", f"{name}.{split:<10} {entry['path']} ({entry['format']}{rows_of})"))
        if section == "data":
            cols = (f"user {json.dumps(block['user_column'])} -> assistant {json.dumps(block['assistant_column'])}"
                    if block["user_column"] else f"messages {json.dumps(block['messages_column'])}")
        else:
            cols = (f"prompt {json.dumps(block['prompt_column'])}, chosen {json.dumps(block['chosen_column'])}, "
                    f"rejected {json.dumps(block['rejected_column'])}")
        rows.append(("", cols + (f", first {block['max_rows']} rows" if block["max_rows"] else "")))
    for stage in plan["stages"]:
        head = f"{stage['name']} ({stage['kind']}) -> {stage['output_dir']}"
        if stage["kind"] == "dpo":
            head += f"; starts from {stage['start_from']}, reference: {stage['reference']}"
        rows.append(("stage", head))
        skip = {"name", "kind", "output_dir", "script", "model_dir", "start_chain", "reference", "start_from"}
        rows.extend(("", f"{k:<28} {_fmt(v)}") for k, v in stage.items() if k not in skip)
    return rows


def _estimate_rows(report: dict) -> list[tuple[str, str]]:
    est = report["estimates"]
    counts = est["parameters"]
    rows = []
    if counts.get("total"):
        base = f"; base checkpoint {counts['base']:,}" if counts.get("base") else ""
        rows.append(("params", f"{counts['total']:,} total, {counts['trainable']:,} trainable "
                     f"({counts['trainable_percent']:.2f}%){base}"))
    else:
        rows.append(("params", f"unknown ({counts.get('problem', 'no architecture facts')})"))
    tokens = est["tokens"]
    if tokens:
        rows.append(("tokens", f"{tokens['tokens_per_epoch']:,} per epoch over {tokens['examples']:,} examples "
                     f"(mean {tokens['mean_tokens']:.0f}, {tokens['truncated_examples']} truncated; {tokens['method']})"))
    else:
        rows.append(("tokens", "unknown (training data not on disk)"))
    for stage in est["stages"]:
        worst, typical = stage["memory_worst"], stage["memory_typical"]
        if worst.get("total"):
            rows.append(("memory", f"{stage['name']}: {_gib(worst['total'])} at max length {worst['seq_len']} "
                         f"(weights {_gib(worst['weights'])}, LoRA {_gib(worst.get('lora_weights'))}, "
                         f"gradients {_gib(worst['gradients'])}, optimizer {_gib(worst['optimizer_states'])}, "
                         f"activations {_gib(worst['activations_without_checkpointing'])} / "
                         f"{_gib(worst['activations_with_checkpointing'])} with checkpointing)"))
            if typical.get("total") and typical["seq_len"] != worst["seq_len"]:
                rows.append(("", f"{stage['name']}: {_gib(typical['total'])} at the data's mean length "
                             f"{typical['seq_len']}"))
        if stage.get("time"):
            rows.append(("time", f"{stage['name']}: about {_duration(stage['time']['seconds'])} on {est['device']} "
                         f"({stage['time']['assumes']})"))
    return rows


def plan_text(report: dict) -> str:
    """The plan report as plain text."""
    rows = _settings(report) + _estimate_rows(report)
    lines = [f"{section:<8}{text}" for section, text in rows]
    for risk in report["risks"]:
        lines.append(f"RISK    [{risk['code']}] {risk['message']}")
    return "\n".join(lines)


def plan_markdown(report: dict) -> str:
    """The plan report as markdown (for a pull request or a wiki)."""
    lines = [f"## specc plan: `{report['spec']['name']}`", ""]
    if report["risks"]:
        lines += ["**Risks**", ""] + [f"- ⚠️ `{r['code']}`: {r['message']}" for r in report["risks"]] + [""]
    lines += ["| | |", "|---|---|"]
    for section, text in _settings(report) + _estimate_rows(report):
        lines.append(f"| {section} | {text.strip().replace('|', '/')} |")
    return "\n".join(lines) + "\n"
