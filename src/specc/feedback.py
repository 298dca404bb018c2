"""`specc feedback export`: reviewed flags (the serving app's review queue) into a versioned dataset.

Each export writes the items reviewed since the last export as `vNNNN.csv` (the spec's text and label
columns plus `id` and `source`) with a data card beside it (`vNNNN.card.json` for tools, `vNNNN.md` for
people) that says where every row came from. Add the file to a spec's `data.extra_train` to train on it.
Pure Python: no torch, no transformers.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .errors import OutputError, UsageError
from .write import write_file_atomic

_VERSION = re.compile(r"^v(\d{4})\.card\.json$")
DISCARDED = "discarded.json"  # items reviewers discarded and no version holds


@dataclass(frozen=True)
class Export:
    version: int | None  # None: nothing new to export
    csv_path: Path | None
    rows: int
    discarded: int
    skipped: int  # reviewed with a label this spec does not have


def queue_dir(root: Path, spec_name: str) -> Path:
    return root / "runs" / spec_name / "feedback"


def reviewed_items(root: Path, spec_name: str) -> list[dict]:
    """Every reviewed item of a spec's queue, oldest review first (damaged files are skipped)."""
    folder = queue_dir(root, spec_name) / "reviewed"
    items = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            item = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(item, dict) and isinstance(item.get("review"), dict) and isinstance(item.get("text"), str):
            items.append(item)
    return sorted(items, key=lambda i: (str(i["review"].get("reviewed", "")), str(i.get("item_id", ""))))


def _earlier(out_dir: Path) -> tuple[int, set[str]]:
    """The last version number in out_dir and every item id an earlier version already holds."""
    last, seen = 0, set()
    for path in out_dir.glob("v*.card.json") if out_dir.is_dir() else []:
        m = _VERSION.match(path.name)
        if not m:
            continue
        last = max(last, int(m.group(1)))
        try:
            card = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise UsageError(f"{path} is damaged; fix or remove it before exporting again") from None
        seen.update(card.get("item_ids", []))
    ledger = out_dir / DISCARDED
    if ledger.is_file():
        try:
            seen.update(json.loads(ledger.read_text(encoding="utf-8")).get("item_ids", []))
        except (OSError, ValueError):
            raise UsageError(f"{ledger} is damaged; fix or remove it before exporting again") from None
    return last, seen


def _label(item: dict, labels: list[str], multi: bool, separator: str) -> str | None:
    """The reviewer's label as a cell of the label column ("" for none of a multi-label spec's labels);
    None when the item has no usable label."""
    given = item["review"].get("label")
    if multi and isinstance(given, list) and all(isinstance(n, str) and n in labels for n in given):
        return separator.join(n for n in labels if n in given)
    if not multi and isinstance(given, str) and given in labels:
        return given
    return None


def export(spec, root: Path, out_dir: Path | None = None) -> Export:
    """Write the next version of the spec's reviewed-feedback dataset (see the module docstring)."""
    if spec.data is None:
        raise UsageError(f"{spec.name} is not a classification spec; feedback is for classifiers")
    out_dir = out_dir or root / "data" / "feedback" / spec.name
    labels = spec.data.label_names
    multi, separator = spec.data.multi_label, spec.data.label_separator
    last, seen = _earlier(out_dir)
    fresh = [i for i in reviewed_items(root, spec.name) if i.get("item_id") not in seen]
    cells = {i["item_id"]: _label(i, labels, multi, separator) for i in fresh}
    kept = [i for i in fresh if cells[i["item_id"]] is not None]
    discarded = [i for i in fresh if i["review"].get("label") is None]
    skipped = len(fresh) - len(kept) - len(discarded)
    if not kept:
        if discarded:  # no rows to write: remember the discarded items so that they are not counted again
            ledger = out_dir / DISCARDED
            earlier = json.loads(ledger.read_text(encoding="utf-8")).get("item_ids", []) if ledger.is_file() else []
            try:
                out_dir.mkdir(parents=True, exist_ok=True)
                write_file_atomic(ledger, (json.dumps({"item_ids": earlier + [i["item_id"] for i in discarded]},
                                                      indent=2) + "\n").encode("utf-8"))
            except OSError as exc:
                raise OutputError(f"cannot write {ledger}: {exc.strerror or exc}") from None
        return Export(None, None, 0, len(discarded), skipped)
    version = last + 1
    stem = f"v{version:04d}"
    text_col, label_col = spec.data.text_column, spec.data.label_column
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", text_col, label_col, "source"])
    provenance = []
    for item in kept:
        row_id = f"fb-{item['item_id']}"
        writer.writerow([row_id, item["text"], cells[item["item_id"]], "reviewed-flag"])
        provenance.append({
            "id": row_id, "item_id": item["item_id"], "received": item.get("received"),
            "reviewed": item["review"].get("reviewed"), "reviewer": item["review"].get("reviewer"),
            "served_by": item.get("model"), "model_label": item.get("predicted"), "model_score": item.get("score"),
            "screened": item.get("screened"), "label": cells[item["item_id"]],
        })
    changed = sum(1 for p in provenance if p["model_label"] != p["label"])
    card = {
        "dataset": f"{spec.name} reviewed feedback", "version": version, "file": f"{stem}.csv",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "spec": spec.name,
        "rows": len(kept), "labels": dict(sorted(Counter(p["label"] for p in provenance).items())),
        "relabelled": changed, "discarded": len(discarded), "skipped_unknown_label": skipped,
        "item_ids": [i["item_id"] for i in kept + discarded],
        "provenance": provenance,
        "collection": ("Messages the served model or the crisis screen flagged for a human, kept only when the "
                       "sender consented (consent_to_review), with e-mail addresses, links, @handles and long "
                       "numbers redacted and no session id; labelled by a reviewer (id kept as a keyed hash)."),
    }
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_file_atomic(out_dir / f"{stem}.csv", buffer.getvalue().encode("utf-8"))
        write_file_atomic(out_dir / f"{stem}.md", _card_markdown(card).encode("utf-8"))
        # The JSON card last: it marks the version as complete (and its items as exported).
        write_file_atomic(out_dir / f"{stem}.card.json", (json.dumps(card, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"cannot write {out_dir}: {exc.strerror or exc}") from None
    return Export(version, out_dir / f"{stem}.csv", len(kept), len(discarded), skipped)


def _card_markdown(card: dict) -> str:
    lines = [
        f"# Data card: {card['dataset']}, version {card['version']}", "",
        f"File `{card['file']}`, {card['rows']} rows, created {card['created']} from the review queue of spec "
        f"`{card['spec']}`.", "",
        "## Where the rows come from", "", card["collection"], "",
        f"- Rows: {card['rows']}; the reviewer's label differs from the model's for {card['relabelled']}.",
        f"- Items the reviewer discarded (no row): {card['discarded']}.",
        f"- Items with a label this spec does not have (no row): {card['skipped_unknown_label']}.", "",
        "| label | rows |", "|---|---|",
    ]
    lines += [f"| {name} | {count} |" for name, count in card["labels"].items()]
    lines += ["", "## Every row", "", "| id | received | reviewed | served by | model said | reviewer said |",
              "|---|---|---|---|---|---|"]
    for p in card["provenance"]:
        lines.append(f"| {p['id']} | {p['received']} | {p['reviewed']} | {p['served_by']} | {p['model_label']} | "
                     f"{p['label']} |")
    lines += ["", "## Use", "",
              "Add the CSV to a spec's `data.extra_train` to train on it. These are hard cases chosen by the model "
              "and the screen, not a random sample: do not evaluate on them as if they were.", ""]
    return "\n".join(lines)
