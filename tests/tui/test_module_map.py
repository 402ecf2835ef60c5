"""docs/tui.md names every module of tui/ (the map a newcomer reads first): a module
added without a line there fails here."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_tui_module_is_in_the_map():
    doc = (ROOT / "docs" / "tui.md").read_text(encoding="utf-8")
    files = sorted(p for p in (ROOT / "tui").rglob("*") if p.suffix in (".py", ".tcss"))
    assert files, "no tui modules found"
    missing = [str(p.relative_to(ROOT)) for p in files
               if str(p.relative_to(ROOT)) not in doc and f"`{p.name}`" not in doc]
    assert missing == [], "add these to docs/tui.md (Pieces): " + ", ".join(missing)
