"""Step 1, load: read a spec file (TOML, or a Python module that defines `spec`) into plain data plus
a way to locate every field in the file."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

from .errors import Diagnostic, Location, SpecInvalid, SpecNotFound
from .toml_positions import PositionMap, scan_positions


def format_path(path: tuple) -> str:
    """("lora", "targets", 3) -> "lora.targets[3]"."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class Source:
    """A loaded spec: where it came from and how to point into it."""

    file: Path
    display: str
    kind: str  # "toml" or "python"
    data: dict | None = None  # TOML only: the parsed document
    spec: object | None = None  # Python only: the `spec` object the module built
    positions: PositionMap | None = None
    _py_keywords: dict[str, list[tuple[str, ast.keyword]]] = field(default_factory=dict)

    def locate(self, path: tuple, prefer: str = "value") -> Location:
        """The file position of a field path, as exact as the source allows."""
        if self.positions is not None:
            pos = self.positions.find(path, prefer)
            return Location(self.display, *pos) if pos else Location(self.display, 1, 1)
        return self._locate_python(path)

    def _locate_python(self, path: tuple) -> Location:
        # Find the keyword argument that set this field, e.g. `targets=[...]` inside `Lora(...)`.
        names = [p for p in path if isinstance(p, str)]
        index = path[-1] if path and isinstance(path[-1], int) else None
        from .spec import SECTION_OF_CLASS

        for depth in range(len(names), 0, -1):
            name = names[depth - 1]
            candidates = self._py_keywords.get(name, [])
            section = names[0] if names else ""
            preferred = [kw for cls, kw in candidates if SECTION_OF_CLASS.get(cls) == section]
            chosen = (preferred or [kw for _, kw in candidates])[:1]
            if chosen:
                node: ast.AST = chosen[0].value
                if (index is not None and depth == len(names) and isinstance(node, (ast.List, ast.Tuple))
                        and index < len(node.elts)):
                    node = node.elts[index]
                return Location(self.display, node.lineno, node.col_offset + 1)
        return Location(self.display)


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def load(path: str | Path) -> Source:
    """Read a spec file; syntax problems raise `SpecInvalid`, a missing file `SpecNotFound`."""
    file = Path(path)
    display = _display(file)
    if not file.is_file():
        raise SpecNotFound(f"{display}: error[spec-not-found]: no such spec file")
    if file.suffix == ".py":
        return _load_python(file, display)
    if file.suffix != ".toml":
        raise SpecNotFound(
            f"{display}: error[spec-not-found]: a spec is a .toml file or a .py module, not {file.suffix or 'a file without extension'}")
    return _load_toml(file, display)


def _load_toml(file: Path, display: str) -> Source:
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecInvalid([Diagnostic("toml-syntax", f"the file is not UTF-8 text ({exc.reason})",
                                      location=Location(display, 1, 1))]) from None
    except OSError as exc:
        raise SpecNotFound(f"{display}: error[spec-not-found]: cannot read the file ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", message)
        where = Location(display, int(m.group(1)), int(m.group(2))) if m else Location(display)
        if m:
            message = message[: m.start()].strip()
        elif "end of document" in message:
            where = Location(display, text.count("\n") + 1, 1)
            message = re.sub(r"\s*\(at end of document\)", "", message)
        message = message[0].lower() + message[1:] if message else "invalid TOML"
        raise SpecInvalid([Diagnostic("toml-syntax", f"invalid TOML: {message}", location=where)]) from None
    return Source(file, display, "toml", data=data, positions=scan_positions(text))


def _load_python(file: Path, display: str) -> Source:
    from pydantic import ValidationError

    from .spec import Spec

    text = file.read_text(encoding="utf-8")
    source = Source(file, display, "python")
    try:
        tree = ast.parse(text, filename=display)
    except SyntaxError as exc:
        raise SpecInvalid([Diagnostic("python-syntax", f"invalid Python: {exc.msg}",
                                      location=Location(display, exc.lineno or 0, exc.offset or 0))]) from None
    source._py_keywords = _keywords_by_name(tree)

    module_name = f"_specc_spec_{uuid.uuid4().hex}"
    loader_spec = importlib.util.spec_from_file_location(module_name, file)
    module = importlib.util.module_from_spec(loader_spec)
    try:
        loader_spec.loader.exec_module(module)
    except ValidationError as exc:
        from .validate import diagnostics_from_validation_error

        line = _user_line(exc, file)
        raise SpecInvalid(diagnostics_from_validation_error(exc, source, python_line=line)) from None
    except Exception as exc:  # the user's module failed: report where, not a traceback
        line = _user_line(exc, file)
        raise SpecInvalid([Diagnostic("python-spec-error", f"running the spec module raised "
                                      f"{type(exc).__name__}: {exc}", location=Location(display, line))]) from None
    finally:
        sys.modules.pop(module_name, None)
    spec = getattr(module, "spec", None)
    if not isinstance(spec, Spec):
        got = "nothing" if spec is None else f"a {type(spec).__name__}"
        raise SpecInvalid([Diagnostic(
            "python-spec-missing", f"the module must define `spec = Spec(...)`, but `spec` is {got}",
            location=Location(display, 1, 1))])
    source.spec = spec
    return source


def _user_line(exc: BaseException, file: Path) -> int:
    line = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == file.resolve():
            line = frame.lineno or 0
    return line


def _keywords_by_name(tree: ast.AST) -> dict[str, list[tuple[str, ast.keyword]]]:
    found: dict[str, list[tuple[str, ast.keyword]]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            cls = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            for kw in node.keywords:
                if kw.arg:
                    found.setdefault(kw.arg, []).append((cls, kw))
    return found
