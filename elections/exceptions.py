"""Domain errors. Views turn them into messages; nothing here is a bare Exception."""

from __future__ import annotations


class TellerError(Exception):
    """Base of every domain error; its message is fit to show to the user."""


class NotAllowed(TellerError):
    """The acting person may not do this."""


class InvalidTransition(TellerError):
    """The contest or poll is not in a state that allows this change."""


class BallotRefused(TellerError):
    """A ballot was not accepted; nothing was recorded.

    `code` is a stable machine-readable reason for tests and logs; the
    message is for the voter. Neither ever carries the ballot's choices.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
