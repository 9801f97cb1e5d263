"""The library's logger: ``logging.getLogger("inference_exp")`` with secrets masked."""

from __future__ import annotations

import logging

from inference_exp.utils.secrets import RedactingFilter

LOGGER_NAME = "inference_exp"


def get_logger(name: str | None = None) -> logging.Logger:
    """The library logger, or a child of it (``get_logger("cache")`` → ``inference_exp.cache``)."""
    root = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(f, RedactingFilter) for f in root.filters):
        root.addFilter(RedactingFilter())
    if name is None:
        return root
    child = root.getChild(name)
    if not any(isinstance(f, RedactingFilter) for f in child.filters):
        child.addFilter(RedactingFilter())
    return child
