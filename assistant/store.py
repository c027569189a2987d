"""The vector store: the only module that imports chromadb.

Two collections per store: `<name>-chunks` (one record per chunk, with its embedding) and
`<name>-articles` (one record per article, the full text as document and the normalised mean of
its chunk vectors as embedding). The article record is the commit marker of an ingest: chunks
are written first under ids that include the article's content hash, the article record second,
and the previous version's chunks are deleted last. A crash at any point therefore leaves either
the old or the new version complete; chunks of an uncommitted version are invisible to queries
and swept by `repair()`.

A `revision` record changes before and after every write, so a lexical index built in another
process (or before another process wrote to a shared Chroma server) knows when it is stale, even
when the writer was killed half-way.

Several processes on one embedded store (`serve` running while `assistant ingest` runs):
Chroma's embedded client keeps its vector index in memory, and a process that opened the store
before another wrote flushes its stale index over the other's at its next write (measured: of
18,000 vectors written in turns by two processes, 9,571 stayed in the index). So every write
holds the data dir's lock (`writelock`) and first opens the store afresh if the revision shows
another process wrote (then all 18,000 stay), and so does a query, so a running `serve` sees a
CLI ingest at its next question. On a Chroma server, the server is the one writer.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from urllib.parse import urlparse

import numpy as np

from assistant.config import Settings
from assistant.errors import AssistantError, StoreError
from assistant.memory import limit_arenas
from assistant.records import (
    ArticleInfo,
    StoredChunk,
    article_records,
    article_version,
    chunk_records,
    date_int,
    outlet_from_meta,
    parse_date,
    upsert_pages,
    with_similarity,
    write_page,
)
from assistant.types import Article, Chunk, Outlet
from assistant.writelock import WriteLock

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

REVISION_ID = "__revision__"
CHUNKING_VERSION = "s1"  # bump when chunking.py changes what it produces
_PAGE = 2000  # records per read request

_DELETE_PAGE = 100  # articles per delete-by-filter request
# Uncommitted chunks on a server younger than this may belong to an ingest running in another
# process, so repair() leaves them; a resumed ingest replaces them anyway (same ids).
REPAIR_GRACE_S = 600.0

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


def _server_errors(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn a failing call to a Chroma server into one StoreError line naming the setting.

    Embedded-mode errors pass through unchanged: they are bugs or disk problems whose
    traceback matters more than a friendly line.
    """

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except AssistantError:
            raise
        except Exception as exc:
            store = args[0]
            url = getattr(getattr(store, "settings", None), "chroma_url", None)
            if not url:
                raise
            raise StoreError(
                f"Chroma server at {url} (ASSISTANT_CHROMA_URL) failed: "
                f"{type(exc).__name__}: {_first_line(exc)}"
            ) from exc

    return wrapper


def chunking_key(settings: Settings) -> str:
    """Identifies how an article was chunked; a change means re-chunking on next ingest."""
    return f"{CHUNKING_VERSION}/{settings.chunk_size}/{settings.chunk_overlap}"


class Store:
    """Chunks and articles in Chroma, embedded (a folder) or on a server (`chroma_url`)."""

    def __init__(self, settings: Settings, embedding_model: str) -> None:
        self.settings = settings
        self.embedding_model = embedding_model
        limit_arenas()  # before Chroma's threads allocate: see assistant/memory.py
        self._client = self._connect(settings)
        self._dim: int | None = None
        self._versions_lock = threading.Lock()
        self._versions_seen: tuple[str, dict[str, str]] | None = None  # (revision, versions)
        self._write_page = write_page(self._client)
        # the write lock (embedded only); a reopen never swaps the client under a write (_swap)
        self._write_lock: WriteLock | None = None
        if not settings.chroma_url:
            self._write_lock = WriteLock(settings.data_dir, settings.write_lock_timeout)
        self._swap = threading.RLock()
        self._open_collections()
        self._seen = self.revision()  # the revision this process last wrote or read at
        self.last_write: tuple[str, str] | None = None  # see `put`

    def _open_collections(self) -> None:
        prefix = self.settings.collection
        try:
            self.chunks = self._collection(f"{prefix}-chunks")
            self.articles = self._collection(f"{prefix}-articles")
        except StoreError:
            raise
        except Exception as exc:  # chromadb raises many types; one clear line for people
            raise StoreError(f"vector store at {self.location}: {exc}") from exc

    # --- several processes on one embedded store ---------------------------------------------
    def sync(self) -> bool:
        """Open the embedded store afresh if another process wrote since this one looked."""
        if self._write_lock is None or self.revision() == self._seen:
            return False
        with self._swap:
            rev = self.revision()
            if rev == self._seen:
                return False
            from chromadb.api.shared_system_client import SharedSystemClient

            # Chroma caches one client system per path; a new one reads the index from disk and
            # replays the log. Clients held elsewhere keep working and resync the same way.
            SharedSystemClient.clear_system_cache()
            self._client = self._connect(self.settings)
            self._write_page = write_page(self._client)
            self._open_collections()
            self._seen = rev
            return True

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the store for one write: against this process's other threads, and on an
        embedded store against other processes (opening it afresh if one of them wrote)."""
        with self._swap:
            if self._write_lock is None:
                yield
                return
            with self._write_lock:
                self.sync()
                yield

    # --- connection ------------------------------------------------------------------------
    @property
    def location(self) -> str:
        """Where the data lives, for messages and stats."""
        if self.settings.chroma_url:
            return f"{self.settings.chroma_url} (ASSISTANT_CHROMA_URL)"
        return str(self.settings.data_dir / "chroma")

    @staticmethod
    def _connect(settings: Settings) -> ClientAPI:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise StoreError(
                    f"ASSISTANT_CHROMA_URL={settings.chroma_url!r} is no http(s)://host:port URL"
                )
            headers = dict(settings.chroma_headers)
            if settings.chroma_token:
                token = settings.chroma_token.get_secret_value()
                headers.setdefault("Authorization", f"Bearer {token}")
            try:
                client = chromadb.HttpClient(
                    host=url.hostname,
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    headers=headers or None,
                    settings=chroma_settings,
                )
                client.heartbeat()
                _set_timeout(client, settings.request_timeout)
            except Exception as exc:
                raise StoreError(
                    f"Chroma server at {settings.chroma_url} (ASSISTANT_CHROMA_URL) is "
                    f"unreachable: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                ) from exc
            return client
        path = settings.data_dir / "chroma"
        try:
            path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except Exception as exc:
            raise StoreError(
                f"cannot open the store at {path} (ASSISTANT_DATA_DIR): {exc}"
            ) from exc

    def _collection(self, name: str) -> Collection:
        col = self._client.get_or_create_collection(
            name,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": self.embedding_model},
            embedding_function=None,
        )
        stored = (col.metadata or {}).get("embedding_model")
        if stored and stored != self.embedding_model:
            raise StoreError(
                f"the store at {self.location} holds vectors of embedding model '{stored}', "
                f"not '{self.embedding_model}' (ASSISTANT_EMBEDDING_MODEL); use another "
                "ASSISTANT_DATA_DIR or ASSISTANT_COLLECTION"
            )
        return col

    # --- revision -------------------------------------------------------------------------
    @_server_errors
    def revision(self) -> str:
        """Token that changes whenever chunks are added or removed (by any process)."""
        got = self.articles.get(ids=[REVISION_ID], include=["metadatas"])
        metas = got.get("metadatas") or []
        if metas and metas[0]:
            return str(metas[0].get("rev", ""))
        return ""

    def _bump(self) -> None:
        rev = uuid.uuid4().hex
        self.articles.upsert(
            ids=[REVISION_ID],
            embeddings=np.asarray([self._unit_vector()], dtype=np.float32),
            documents=[""],
            metadatas=[{"rev": rev, "kind": "revision"}],
        )
        self._seen = rev

    def _unit_vector(self) -> list[float]:
        dim = self._dimension()
        return [1.0] + [0.0] * (dim - 1)

    def _dimension(self) -> int:
        if self._dim is None:
            got = self.chunks.get(limit=1, include=["embeddings"])
            emb = got.get("embeddings")
            self._dim = len(emb[0]) if emb is not None and len(emb) else 384
        return self._dim

    # --- reads ------------------------------------------------------------------------------
    @_server_errors
    def committed(self, article_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Map article id -> (sha256, chunking key) for the ids that are stored."""
        metas = self._metas_of(article_ids)
        return {aid: (str(m.get("sha256", "")), str(m.get("chunking", ""))) for aid, m in metas}

    @_server_errors
    def versions(self, article_ids: Sequence[str] | None = None) -> dict[str, str]:
        """Map article id -> committed version, for the given ids or all articles."""
        if article_ids is not None:
            return {aid: str(m.get("version", "")) for aid, m in self._metas_of(article_ids)}
        return self._all_versions()[0]

    def current_versions(self, article_ids: Sequence[str]) -> dict[str, str]:
        """`versions(article_ids)`, each read once per store revision, which is read first (a
        write meanwhile moves it again): a first question reads ~40, not all (1.6 s at 24k)."""
        rev = self.revision()
        with self._versions_lock:
            if self._versions_seen is None or self._versions_seen[0] != rev:
                self._versions_seen = (rev, {})
            known = self._versions_seen[1]
            missing = [aid for aid in dict.fromkeys(article_ids) if aid not in known]
        if missing:
            found = self.versions(missing)
            with self._versions_lock:
                known.update({aid: found.get(aid, "") for aid in missing})  # "": not stored
        return {aid: known[aid] for aid in article_ids if known.get(aid)}

    def _all_versions(self) -> tuple[dict[str, str], int]:
        """Every committed article's version, and how many chunks those versions have."""
        out: dict[str, str] = {}
        total = 0
        for aid, meta in self._article_metas():
            out[aid] = str(meta.get("version", ""))
            total += int(meta.get("chunks", 0) or 0)  # type: ignore[arg-type]
        return out, total

    def _metas_of(self, article_ids: Sequence[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, metadata) of the given committed articles (those stored), a page at a time."""
        ids = list(dict.fromkeys(article_ids))
        for i in range(0, len(ids), _PAGE):
            got = self.articles.get(ids=ids[i : i + _PAGE], include=["metadatas"])
            for aid, meta in zip(got["ids"], got.get("metadatas") or [], strict=False):
                if meta and meta.get("kind", "article") == "article":
                    yield aid, dict(meta)

    def _article_metas(self, since: float | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, metadata) of every committed article record (with `since`: those written at or
        after that time, in seconds), a page at a time."""
        offset = 0
        where: Any = {"kind": "article"}
        if since is not None:
            where = {"$and": [where, {"written": {"$gte": int(since)}}]}
        while True:
            got = self.articles.get(include=["metadatas"], limit=_PAGE, offset=offset, where=where)
            for aid, meta in zip(got["ids"], got.get("metadatas") or [], strict=False):
                yield aid, dict(meta or {})
            if len(got["ids"]) < _PAGE:
                return
            offset += _PAGE

    @_server_errors
    def get_article(self, article_id: str) -> Article | None:
        """The stored article, or None."""
        if article_id == REVISION_ID:
            return None
        got = self.articles.get(ids=[article_id], include=["metadatas", "documents"])
        if not got["ids"]:
            return None
        meta = (got.get("metadatas") or [{}])[0] or {}
        text = (got.get("documents") or [""])[0] or ""
        return Article(
            id=article_id,
            title=str(meta.get("title", article_id)),
            text=text,
            source=meta.get("source"),  # type: ignore[arg-type]
            url=meta.get("url"),  # type: ignore[arg-type]
            published=parse_date(meta.get("published")),
            author=meta.get("author"),  # type: ignore[arg-type]
            path=meta.get("path"),  # type: ignore[arg-type]
            sha256=str(meta.get("sha256", "")),
        )

    @_server_errors
    def article_signatures(
        self, article_ids: Sequence[str] | None = None, *, since: float | None = None
    ) -> dict[str, tuple[Outlet, str | None]]:
        """Committed articles as Outlets with their stored near-duplicate signatures (the text
        `dedup.encode` made; None when stored without one): the given ones, else those written
        at or after `since` (seconds; records from before that field count as older), else all."""
        out: dict[str, tuple[Outlet, str | None]] = {}
        metas = self._article_metas(since) if article_ids is None else self._metas_of(article_ids)
        for aid, meta in metas:
            sig = meta.get("minhash")
            out[aid] = (outlet_from_meta(aid, meta), sig if isinstance(sig, str) else None)
        return out

    @_server_errors
    def newest_published(self) -> date | None:
        """The latest publication date among stored articles (None when none has a date)."""
        newest = max(
            (int(meta.get("published_int", 0) or 0) for _, meta in self._article_metas()),  # type: ignore[arg-type]
            default=0,
        )
        if not newest:
            return None
        return date(newest // 10000, newest // 100 % 100, newest % 100)

    @_server_errors
    def article_texts(self, article_ids: Sequence[str]) -> dict[str, str]:
        """The stored text of the given articles (those that exist)."""
        out: dict[str, str] = {}
        ids = list(dict.fromkeys(article_ids))
        for i in range(0, len(ids), _PAGE):
            got = self.articles.get(ids=ids[i : i + _PAGE], include=["documents"])
            for aid, doc in zip(got["ids"], got.get("documents") or [], strict=False):
                out[aid] = doc or ""
        return out

    @_server_errors
    def list_articles(self) -> list[ArticleInfo]:
        """Every stored article, sorted by newest first then title."""
        infos: list[ArticleInfo] = []
        for aid, meta in self._article_metas():
            infos.append(
                ArticleInfo(
                    id=aid,
                    title=str(meta.get("title", aid)),
                    source=meta.get("source"),  # type: ignore[arg-type]
                    published=parse_date(meta.get("published")),
                    url=meta.get("url"),  # type: ignore[arg-type]
                    chunks=int(meta.get("chunks", 0) or 0),  # type: ignore[arg-type]
                    sha256=str(meta.get("sha256", "")),
                    chunking=str(meta.get("chunking", "")),
                )
            )
        infos.sort(key=lambda a: (-date_int(a.published), a.title.lower()))
        return infos

    @_server_errors
    def count_chunks(self) -> int:
        return int(self.chunks.count())

    @_server_errors
    def article_ids(self) -> list[str]:
        """Every committed article's id (nothing else is read)."""
        ids: list[str] = []
        where: Any = {"kind": "article"}
        while page := self.articles.get(include=[], limit=_PAGE, offset=len(ids), where=where):
            ids += page["ids"]
            if len(page["ids"]) < _PAGE:
                break
        return ids

    @_server_errors
    def count_articles(self) -> int:
        return max(0, int(self.articles.count()) - (1 if self.revision() else 0))

    @_server_errors
    def chunk_ids(self) -> list[str]:
        """Every stored chunk's id, read a page at a time (nothing else is read)."""
        ids: list[str] = []
        while page := self.chunks.get(include=[], limit=_PAGE, offset=len(ids))["ids"]:
            ids += page
            if len(page) < _PAGE:
                break
        return ids

    def iter_chunk_records(
        self, batch: int = _PAGE, *, metadata: bool = True
    ) -> Iterator[tuple[list[str], list[str], list[dict[str, Any]]]]:
        """Every stored chunk as pages of (ids, texts, metadata: empty dicts without
        `metadata`), for the lexical index. A concurrent write can make a page skip or repeat
        records: callers read the revision first and again after (see `LexicalIndex`)."""
        offset = 0
        while True:
            ids, texts, metas = self._chunk_page(batch, offset, metadata)
            if not ids:
                break
            yield ids, texts, metas
            if len(ids) < batch:
                break
            offset += batch

    @_server_errors
    def _chunk_page(
        self, limit: int, offset: int, metadata: bool
    ) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        include: list[Any] = ["documents", "metadatas"] if metadata else ["documents"]
        got = self.chunks.get(include=include, limit=limit, offset=offset)
        ids = list(got["ids"])
        metas: list[dict[str, Any]] = [{} for _ in ids]
        if metadata:
            metas = [dict(m or {}) for m in (got.get("metadatas") or [])]
        return ids, [d or "" for d in (got.get("documents") or [])], metas

    @_server_errors
    def chunks_by_ids(
        self, ids: Sequence[str], *, with_embeddings: bool = False
    ) -> tuple[list[tuple[str, StoredChunk]], np.ndarray | None]:
        """Read chunks (and optionally their vectors) by store id, in the order given."""
        if not ids:
            return [], None
        include: list[Any] = ["metadatas", "documents"]
        if with_embeddings:
            include.append("embeddings")
        got = self.chunks.get(ids=list(ids), include=include)
        pos = {cid: i for i, cid in enumerate(got["ids"])}
        metas = got.get("metadatas") or []
        docs = got.get("documents") or []
        embs = got.get("embeddings") if with_embeddings else None
        out: list[tuple[str, StoredChunk]] = []
        vectors: list[Any] = []
        for cid in ids:
            i = pos.get(cid)
            if i is None:
                continue
            out.append((cid, self._stored(cid, dict(metas[i] or {}), docs[i] or "")))
            if embs is not None:
                vectors.append(embs[i])
        return out, (np.asarray(vectors, dtype=np.float32) if embs is not None else None)

    @staticmethod
    def _stored(store_id: str, meta: dict[str, Any], text: str) -> StoredChunk:
        """Build a StoredChunk from a Chroma record."""
        chunk = Chunk(
            id=str(meta.get("chunk_id", store_id)),
            article_id=str(meta["article_id"]),
            index=int(meta.get("index", 0)),
            text=text,
            start=int(meta.get("start", 0)),
            end=int(meta.get("end", len(text))),
        )
        return StoredChunk(
            chunk=chunk,
            title=str(meta.get("title", chunk.article_id)),
            source=meta.get("source"),
            published=parse_date(meta.get("published")),
            url=meta.get("url"),
            version=str(meta.get("version", "")),
        )

    @_server_errors
    def query(
        self, vector: np.ndarray, n: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, StoredChunk]]:
        """Nearest chunks to `vector` as (store id, chunk with cosine similarity)."""
        self.sync()
        # No count() first to cap n_results: Chroma 1.x returns fewer hits (none when empty)
        # by itself, and count() scans the whole collection, costing more than the query.
        res = self.chunks.query(
            query_embeddings=[vector.tolist()],
            n_results=n,
            where=where or None,
            include=["metadatas", "documents", "distances"],
        )
        out: list[tuple[str, StoredChunk]] = []
        ids = res["ids"][0]
        metas = (res.get("metadatas") or [[]])[0]
        docs = (res.get("documents") or [[]])[0]
        dists = (res.get("distances") or [[]])[0]
        for cid, meta, doc, dist in zip(ids, metas, docs, dists, strict=False):
            stored = self._stored(cid, dict(meta or {}), doc or "")
            out.append((cid, with_similarity(stored, 1.0 - float(dist))))
        return out

    @_server_errors
    def chunk_metas(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Metadata of chunks by store id (for filtering lexical hits)."""
        got = self.chunks.get(ids=list(ids), include=["metadatas"])
        return {
            cid: dict(m or {})
            for cid, m in zip(got["ids"], got.get("metadatas") or [], strict=False)
        }

    # --- writes -----------------------------------------------------------------------------
    @staticmethod
    def store_id(chunk: Chunk, version: str) -> str:
        """Chunk ids in the store carry the article version (see module docstring)."""
        return f"{chunk.id}@{version}"

    @_server_errors
    def put(
        self,
        items: Sequence[tuple[Article, Sequence[Chunk], np.ndarray]],
        chunking: str,
        *,
        signatures: Mapping[str, str],
    ) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """Store articles with chunks and vectors, crash-safely; returns (ids, texts, metadata).

        Args:
            items: (article, its chunks, one vector per chunk).
            chunking: The chunking key the chunks were made with (see `chunking_key`).
            signatures: Article id -> its near-duplicate signature as text (computed by
                `dedup` before the store; persisted here as the record's `minhash`).
        """
        if not items:
            return [], [], []
        written = int(time.time())  # lets repair() tell a crashed write from a running one
        ids, vecs, docs, metas = chunk_records(items, chunking, written, self.store_id)
        if vecs:
            self._dim = len(vecs[0])
        with self._writing():
            page = self._write_page
            # The revision moves before the chunk ids change as well as after: if this process
            # dies in between, an index built before still sees that it is stale.
            before = self._seen  # under the lock, after `sync`: what this write starts from
            self._bump()
            upsert_pages(self.chunks, ids, vecs, docs, metas, page)  # 1. invisible until ...
            # stamped inside the lock, so an index that caught up before it cannot miss it
            records = article_records(items, chunking, signatures, int(time.time()))
            upsert_pages(self.articles, *records, page)  # 2. ... committed: the article records
            self._drop_stale(items, chunking)  # 3. what the previous versions left behind
            self._bump()
            # (revision before, after) when nobody else can have written in between
            self.last_write = (before, self._seen) if self._write_lock else None
        return ids, docs, metas

    def _drop_stale(
        self, items: Sequence[tuple[Article, Sequence[Chunk], np.ndarray]], chunking: str
    ) -> None:
        """Delete the chunks of the articles' other versions, many articles per request (one
        request per article costs a round trip each on a server)."""
        stale = [
            {"$and": [{"article_id": article.id}, {"version": {"$ne": version}}]}
            for article, version in {
                a.id: (a, article_version(a, chunking)) for a, _, _ in items
            }.values()
        ]
        for i in range(0, len(stale), _DELETE_PAGE):
            group = stale[i : i + _DELETE_PAGE]
            where: Any = group[0] if len(group) == 1 else {"$or": group}
            self.chunks.delete(where=where)

    @_server_errors
    def remove(self, article_id: str) -> bool:
        """Delete an article and its chunks; False when it was not stored."""
        with self._writing():
            existed = bool(self.articles.get(ids=[article_id], include=[])["ids"])
            if existed:
                self._bump()  # before as well as after the deletes (see put)
            self.articles.delete(ids=[article_id])
            self.chunks.delete(where={"article_id": article_id})
            if existed:
                self._bump()
        return existed

    @_server_errors
    def repair(self, min_age: float | None = None) -> int:
        """Delete chunks not belonging to a committed article version; returns how many.

        Args:
            min_age: Only delete such chunks written at least this many seconds ago. On a
                server another process may be between writing an article's chunks and
                committing it, so the default there is REPAIR_GRACE_S; on an embedded store
                every write holds the data dir's lock, as this sweep does, so no other
                process is half-way through one and the default there is 0.
        """
        if min_age is None:
            min_age = REPAIR_GRACE_S if self.settings.chroma_url else 0.0
        with self._writing():
            return self._sweep(time.time() - min_age)

    def _sweep(self, cutoff: float) -> int:
        """Delete the uncommitted chunks written before `cutoff`; returns how many."""
        committed, expected = self._all_versions()
        # Chunks are written before their article is committed, so a committed version always
        # has all its chunks; if the counts agree there is nothing to sweep, and the scan of
        # every chunk's metadata (seconds at 100k chunks) is skipped.
        if self.count_chunks() == expected:
            return 0
        stale: list[str] = []
        offset = 0
        while True:
            got = self.chunks.get(include=["metadatas"], limit=_PAGE, offset=offset)
            for cid, meta in zip(got["ids"], got.get("metadatas") or [], strict=False):
                meta = meta or {}
                if committed.get(str(meta.get("article_id"))) != meta.get("version") and (
                    float(meta.get("written", 0) or 0) <= cutoff  # type: ignore[arg-type]
                ):
                    stale.append(cid)
            if len(got["ids"]) < _PAGE:
                break
            offset += _PAGE
        if stale:
            self._bump()  # before as well as after the deletes (see put)
        for i in range(0, len(stale), _PAGE):
            self.chunks.delete(ids=stale[i : i + _PAGE])
        if stale:
            self._bump()
        return len(stale)

    @_server_errors
    def stats(self) -> dict[str, Any]:
        """Counts, size on disk and configuration, for `assistant stats`."""
        size = None
        if not self.settings.chroma_url:
            path = self.settings.data_dir / "chroma"
            with contextlib.suppress(OSError):
                size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return {
            "articles": self.count_articles(),
            "chunks": self.count_chunks(),
            "store": self.location,
            "backend": "chroma-server" if self.settings.chroma_url else "chroma-embedded",
            "size_bytes": size,
            "embedding_model": self.embedding_model,
            "revision": self.revision(),
        }


def _set_timeout(client: ClientAPI, seconds: float) -> None:
    """Bound every request to the Chroma server (its client waits forever by default), through
    private attributes (chromadb has no setting): if they move, requests keep no timeout."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(seconds, connect=min(seconds, 10.0))
