"""Fixtures of the cache tests: the fake weights API (see tests/helpers/fake_weights_api.py)."""

from helpers.fake_weights_api import fake_api  # noqa: F401 - registers the fixture
