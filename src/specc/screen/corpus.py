"""The screen corpus: short messages written by the specc developers, each labelled `risk` or `safe`, that the
semantic layer of the crisis screen is fitted on (by the generated screen.py, as its own stage of `specc
run`). Shipped with specc as CSV text under `corpus/`; a spec can add its own files (`[screen] corpus`).

Each file has the columns `family,category,label,text`. A family is one situation written several times in
different words: cross-validation holds whole families out, so that a paraphrase never sits on both sides
of a fold. Categories name the kind of risk (direct, passive, indirect, farewell, plan, method-seeking,
self-injury, eating-disorder, slang, third-party-urgent, harm-to-others) or of look-alike (idioms,
technical words, prevention and research talk, news, fiction, sport, support questions, recovery, everyday
sadness, health and diet, everyday chat). The corpus holds no method details.

Decisions a clinician should know (see also corpus/README.md):
- A message about someone else in danger *now* ("my friend just sent me a goodbye text") is `risk`; a
  general question about supporting someone ("how do I help a friend who is depressed") is `safe`.
- A first-person intent to seriously hurt another person is `risk`: it needs a human as much as a threat
  to oneself. Angry idioms ("my mum is going to kill me") are `safe`.
- Past risk told as past and recovered is `safe`; a past attempt with hopelessness now is `risk`.

This module reads and summarises corpus files for `check`, `plan` and `diff`: no torch, no encoder.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

SCREEN_DIR = Path(__file__).resolve().parent
COLUMNS = ("family", "category", "label", "text")
# The labels of each kind of corpus: messages (what the screen flags) and replies (what the reply check
# blocks, and what it reads as a supportive crisis reply).
LABELS = {"corpus": ("risk", "safe"), "replies": ("harmful", "supportive", "neutral")}
MAX_TEXT_CHARS = 2000
MAX_ROWS = 200_000


class CorpusError(ValueError):
    """A corpus file that cannot be used; the message names the file and row, never the file's content."""


@dataclass(frozen=True)
class CorpusFile:
    """One corpus file as the plan records it."""

    name: str  # "builtin:direct.csv", or the spec's path as written
    rows: int
    risk: int  # rows with the kind's first label (risk; harmful for replies)
    safe: int  # the others
    sha256: str
    categories: dict[str, int]

    def as_plan(self) -> dict:
        return {"name": self.name, "rows": self.rows, "risk": self.risk, "safe": self.safe,
                "sha256": self.sha256, "categories": self.categories}


def builtin_files(kind: str = "corpus") -> list[Path]:
    """The corpus files of one kind ("corpus": messages, "replies") shipped with specc, in name order."""
    return sorted((SCREEN_DIR / kind).glob("*.csv"))


def read_rows(data: bytes, name: str, labels: tuple[str, ...] = LABELS["corpus"]) -> list[dict]:
    """The rows of one corpus file (CSV with `text` and `label`, optionally `family` and `category`; or
    JSONL objects with the same keys). Rows without a family are families of their own; rows without a
    category get "<label>:unnamed"."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{name} is not UTF-8 text (byte {exc.start})") from None
    if name.lower().endswith((".jsonl", ".json")):
        rows = []
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise CorpusError(f"{name} line {i} is not JSON") from None
            if not isinstance(row, dict):
                raise CorpusError(f"{name} line {i} is not a JSON object")
            rows.append((i, row))
    else:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = [c for c in ("text", "label") if c not in (reader.fieldnames or [])]
        if missing:
            raise CorpusError(f"{name} has no column {missing[0]!r} (a corpus file needs text and label)")
        try:
            rows = [(i, row) for i, row in enumerate(reader, start=2)]
        except csv.Error as exc:
            raise CorpusError(f"{name} is not valid CSV: {exc}") from None
    if len(rows) > MAX_ROWS:
        raise CorpusError(f"{name} has more than {MAX_ROWS} rows")
    out = []
    for line, row in rows:
        label, body = row.get("label"), row.get("text")
        if label not in labels:
            raise CorpusError(f"{name} row {line}: label must be " + " or ".join(f'"{x}"' for x in labels))
        if not isinstance(body, str) or not body.strip():
            raise CorpusError(f"{name} row {line}: text is empty")
        if len(body) > MAX_TEXT_CHARS:
            raise CorpusError(f"{name} row {line}: text is longer than {MAX_TEXT_CHARS} characters")
        family = row.get("family") or f"{name}:{line}"
        category = row.get("category") or f"{label}:unnamed"
        out.append({"family": str(family), "category": str(category), "label": label, "text": body})
    if not out:
        raise CorpusError(f"{name} has no rows")
    return out


def summarise(name: str, data: bytes, kind: str = "corpus") -> CorpusFile:
    rows = read_rows(data, name, LABELS[kind])
    categories: dict[str, int] = {}
    for row in rows:
        key = f"{row['label']}:{row['category']}"
        categories[key] = categories.get(key, 0) + 1
    first = LABELS[kind][0]  # risk (messages) or harmful (replies)
    flagged = sum(r["label"] == first for r in rows)
    return CorpusFile(name, len(rows), flagged, len(rows) - flagged, hashlib.sha256(data).hexdigest(),
                      dict(sorted(categories.items())))


def builtin_summary(kind: str = "corpus") -> list[CorpusFile]:
    """The built-in files of one kind, named "builtin:<kind>/<file>"."""
    return [summarise(f"builtin:{kind}/{path.name}", path.read_bytes(), kind) for path in builtin_files(kind)]


def corpus_digest(files: list[CorpusFile]) -> str:
    """One hash over every file's name and content hash, in order: what a screen artifact was fitted on."""
    joined = "\n".join(f"{f.name}\t{f.sha256}" for f in files)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()
