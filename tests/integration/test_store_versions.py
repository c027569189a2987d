"""Store.current_versions: the committed versions kept in memory follow every write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.chain import Assistant
from assistant.config import Settings
from assistant.store import Store
from assistant.types import Chunk

pytestmark = pytest.mark.integration


def _write(path: Path, title: str, body: str) -> None:
    path.write_text(f"{title}\n{body}\n", encoding="utf-8")


def test_store_versions_in_memory_follow_writes_of_any_store_object(
    tmp_path: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    a = Assistant(Settings(data_dir=tmp_path / "store"), embedder=embedder)
    ship, port = tmp_path / "ship.txt", tmp_path / "port.txt"
    _write(ship, "Ship sinks", "A cargo ship sank off Lisbon on Monday.")
    _write(port, "Port closes", "The port of Porto closed for two days after the storm.")
    a.ingest([ship, port])
    store = a.store
    assert store.current_versions(["ship", "port", "nope"]) == store.versions(["ship", "port"])
    old = store.current_versions(["ship"])["ship"]

    # a write through another Store object on the same data (as another process would do)
    other = Assistant(Settings(data_dir=tmp_path / "store"), embedder=embedder)
    _write(ship, "Ship floats", "The cargo ship was refloated near Porto on Tuesday.")
    assert other.ingest([ship]).updated == ["ship"]
    new = store.current_versions(["ship"])["ship"]
    assert new != old and new == other.store.versions(["ship"])["ship"]
    assert [h.chunk.text for h in a.retrieve("cargo ship", k=10)] == [
        h.chunk.text for h in other.retrieve("cargo ship", k=10)
    ]

    assert other.remove("port")
    assert store.current_versions(["ship", "port"]) == {"ship": new}


def test_store_versions_in_memory_hide_an_uncommitted_version(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    a = Assistant(Settings(data_dir=tmp_path / "store"), embedder=embedder)
    ship = tmp_path / "ship.txt"
    _write(ship, "Ship sinks", "A cargo ship sank off Lisbon on Monday.")
    a.ingest([ship])
    assert a.retrieve("cargo ship")  # the versions map is now in memory
    store: Store = a.store
    # an ingest that died after writing a new version's chunks, before its commit
    store._bump()
    text = "A zorblatt tanker exploded near Faro."
    chunk = Chunk(id="ship#0", article_id="ship", index=0, text=text, start=0, end=len(text))
    vector = embedder.embed_query(text)
    store.chunks.upsert(
        ids=[store.store_id(chunk, "deadversion")],
        embeddings=np.asarray([vector], dtype=np.float32),
        documents=[text],
        metadatas=[{"article_id": "ship", "version": "deadversion", "chunk_id": chunk.id}],
    )
    hits = a.retrieve("zorblatt tanker exploded near Faro", k=10)
    assert hits and all("zorblatt" not in h.chunk.text for h in hits)
