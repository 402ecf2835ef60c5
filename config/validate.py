"""Validation: one function used by the TUI, the CLI and the mailer.

INTERFACE (contract for the other layers; the config helper implements it):

    validate(settings, *, file_mode=None) -> list[Problem]

``Problem.key`` is a key path from config.model.FIELDS; ``severity`` is
"error" or "warning"; ``message`` says why and how to fix, already
translated; ``fix`` is an optional one-key fix ``{key path: new value}``
(e.g. {"mail.smtp.server": "smtp.example.com:587"} for a port/security
mismatch).  ``str(problem)`` is ``"<key>: <message>"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from config.model import Settings, Value


@dataclass(frozen=True)
class Problem:
    key: str
    severity: str  # "error" | "warning"
    message: str
    fix: dict[str, Value] | None = field(default=None, compare=False)
    fix_label: str = ""  # short label for the one-key fix, e.g. "use port 587"

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


def validate(settings: Settings, *, file_mode: int | None = None) -> list[Problem]:
    """All errors and warnings of ``settings`` (stub: to be implemented)."""
    return []


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def warnings(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "warning"]
