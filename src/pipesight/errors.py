"""Errors that are the user's to fix: shown as one line, never as a traceback."""


class UserError(Exception):
    """Bad input or a failed target: the CLI prints the message and exits non-zero."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
