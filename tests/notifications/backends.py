"""Email backends for the delivery tests: locmem, plus counting and failing.

Each behaves like Django's SMTP backend in the one way that matters here:
`send_messages` opens a connection itself if none is open, and closes it
afterwards, so a sender that forgets to hold one connection open for its
batch shows up as many opens.
"""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from django.core.mail import EmailMessage
from django.core.mail.backends import locmem


class CountingBackend(locmem.EmailBackend):
    opens: ClassVar[int] = 0
    sends: ClassVar[int] = 0
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._is_open = False

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls.opens = 0
            cls.sends = 0

    def open(self) -> bool:
        if self._is_open:
            return False
        with self._lock:
            CountingBackend.opens += 1
        self._is_open = True
        return True

    def close(self) -> None:
        self._is_open = False

    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        opened_here = self.open()
        try:
            with self._lock:
                CountingBackend.sends += len(messages)
            self.before_send(messages)
            return super().send_messages(messages)
        finally:
            if opened_here:
                self.close()

    def before_send(self, messages: Sequence[EmailMessage]) -> None:
        """Subclasses raise here to fail a send."""


class FlakyBackend(CountingBackend):
    """The mail server refuses the first `failures` sends, then accepts."""

    failures: ClassVar[int] = 2

    def before_send(self, messages: Sequence[EmailMessage]) -> None:
        with self._lock:
            if FlakyBackend.failures > 0:
                FlakyBackend.failures -= 1
                raise smtplib.SMTPDataError(451, b"4.3.0 Temporary local problem, try later")


class RefusingBackend(CountingBackend):
    """The mail server refuses every message."""

    def before_send(self, messages: Sequence[EmailMessage]) -> None:
        raise smtplib.SMTPDataError(550, b"5.1.1 Mailbox unavailable")


class UnreachableBackend(CountingBackend):
    """No mail server answers."""

    def open(self) -> bool:
        raise ConnectionRefusedError(111, "Connection refused")
