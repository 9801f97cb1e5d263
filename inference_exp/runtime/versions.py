"""Version helpers shared by detection and negotiation: tolerant parsing and release-only comparison."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version


def parse_version(value: str | None) -> Version | None:
    """``value`` as a PEP 440 version (a ``+local`` suffix is ignored); ``None`` when absent or unparsable."""
    if not value:
        return None
    try:
        return Version(str(value).split("+", 1)[0])
    except InvalidVersion:
        return None


def release(value: str | None) -> tuple[int, ...] | None:
    """The numeric release of ``value`` with trailing zeros removed: ``10.12.0.36.post1`` → ``(10, 12, 0, 36)``.

    Pre/post/dev/local parts are ignored, so a dpkg-derived ``.post1`` does not make equal releases differ.
    """
    version = parse_version(value)
    if version is None:
        return None
    parts = list(version.release)
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def major_minor(value: str | None) -> tuple[int, int] | None:
    """``36.4.3`` → ``(36, 4)``; ``12`` → ``(12, 0)``."""
    version = parse_version(value)
    if version is None:
        return None
    return version.major, version.minor
