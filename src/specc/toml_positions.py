"""Line/column of every key and value in a TOML document.

`tomllib` gives the data but no positions; this scanner walks the same text (which `tomllib` has already
accepted, so it can assume valid TOML) and records, for every path such as ``("lora", "targets", 3)``,
where its key and its value start. Diagnostics use it to point at the exact spot.
"""

from __future__ import annotations

import tomllib

Path = tuple  # ("stages", 0, "kind")
Pos = tuple[int, int]  # (line, column), both 1-based

_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class PositionMap:
    """Where each key and value of a TOML document starts."""

    def __init__(self) -> None:
        self.keys: dict[Path, Pos] = {}
        self.values: dict[Path, Pos] = {}

    def find(self, path: Path, prefer: str = "value") -> Pos | None:
        """Position of `path`, or of its nearest ancestor that has one."""
        first, second = (self.values, self.keys) if prefer == "value" else (self.keys, self.values)
        path = tuple(path)
        while True:
            for table in (first, second):
                if path in table:
                    return table[path]
            if not path:
                return None
            path = path[:-1]


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line = 1
        self.col = 1
        self.map = PositionMap()
        self.aot_counts: dict[Path, int] = {}

    # -- low-level movement -------------------------------------------------------------------
    def peek(self, n: int = 0) -> str:
        j = self.i + n
        return self.text[j] if j < len(self.text) else ""

    def startswith(self, s: str) -> bool:
        return self.text.startswith(s, self.i)

    def advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.i >= len(self.text):
                return
            if self.text[self.i] == "\n":
                self.line += 1
                self.col = 1
            else:
                self.col += 1
            self.i += 1

    def pos(self) -> Pos:
        return (self.line, self.col)

    def skip_ws(self, newlines: bool = False) -> None:
        while True:
            c = self.peek()
            if c in (" ", "\t", "\r") or (newlines and c == "\n"):
                self.advance()
            elif c == "#" and newlines:
                while self.peek() not in ("\n", ""):
                    self.advance()
            else:
                return

    def skip_line(self) -> None:
        while self.peek() not in ("\n", ""):
            self.advance()

    # -- tokens -------------------------------------------------------------------------------
    def read_string(self) -> str:
        start = self.i
        for quote in ('"""', "'''"):
            if self.startswith(quote):
                self.advance(3)
                while not self.startswith(quote):
                    if quote == '"""' and self.peek() == "\\":
                        self.advance()
                    self.advance()
                self.advance(3)
                while self.peek() == quote[0]:  # up to two quotes may close the string
                    self.advance()
                return self.text[start : self.i]
        quote = self.peek()
        self.advance()
        while self.peek() != quote:
            if quote == '"' and self.peek() == "\\":
                self.advance()
            self.advance()
        self.advance()
        return self.text[start : self.i]

    def read_key(self) -> list[tuple[str, Pos]]:
        parts = []
        while True:
            self.skip_ws()
            at = self.pos()
            if self.peek() in ('"', "'"):
                raw = self.read_string()
                name = tomllib.loads(f"{raw} = 0").popitem()[0]
            else:
                start = self.i
                while self.peek() in _BARE and self.peek():
                    self.advance()
                name = self.text[start : self.i]
            parts.append((name, at))
            self.skip_ws()
            if self.peek() == ".":
                self.advance()
                continue
            return parts

    def read_value(self, path: Path) -> None:
        self.map.values[path] = self.pos()
        c = self.peek()
        if c in ('"', "'"):
            self.read_string()
        elif c == "[":
            self.advance()
            index = 0
            while True:
                self.skip_ws(newlines=True)
                if self.peek() == "]":
                    self.advance()
                    return
                self.read_value(path + (index,))
                index += 1
                self.skip_ws(newlines=True)
                if self.peek() == ",":
                    self.advance()
        elif c == "{":
            self.advance()
            while True:
                self.skip_ws()
                if self.peek() == "}":
                    self.advance()
                    return
                self.read_keyval(path)
                self.skip_ws()
                if self.peek() == ",":
                    self.advance()
        else:
            while self.peek() not in (",", "]", "}", "\n", "#", ""):
                self.advance()

    def read_keyval(self, table: Path) -> None:
        parts = self.read_key()
        path = table
        for name, at in parts:
            path = path + (name,)
            self.map.keys.setdefault(path, at)
        self.skip_ws()
        self.advance()  # "="
        self.skip_ws()
        self.read_value(path)

    def header_path(self, parts: list[tuple[str, Pos]]) -> Path:
        path: Path = ()
        for name, at in parts:
            path = path + (name,)
            if path in self.aot_counts:
                path = path + (self.aot_counts[path] - 1,)
            self.map.keys.setdefault(path, at)
        return path

    # -- document -----------------------------------------------------------------------------
    def scan(self) -> PositionMap:
        table: Path = ()
        while self.i < len(self.text):
            self.skip_ws(newlines=True)
            if not self.peek():
                break
            if self.startswith("[["):
                self.advance(2)
                parts = self.read_key()
                self.advance(2)
                names = tuple(p for p, _ in parts)
                parent = self.header_path(parts[:-1]) if len(parts) > 1 else ()
                aot = parent + (names[-1],)
                self.map.keys.setdefault(aot, parts[-1][1])
                index = self.aot_counts.get(aot, 0)
                self.aot_counts[aot] = index + 1
                table = aot + (index,)
                self.map.keys[table] = parts[0][1]
            elif self.peek() == "[":
                self.advance()
                parts = self.read_key()
                self.advance()
                table = self.header_path(parts)
            else:
                self.read_keyval(table)
        return self.map


def scan_positions(text: str) -> PositionMap:
    """Positions of every key and value in `text`, which must be valid TOML."""
    return _Scanner(text).scan()
