"""Fixtures for the sandbox tests: a real sandbox on a free loopback port, per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wizard.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb
