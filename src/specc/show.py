"""Human-readable views of a plan (`specc plan`)."""

from __future__ import annotations

import json


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def plan_text(plan: dict) -> str:
    """The plan as plain text: every resolved value, one per line, grouped by section."""
    spec, model = plan["spec"], plan["model"]
    lines = [f"spec {spec['name']} ({spec['task']}), sha256 {spec['hash'][:12]}"]
    if spec["description"]:
        lines.append(f"  {spec['description']}")
    params = f", {model['parameters']:,} parameters" if model["parameters"] else ""
    lines.append(f"model   {model['base']} [{model['source']}, family {model['family']}{params}]")
    if model["trust_remote_code"]:
        lines.append("  RISK trust_remote_code is on: code shipped with the model will run")
    q = plan["quantization"]
    lines.append("quant   none" if q["mode"] == "none" else
                 f"quant   {q['mode']} {q['quant_type']}, double quant {q['double_quant']}, compute {q['compute_dtype']}")
    lora = plan["lora"]
    lines.append("lora    none (full fine-tuning)" if lora is None else
                 f"lora    r {lora['r']}, alpha {lora['alpha']}, dropout {lora['dropout']:g}, "
                 f"targets {_fmt(lora['targets'])}; head trained in full: {_fmt(lora['modules_to_save'])}")
    labels = plan["labels"]
    positive = f", positive {labels['positive']}" if labels["positive"] else ""
    lines.append(f"labels  {_fmt(labels['names'])} ({labels['average']} averaging{positive})")
    data = plan["data"]
    for split, entry in data["splits"].items():
        lines.append(f"data    {split:<10} {entry['path']} ({entry['format']})")
    lines.append(f"        text column {json.dumps(data['text_column'])}, label column {json.dumps(data['label_column'])}, "
                 f"max length {data['max_length']}")
    for stage in plan["stages"]:
        lines.append(f"stage   {stage['name']} ({stage['kind']}) -> {stage['output_dir']}")
        skip = {"name", "kind", "output_dir", "script"}
        lines.extend(f"        {k:<28} {_fmt(v)}" for k, v in stage.items() if k not in skip)
    ev = plan["evaluation"]
    lines.append(f"eval    {ev['split']} split, metrics {_fmt(ev['metrics'])}, best by {ev['best_metric']} "
                 f"-> {ev['output_dir']}")
    return "\n".join(lines)
