"""The errors a user can act on: each carries a one-line cause and the next step."""

from __future__ import annotations


class RotatorError(Exception):
    """A failure reported to the user as `error: <message>` with exit code 2."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message} ({self.hint})" if self.hint else message


class ConfigError(RotatorError):
    """The configuration file is malformed or holds an invalid value."""
