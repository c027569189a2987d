"""The Chroma token reaches the server's Authorization header, and never an error message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.errors import StoreError
from assistant.store import Store


def test_chroma_token_is_sent_as_bearer_and_not_shown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import chromadb

    sent: dict[str, Any] = {}

    class FakeHttpClient:
        def __init__(self, **kwargs: Any) -> None:
            sent.update(kwargs)

        def heartbeat(self) -> int:
            raise ConnectionError("connection refused")

    monkeypatch.setattr(chromadb, "HttpClient", FakeHttpClient)
    settings = Settings(
        data_dir=tmp_path, chroma_url="http://127.0.0.1:9", chroma_token="tok-secret"
    )
    with pytest.raises(StoreError) as info:
        Store(settings, "model")
    assert sent["headers"] == {"Authorization": "Bearer tok-secret"}
    assert "tok-secret" not in str(info.value) and "tok-secret" not in repr(settings)
