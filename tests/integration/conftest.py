"""Integration tests run on the fast local model (see WIRING_MODEL in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.conftest import WIRING_MODEL


@pytest.fixture(autouse=True)
def _wiring_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings() in a test, and every server a test starts, use the fast model."""
    monkeypatch.setenv("ASSISTANT_LLM_MODEL", WIRING_MODEL)
