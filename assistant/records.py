"""The records the store keeps in Chroma: their metadata, written and read back. Pure but for
`upsert_pages`, which sends them a page at a time to whatever collection it is given.

`Store` (the only chromadb importer) sends these records and turns what it reads back into
`ArticleInfo`, `StoredChunk` and `Outlet`s; keeping the record format here keeps it testable
without a database.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from assistant.types import Article, Chunk, Outlet


@dataclass(frozen=True)
class ArticleInfo:
    """An article as listed by the store (without its text)."""

    id: str
    title: str
    source: str | None
    published: date | None
    url: str | None
    chunks: int
    sha256: str
    chunking: str


@dataclass(frozen=True)
class StoredChunk:
    """A chunk read back from the store, with its article's metadata."""

    chunk: Chunk
    title: str
    source: str | None
    published: date | None
    url: str | None
    version: str = ""
    similarity: float | None = None


def parse_date(value: Any) -> date | None:
    """The ISO date a record's metadata holds, or None when it holds none (or garbage)."""
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def date_int(value: date | None) -> int:
    """A date as the integer YYYYMMDD that Chroma filters compare (0 for none)."""
    return value.year * 10000 + value.month * 100 + value.day if value else 0


def clean_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """Chroma rejects None metadata values; drop them."""
    return {k: v for k, v in meta.items() if v is not None}


Records = tuple[list[str], list[Any], list[str], list[dict[str, Any]]]


def chunk_records(
    items: Sequence[tuple[Article, Sequence[Chunk], np.ndarray]],
    chunking: str,
    written: int,
    store_id: Callable[[Chunk, str], str],
) -> Records:
    """(ids, vectors, documents, metadatas) of the chunk records for `Store.put`."""
    ids: list[str] = []
    vecs: list[Any] = []
    docs: list[str] = []
    metas: list[dict[str, Any]] = []
    for article, chunks, vectors in items:
        version = article_version(article, chunking)
        for chunk, vec in zip(chunks, vectors, strict=True):
            ids.append(store_id(chunk, version))
            vecs.append(vec)
            docs.append(chunk.text)
            metas.append(
                clean_meta(
                    {
                        "article_id": article.id,
                        "version": version,
                        "written": written,
                        "chunk_id": chunk.id,
                        "index": chunk.index,
                        "start": chunk.start,
                        "end": chunk.end,
                        "title": article.title,
                        "source": article.source,
                        "published": article.published.isoformat() if article.published else None,
                        "published_int": date_int(article.published),
                        "url": article.url,
                    }
                )
            )
    return ids, vecs, docs, metas


def article_records(
    items: Sequence[tuple[Article, Sequence[Chunk], np.ndarray]],
    chunking: str,
    signatures: Mapping[str, str],
    written: int = 0,
) -> Records:
    """(ids, vectors, documents, metadatas) of the article records that commit `Store.put`:
    the vector is the normalised mean of the article's chunk vectors; `written` is when (in
    seconds), which lets an index catch up with the articles written since it was built."""
    a_ids: list[str] = []
    a_vecs: list[Any] = []
    a_docs: list[str] = []
    a_metas: list[dict[str, Any]] = []
    for article, chunks, vectors in items:
        mean = np.asarray(vectors, dtype=np.float32).mean(axis=0)
        norm = float(np.linalg.norm(mean)) or 1.0
        a_ids.append(article.id)
        a_vecs.append((mean / norm).tolist())
        a_docs.append(article.text)
        a_metas.append(
            clean_meta(
                {
                    "kind": "article",
                    "title": article.title,
                    "source": article.source,
                    "url": article.url,
                    "published": article.published.isoformat() if article.published else None,
                    "published_int": date_int(article.published),
                    "author": article.author,
                    "path": article.path,
                    "sha256": article.sha256,
                    "chunking": chunking,
                    "version": article_version(article, chunking),
                    "chunks": len(chunks),
                    "minhash": signatures.get(article.id),
                    "written": written or None,
                }
            )
        )
    return a_ids, a_vecs, a_docs, a_metas


def article_version(article: Article, chunking: str) -> str:
    """Version of an article's chunks: changes with its text or with how it is chunked."""
    return hashlib.sha256(f"{article.sha256}/{chunking}".encode()).hexdigest()[:12]


def outlet_from_meta(article_id: str, meta: dict[str, Any]) -> Outlet:
    """An `Outlet` from an article record's metadata."""
    return Outlet(
        article_id=article_id,
        title=str(meta.get("title", article_id)),
        source=meta.get("source"),
        url=meta.get("url"),
        published=parse_date(meta.get("published")),
    )


def with_similarity(stored: StoredChunk, similarity: float) -> StoredChunk:
    return dataclasses.replace(stored, similarity=similarity)


# Records per write request: 512 chunks with 384-dim vectors are about 1-2 MB of JSON for a
# server, small enough to stay well under proxies' body limits and Chroma's max batch size.
WRITE_PAGE = 512


def upsert_pages(
    collection: Any,
    ids: Sequence[str],
    vectors: Sequence[Any],
    documents: Sequence[str],
    metadatas: Sequence[dict[str, Any]],
    page: int,
) -> None:
    """Upsert records `page` at a time (a server caps the records per request)."""
    for i in range(0, len(ids), page):
        collection.upsert(
            ids=list(ids[i : i + page]),
            embeddings=np.asarray(vectors[i : i + page], dtype=np.float32),
            documents=list(documents[i : i + page]),
            metadatas=list(metadatas[i : i + page]),  # type: ignore[arg-type]
        )


def write_page(client: Any) -> int:
    """Records per write: WRITE_PAGE, or less when the server accepts smaller batches."""
    try:
        limit = int(client.get_max_batch_size())
    except Exception:  # an older server without the pre-flight endpoint
        return WRITE_PAGE
    return min(WRITE_PAGE, limit) if limit > 0 else WRITE_PAGE
