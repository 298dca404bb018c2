"""Change a few values of a TOML spec in place, keeping its comments and layout, and show the change as
a unified diff (the patch `specc tune` writes). The result is parsed again and compared with the intended
data before anyone sees it: a patch that would change anything else is refused."""

from __future__ import annotations

import copy
import difflib
import json
import re

import tomllib

from .toml_positions import scan_positions

_SCALAR = re.compile(r"[^\s,#}\]]+")
_HEADER = re.compile(r"\s*\[")


class PatchError(Exception):
    """The spec's text could not be changed safely (an inline table, a dotted key, ...)."""


def toml_literal(value: object) -> str:
    """A TOML literal for a tuned value; floats keep 4 significant digits (what a search can tell apart)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.4g}"
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return json.dumps(value)
    raise PatchError(f"cannot write {value!r} as a TOML value")


def set_values(text: str, values: dict[tuple, object]) -> str:
    """`text` with each path (`("stages", 0, "learning_rate")`) set to its value: an existing scalar is
    replaced where it stands, a missing key is added at the end of its table."""
    data = tomllib.loads(text)
    positions = scan_positions(text)
    lines = text.splitlines(keepends=True)
    replacements: list[tuple[int, int, int, str]] = []  # (line, start, end, new text)
    insertions: list[tuple[int, str]] = []  # (before line, new line)
    expected = copy.deepcopy(data)
    for path, value in values.items():
        literal = toml_literal(value)
        _set(expected, path, tomllib.loads(f"v = {literal}")["v"])
        if path in positions.values:
            line, col = positions.values[path]
            match = _SCALAR.match(lines[line - 1], col - 1)
            if match is None:
                raise PatchError(f"{'.'.join(map(str, path))} is not a plain value")
            replacements.append((line - 1, match.start(), match.end(), literal))
            continue
        header = positions.keys.get(path[:-1])
        if header is None or not _HEADER.match(lines[header[0] - 1]):
            raise PatchError(f"no [{'.'.join(map(str, path[:-1]))}] table to add {path[-1]} to")
        end = header[0]  # 0-based index of the line after the header
        while end < len(lines) and not _HEADER.match(lines[end]):
            end += 1
        while end - 1 >= header[0] and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
            end -= 1
        insertions.append((end, f"{path[-1]} = {literal}\n"))
    for line, start, stop, literal in sorted(replacements, reverse=True):
        lines[line] = lines[line][:start] + literal + lines[line][stop:]
    for before, new_line in sorted(insertions, reverse=True):
        if before > 0 and not lines[before - 1].endswith("\n"):
            lines[before - 1] += "\n"
        lines.insert(before, new_line)
    result = "".join(lines)
    try:
        if tomllib.loads(result) != expected:
            raise PatchError("the edited spec would differ in more than the tuned values")
    except tomllib.TOMLDecodeError as exc:
        raise PatchError(f"the edited spec would not parse: {exc}") from None
    return result


def _set(data: dict, path: tuple, value: object) -> None:
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def unified_diff(old: str, new: str, name: str) -> str:
    """A patch that `git apply` (or `patch -p1`) applies from the project root."""
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=f"a/{name}", tofile=f"b/{name}"))
