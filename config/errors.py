"""The config layer's exception tree.  Every message names the file or key
path, says what is wrong and what to do; none ever contains the password."""

from __future__ import annotations

from typing import TYPE_CHECKING

from config.i18n import _

if TYPE_CHECKING:  # config.validate imports this module
    from config.validate import Problem


class ConfigError(Exception):
    """Base of every config error; ``exit_code`` is what the CLI returns."""

    exit_code = 1


class ConfigSyntaxError(ConfigError):
    """The file does not parse as TOML (or is not UTF-8, or is too large)."""

    exit_code = 3

    def __init__(self, path: str, line: int, col: int, message: str) -> None:
        self.path, self.line, self.col, self.message = path, line, col, message
        super().__init__(f"{path}:{line}:{col}: {message}")


class ConfigTypeError(ConfigError):
    """A known key has the wrong type (or a known table is not a table)."""

    exit_code = 1

    def __init__(self, key: str, message: str, *, path: str | None = None) -> None:
        self.key, self.message, self.path = key, message, path
        prefix = f"{path}: " if path else ""
        super().__init__(f"{prefix}{key}: {message}")


class ConfigInvalidError(ConfigError):
    """Validation found errors; ``problems`` holds them (errors and warnings)."""

    exit_code = 1

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__("\n".join(str(p) for p in errors))


class ConfigConflictError(ConfigError):
    """The file changed on disk since it was loaded; nothing was written."""

    exit_code = 4

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            _("{path}: the file changed on disk since it was loaded; nothing was written. "
              "Reload it and apply your change again.").format(path=path)
        )


class ConfigWriteError(ConfigError):
    """The file could not be written (permissions, read-only, disk full...);
    the original is intact."""

    exit_code = 5

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


class ConfigLockError(ConfigError):
    """Another process held the config file's lock longer than the wait
    (config.store.LOCK_WAIT); nothing was written."""

    exit_code = 6

    def __init__(self, path: str, seconds: float, holder: str = "") -> None:
        self.path, self.seconds, self.holder = path, seconds, holder
        if holder:
            message = _("{path}: another process ({holder}) has held the lock for {n} seconds; "
                        "nothing was written. Try again when it is done.").format(
                            path=path, holder=holder, n=int(seconds))
        else:
            message = _("{path}: another process has held the lock for {n} seconds; nothing "
                        "was written. Try again when it is done.").format(
                            path=path, n=int(seconds))
        super().__init__(message)
