"""The JSON Schema of the spec language, generated from the pydantic models.

`schema/specc.schema.json` is this, checked in; a test keeps it fresh. Specs point editors at it with a
first line `#:schema ../schema/specc.schema.json` (taplo / Even Better TOML).
"""

from __future__ import annotations

import json

from .spec import Spec

SCHEMA_ID = "https://specc.dev/schema/specc.schema.json"


def schema() -> dict:
    out = Spec.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "specc spec", **{k: v for k, v in out.items() if k != "title"}}


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
