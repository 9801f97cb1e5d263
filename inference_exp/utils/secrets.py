"""Keep credentials out of messages, logs and reprs.

Every API key the library is handed is registered here; error messages and log records pass through
:func:`redact`, so a key that slips into a URL or an exception text is masked before anyone sees it.
"""

from __future__ import annotations

import logging
import threading

_MIN_SECRET_LENGTH = 4
_secrets: set[str] = set()
_lock = threading.Lock()


def mask_secret(secret: str) -> str:
    """A display form of ``secret`` that cannot be used: the last four characters of a long key only."""
    if len(secret) >= 16:
        return f"***{secret[-4:]}"
    return "***"


def register_secret(secret: str | None) -> None:
    """Remember ``secret`` so that :func:`redact` masks it wherever it appears."""
    if secret and len(secret) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(secret)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by its masked form."""
    if not _secrets or not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, mask_secret(secret))
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered secrets in every record it lets through."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
