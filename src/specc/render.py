"""Step 4, render: the plan into Python source through packaged Jinja templates.

Spec values reach generated code only as Python literals: the `py` filter turns a validated primitive into
its `repr`, and the environment's `finalize` refuses any `{{ ... }}` output that did not come through that
filter. A spec string therefore cannot become code, whatever characters it holds.
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache
from pathlib import Path

from .errors import RenderError


class PyLiteral(str):
    """Text that the `py` filter produced: a Python literal, safe to place in code."""


def py(value: object) -> PyLiteral:
    """The one escaping path: a primitive from the plan as a Python literal."""
    return PyLiteral(_literal(value))


def _literal(value: object) -> str:
    if value is None or isinstance(value, (bool, int)):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RenderError(f"cannot render the non-finite number {value!r}")
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    raise RenderError(f"cannot render a {type(value).__name__} as a Python literal")


def _finalize(value: object) -> object:
    if isinstance(value, PyLiteral):
        return value
    raise RenderError(
        f"template bug: {{{{ ... }}}} produced {type(value).__name__} {str(value)[:40]!r} without the `py` "
        "filter; every value must be written as `{{ value | py }}`")


def templates_dir() -> Path:
    """Templates ship inside the wheel as specc/templates; in a source checkout they are at the top."""
    packaged = Path(__file__).resolve().parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


@lru_cache(maxsize=1)
def environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters["py"] = py
    return env


def template_files(task: str) -> list[str]:
    """Every template a task's output can depend on (its own folder and the shared includes)."""
    base = templates_dir()
    return sorted(p.relative_to(base).as_posix() for folder in (task, "common")
                  for p in (base / folder).glob("*.j2"))


def template_hash(name: str) -> str:
    return hashlib.sha256((templates_dir() / name).read_bytes()).hexdigest()


def render(template: str, plan: dict, header: dict) -> str:
    """Render one template with the plan; `header` carries file-level facts (spec name, hash, version)."""
    import jinja2

    try:
        return environment().get_template(template).render(plan=plan, header=header)
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {template}: {exc}") from exc
