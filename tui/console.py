"""Console delivery: basic mode for dumb terminals and serial lines, and the
byte budget.  (Stub: the console engineer fills this in.)

CONTRACT with tui/app.py:

    mode = detect_mode(requested)   # requested: "basic" | "rich" | None (auto) -> "basic"|"rich"
    prepare_environment(mode)       # BEFORE the App is constructed: colour system, ANSI theme,
                                    # terminal size fallback for 0x0 ttys, etc.
    install(app, mode)              # after construction, before run(): line filters (ASCII),
                                    # tolerant input decoding, no mouse, output tweaks
"""

from __future__ import annotations

from typing import Any


def detect_mode(requested: str | None = None) -> str:
    return requested or "rich"


def prepare_environment(mode: str) -> None:
    return None


def install(app: Any, mode: str) -> None:
    return None
