"""How the screen reaches a terminal, and a serial line in particular.

- ``mode``: basic (ASCII, no mouse, 16 colours or none) or rich, chosen from the
  terminal; the environment Textual is started with; ``install`` puts the pieces
  below into an app; the F2 switch; Ctrl+L.
- ``driver``: the Textual driver: input (a decoder that survives line noise,
  type-ahead) and output (every frame goes through ``celldiff``).
- ``celldiff``: the cell-diff output layer: keeps the terminal's cells and sends
  only the bytes that change them (cursor moves, SGR, vt100 scroll regions).
- ``ascii``: the basic mode's ASCII spelling of what Textual draws.
- ``frame_cache``: the first frame of an earlier session, painted before Textual
  is imported.
- ``compat``: every private Textual/Rich name this package relies on.
"""

from tui.console.mode import (
    MODES,
    detect_mode,
    install,
    prepare_environment,
    redraw,
    switch_mode,
)

__all__ = ["MODES", "detect_mode", "install", "prepare_environment", "redraw", "switch_mode"]
