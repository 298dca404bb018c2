"""Every error specc reports, in one place.

A problem in a spec is a `Diagnostic`: a stable kebab-case code, the field path, where it is in the file,
a message in user terms and, when we can guess it, the fix. Commands collect diagnostics and raise one
`SpecInvalid` holding all of them, so a user sees every mistake in one run.

Exit codes (shared by every command and by the generated scripts):
0 ok, 1 a stage crashed or `build --check` found stale output, 2 bad input, 3 a gate failed,
4 output could not be written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_GATE_FAILED = 3
EXIT_OUTPUT_ERROR = 4


@dataclass(frozen=True)
class Location:
    """A place in a spec file; line and column are 1-based, 0 when unknown."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column or 1}"
        return self.file


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a spec."""

    code: str
    message: str
    path: str = ""
    location: Location | None = None
    hint: str = ""
    severity: str = "error"  # "error" or "warning"

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.severity}[{self.code}]: {self.message}"
        if self.hint:
            text += f"; {self.hint}"
        return text

    def sort_key(self) -> tuple:
        loc = self.location
        return (loc.file if loc else "", loc.line if loc and loc.line else 10**9, loc.column if loc else 0)


class SpeccError(Exception):
    """Base of every error specc reports to a user (never shown as a traceback)."""

    exit_code = EXIT_FAILED


class SpecInvalid(SpeccError):
    """The spec has one or more errors; `diagnostics` holds all of them in file order."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        super().__init__("\n".join(d.render() for d in self.diagnostics))


class SpecNotFound(SpeccError):
    """The spec file does not exist or cannot be read."""

    exit_code = EXIT_BAD_INPUT


class UsageError(SpeccError):
    """A command was called with arguments that cannot work."""

    exit_code = EXIT_BAD_INPUT


class RenderError(SpeccError):
    """A template produced code that does not parse or format (a bug in specc, not in the spec)."""

    exit_code = EXIT_FAILED


class OutputError(SpeccError):
    """Generated output could not be written; earlier output is left as it was."""

    exit_code = EXIT_OUTPUT_ERROR


class StaleOutput(SpeccError):
    """`build --check` found generated files that differ from what the spec compiles to."""

    exit_code = EXIT_FAILED


class StageFailed(SpeccError):
    """A generated script exited with an error while `specc run` ran it."""

    def __init__(self, stage: str, returncode: int, message: str):
        self.stage = stage
        self.returncode = returncode
        # A gate failure (3), bad input (2) and a file that could not be written (4) keep their meaning;
        # anything else is a crash.
        self.exit_code = (returncode if returncode in (EXIT_BAD_INPUT, EXIT_GATE_FAILED, EXIT_OUTPUT_ERROR)
                          else EXIT_FAILED)
        super().__init__(message)


@dataclass
class Diagnostics:
    """A growing list of diagnostics, for code that checks many things before giving up."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]
