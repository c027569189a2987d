"""The records the store writes: chunk and article metadata, the persisted signature, outlets."""

from __future__ import annotations

from datetime import date

import numpy as np

from assistant.records import (
    article_records,
    article_version,
    chunk_records,
    date_int,
    outlet_from_meta,
    parse_date,
)
from assistant.types import Article, Chunk

ARTICLE = Article(
    id="a1",
    title="Storm hits the coast",
    text="The storm made landfall. Thousands lost power.",
    source="Daily Planet",
    published=date(2024, 8, 2),
    sha256="abc",
)
CHUNKS = [
    Chunk(id="a1#0", article_id="a1", index=0, text="The storm made landfall.", start=0, end=24),
    Chunk(id="a1#1", article_id="a1", index=1, text="Thousands lost power.", start=25, end=46),
]
VECTORS = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)


def test_chunk_records_carry_the_version_and_drop_missing_values() -> None:
    items = [(ARTICLE, CHUNKS, VECTORS)]
    ids, vecs, docs, metas = chunk_records(items, "s1/600/120", 7, lambda c, v: f"{c.id}@{v}")
    version = article_version(ARTICLE, "s1/600/120")
    assert ids == [f"a1#0@{version}", f"a1#1@{version}"]
    assert docs == [c.text for c in CHUNKS] and len(vecs) == 2
    assert metas[1]["start"] == 25 and metas[1]["written"] == 7
    assert metas[0]["published"] == "2024-08-02" and metas[0]["published_int"] == 20240802
    assert "url" not in metas[0]  # Chroma refuses None values


def test_article_records_persist_the_given_signature_and_a_unit_mean_vector() -> None:
    items = [(ARTICLE, CHUNKS, VECTORS)]
    ids, vecs, docs, metas = article_records(items, "s1/600/120", {"a1": "c2ln"})
    assert ids == ["a1"] and docs == [ARTICLE.text]
    assert np.isclose(np.linalg.norm(vecs[0]), 1.0)
    assert metas[0]["minhash"] == "c2ln" and metas[0]["chunks"] == 2
    _, _, _, unsigned = article_records(items, "s1/600/120", {})
    assert "minhash" not in unsigned[0]


def test_outlets_and_dates_read_back_from_metadata() -> None:
    outlet = outlet_from_meta("a1", {"title": "T", "source": "S", "published": "2024-08-02"})
    assert (outlet.title, outlet.source, outlet.published) == ("T", "S", date(2024, 8, 2))
    assert outlet_from_meta("b", {}).title == "b"
    assert parse_date("garbage") is None and parse_date(None) is None
    assert date_int(None) == 0
