"""The settings service: what the TUI and the CLI call (never the store directly).

INTERFACE (contract; the config helper implements it, the TUI and CLI use it):

    svc = SettingsService(path)           # path: str | Path of the TOML file
    svc.path                              # Path
    svc.load() -> Settings                # reads the file (missing -> defaults, no write);
                                          # raises ConfigSyntaxError / ConfigTypeError;
                                          # remembers what it loaded (for conflicts)
    svc.settings -> Settings              # what was last loaded
    svc.validate(settings) -> list[Problem]   # config.validate.validate + file-mode warning
    svc.render(settings) -> str           # the new file text (leaf edits, comments kept)
    svc.diff(settings) -> str             # unified diff loaded file -> render, password redacted
                                          # ("" when nothing changes)
    svc.save(settings, *, force=False) -> bool
                                          # validates (ConfigInvalidError on errors), locks,
                                          # checks the file did not change since load
                                          # (ConfigConflictError unless force), atomic write,
                                          # .bak; True if the file changed
    svc.update(values: dict[str, Value]) -> tuple[Settings, bool]
                                          # lock; reload; apply; validate; save.  For CLI `set`.
    svc.apply_toml(text: str, *, check=False) -> ApplyResult(changed: bool, diff: str, settings)
                                          # merge a partial TOML document (its known keys)
    svc.reset(keys: list[str]) -> tuple[Settings, bool]   # back to defaults (CLI `unset`)
"""
