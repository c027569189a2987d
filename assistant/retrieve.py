"""Hybrid retrieval: dense (Chroma) + lexical (BM25), fused by reciprocal rank, per-article caps."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from assistant.chunking import sentence_spans
from assistant.config import Settings
from assistant.dedup import DuplicateIndex
from assistant.embeddings import Embedder
from assistant.lexical_cache import (
    Corpus,
    CorpusBuilder,
    build_bm25,
    cache_key,
    load_index,
    load_newest_corpus,
    save,
)
from assistant.loaders.metadata import url_words
from assistant.memory import trim
from assistant.store import Store, StoredChunk
from assistant.text import TOKEN_RE
from assistant.text import bm25_tokens as tokenize
from assistant.types import Hit

RRF_K = 60  # the usual constant of reciprocal rank fusion (Cormack et al. 2009)
RERANK_DEPTH = 20  # fused candidates rescored by `rerank`
RERANK_WINDOW = 2  # sentences per window scored by `rerank`

_PAGE = 1000  # chunks read per request when the lexical index catches up
LEXICAL_VERSION = "bm25-1"  # bump when tokenize, META_WEIGHT or url_words change their output
META_WEIGHT = 2  # times an article's title and URL slug words count in each of its chunks


@dataclass(frozen=True)
class Filters:
    """Metadata filters for retrieval; every field narrows the search."""

    sources: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None
    article_ids: tuple[str, ...] = ()

    def where(self) -> dict[str, Any] | None:
        """The Chroma `where` clause for these filters."""
        clauses: list[dict[str, Any]] = []
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        if self.article_ids:
            clauses.append({"article_id": {"$in": list(self.article_ids)}})
        if self.since:
            clauses.append({"published_int": {"$gte": _date_int(self.since)}})
        if self.until:
            clauses.append({"published_int": {"$lte": _date_int(self.until)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def accepts(self, meta: dict[str, Any]) -> bool:
        """The same test as `where()`, applied in Python to a chunk's metadata."""
        if self.sources and meta.get("source") not in self.sources:
            return False
        if self.article_ids and meta.get("article_id") not in self.article_ids:
            return False
        pub = int(meta.get("published_int", 0) or 0)
        if self.since and pub < _date_int(self.since):
            return False
        return not (self.until and pub > _date_int(self.until))


def _date_int(value: date) -> int:
    """A date as yyyymmdd, the form stored in chunk metadata for range filters."""
    return value.year * 10000 + value.month * 100 + value.day


def _token_ids(text: str, vocab: dict[str, int], memo: dict[str, tuple[int, ...]]) -> list[int]:
    """`tokenize(text)` as vocabulary ids, adding new tokens to `vocab`.

    News text repeats a small vocabulary, so each distinct raw word is normalised once
    (`memo`); the result is the same as tokenising the whole text.
    """
    out: list[int] = []
    for raw in TOKEN_RE.findall(text.lower()):
        got = memo.get(raw)
        if got is None:
            got = memo[raw] = tuple(vocab.setdefault(t, len(vocab)) for t in tokenize(raw))
        out.extend(got)
    return out


class LexicalIndex:
    """BM25 over every chunk in the store, rebuilt when the store's revision changes.

    Derived from Chroma and kept on disk per revision (`lexical_cache`): a process whose store
    is at a saved revision loads the index instead of building it (the first question of a new
    process at 100k chunks took 20 s), and one whose store moved on starts from the newest
    saved state and tokenises only the chunks added since. Several processes sharing one Chroma
    server each see every other's writes on their next query.
    """

    def __init__(self, store: Store, cache_dir: Path | None = None) -> None:
        """`cache_dir`: where to keep the index per revision (None: in memory only)."""
        self._store = store
        self._lock = threading.Lock()
        self._revision: str | None = None
        self._ids: list[str] = []
        self._bm25: Any = None
        self._vocab: dict[str, int] = {}
        self.built = ""  # how the index in memory came to be: "loaded", "caught up" or "built"
        self._noted = CorpusBuilder({})  # see `note`
        self._noted_memo: dict[str, tuple[int, ...]] = {}
        self.cache_dir = cache_dir

    def refresh(self) -> None:
        """Bring the index up to the store's revision now (else the next search does)."""
        with self._lock:
            self._refresh()

    def _refresh(self) -> None:
        # The revision is read before the chunks: a write that lands while they are read
        # changes it again, so the next query rebuilds rather than keep a torn index.
        rev = self._store.revision()
        if rev == self._revision:
            return
        loaded = load_index(self.cache_dir, rev) if self.cache_dir else None
        if loaded is not None:
            bm25, ids = loaded
            self.built = "loaded"
        else:
            corpus = self._corpus()
            ids = corpus.ids
            bm25 = build_bm25(corpus) if ids else None
            if self.cache_dir:
                save(self.cache_dir, rev, bm25, corpus)
            del corpus
            trim()  # what reading the chunks left in the allocator
        vocab = bm25.vocab_dict if bm25 is not None else {}
        self._ids, self._bm25, self._revision = ids, bm25, rev
        self._vocab = {t: i for t, i in vocab.items() if t}

    def note(self, ids: list[str], texts: list[str], metas: list[dict[str, Any]]) -> None:
        """Tokenise chunks this process has just stored, so that the next refresh need not
        read them back from the store (reading every chunk back through Chroma grew an
        ingest's memory by ~6 kB per chunk, Chroma's own caches). Store ids name one version
        of a chunk, so what is noted cannot go stale; a noted chunk since removed is dropped."""
        with self._lock:
            self._read([(ids, texts, metas)], self._noted, set(), self._noted_memo)

    def _take_noted(self) -> Corpus | None:
        if not self._noted.ids:
            return None
        noted = self._noted.corpus()
        self._noted, self._noted_memo = CorpusBuilder({}), {}
        return noted

    def _corpus(self) -> Corpus:
        """Every chunk's store id and token ids: the newest saved tokens of the chunks still
        stored and those noted since, plus the rest read and tokenised."""
        base = load_newest_corpus(self.cache_dir) if self.cache_dir else None
        noted = self._take_noted()
        if base is None and noted is None:
            self.built = "built"
            builder = CorpusBuilder({})
            self._read(self._store.iter_chunk_records(), builder, set(), {})
            return builder.corpus()
        self.built = "caught up" if base else "built"
        current = dict.fromkeys(self._store.chunk_ids())  # paging may repeat an id
        olds: list[Corpus] = []
        if base is not None:
            olds.append(base[1])
        if noted is not None:  # numbered in the saved corpus's vocabulary, if any
            olds.append(noted.in_vocab(base[1].vocab) if base else noted)
        vocab = olds[0].vocab
        del base, noted
        parts: list[Corpus] = []
        for old in olds:
            at = {cid: i for i, cid in enumerate(old.ids)}
            parts.append(old.select([at[cid] for cid in current if cid in at]))
            current = dict.fromkeys(cid for cid in current if cid not in at)
        del olds
        added = list(current)
        if added:
            builder = CorpusBuilder(vocab)
            pages = (self._page(added[i : i + _PAGE]) for i in range(0, len(added), _PAGE))
            self._read(pages, builder, set(), {})
            parts.append(builder.corpus())
        return Corpus.concat(parts, vocab)

    def _page(self, ids: list[str]) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """(ids, texts, metadata) of some chunks, as `Store.iter_chunk_records` pages them."""
        found, _ = self._store.chunks_by_ids(ids)
        metas = [
            {"article_id": c.chunk.article_id, "title": c.title, "url": c.url} for _, c in found
        ]
        return [cid for cid, _ in found], [c.chunk.text for _, c in found], metas

    @staticmethod
    def _read(
        pages: Iterable[tuple[list[str], list[str], list[dict[str, Any]]]],
        builder: CorpusBuilder,
        seen: set[str],
        memo: dict[str, tuple[int, ...]],
    ) -> None:
        """Tokenise the chunks of `pages` not `seen` into `builder` (its vocabulary grows;
        `memo` caches each raw word's token ids in that vocabulary)."""
        vocab = builder.vocab
        heads: dict[str, list[int]] = {}
        for page_ids, texts, metas in pages:
            for cid, text, meta in zip(page_ids, texts, metas, strict=True):
                if cid in seen:  # offset paging under concurrent writes can repeat a record
                    continue
                seen.add(cid)
                # An article's title and URL slug name its story even where a chunk does not
                # (some pages are all boilerplate but for them); each chunk carries them.
                aid = str(meta.get("article_id", cid))
                head = heads.get(aid)
                if head is None:
                    words = " ".join([str(meta.get("title") or ""), *url_words(meta.get("url"))])
                    head = heads[aid] = _token_ids(words, vocab, memo) * META_WEIGHT
                builder.add(cid, _token_ids(text, vocab, memo) + head)

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """Top `n` chunks for `query` as (store id, BM25 score > 0)."""
        with self._lock:
            self._refresh()
            if self._bm25 is None:
                return []
            terms = [t for t in tokenize(query) if not self._vocab or t in self._vocab]
            if not terms:
                return []
            scores = np.asarray(self._bm25.get_scores(terms))
            ids = self._ids
        n = min(n, len(ids))
        top = np.argpartition(-scores, n - 1)[:n] if n < len(ids) else np.arange(len(ids))
        top = top[np.argsort(-scores[top])]
        return [(ids[i], float(scores[i])) for i in top if scores[i] > 0]


class Retriever:
    """Finds the passages for a question."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        key = cache_key(store.location, settings.collection, LEXICAL_VERSION)
        self.lexical = LexicalIndex(store, settings.data_dir / "lexical" / key)
        self.duplicates = DuplicateIndex(store, cache_dir=settings.data_dir / "dedup" / key)
        self._newest: tuple[str, date | None] | None = None

    def newest_published(self) -> date | None:
        """The newest stored article's publication date (cached per store revision)."""
        rev = self.store.revision()
        if self._newest is None or self._newest[0] != rev:
            self._newest = (rev, self.store.newest_published())
        return self._newest[1]

    def retrieve(
        self,
        question: str,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        as_of: date | None = None,
    ) -> list[Hit]:
        """The top-k passages for `question`, best first.

        Dense and lexical candidates are fused with reciprocal rank fusion; every hit also
        carries its cosine similarity to the question (used to decide abstention). With
        `as_of`, articles published after that date are left out (they did not exist when the
        question was asked); a question asked as of a date, or about "this week" or "the
        latest" news, also ranks candidates by recency as a third fused signal.
        """
        k = k or self.settings.top_k
        filters = filters or Filters()
        newest: date | None = None
        if self.settings.date_aware:
            newest = self.newest_published() if as_of is None and period_days(question) else None
            filters = time_filters(question, filters, as_of, newest)
        n = max(self.settings.candidates, k)
        qvec = self.embedder.embed_query(question)
        dense = self.store.query(qvec, n, filters.where())
        found: dict[str, StoredChunk] = dict(dense)
        ranks: dict[str, float] = {}
        for rank, (cid, _) in enumerate(dense):
            ranks[cid] = ranks.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        lexical_scores: dict[str, float] = {}
        if self.settings.hybrid:
            lexical = self.lexical.search(question, n * 2 if filters.where() else n)
            missing = [cid for cid, _ in lexical if cid not in found]
            if missing:
                chunks, vectors = self.store.chunks_by_ids(missing, with_embeddings=True)
                metas = self.store.chunk_metas(missing) if filters.where() else {}
                for i, (cid, stored) in enumerate(chunks):
                    if filters.where() and not filters.accepts(metas.get(cid, {})):
                        continue
                    sim = float(np.dot(vectors[i], qvec)) if vectors is not None else None
                    found[cid] = _similar(stored, sim)
            rank = 0
            for cid, score in lexical:
                if cid not in found:
                    continue
                lexical_scores[cid] = score
                ranks[cid] = ranks.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
                rank += 1
                if rank >= n:
                    break
        # A question asked as of a date is about the news up to then: without a period of
        # its own it still prefers recent stories (a soft signal, not a filter). The signal is
        # the story's age in days on the reference date, fused like a rank: a day-old story
        # gains about as much as a first place in one ranking, a year-old one almost nothing.
        if self.settings.date_aware and (as_of is not None or asks_for_recent(question)):
            reference = as_of or newest or self.newest_published() or date.today()
            weight = self.settings.recency_weight
            for cid in ranks:
                day = found[cid].published
                if day is not None:
                    age = max(0, (reference - day).days)
                    ranks[cid] += weight / (RRF_K + age + 1)
        # chunks of an article version that is not committed (an ingest died) are invisible
        versions = self.store.current_versions([s.chunk.article_id for s in found.values()])
        ordered = sorted(ranks, key=lambda c: -ranks[c])
        ranked = [
            Hit(
                chunk=found[cid].chunk,
                score=ranks[cid],
                dense=found[cid].similarity,
                lexical=lexical_scores.get(cid),
                title=found[cid].title,
                source=found[cid].source,
                published=found[cid].published,
                url=found[cid].url,
            )
            for cid in ordered
            if versions.get(found[cid].chunk.article_id) == found[cid].version
        ]
        if self.settings.dedupe:
            ranked = self.duplicates.collapse(ranked, until=filters.until)
        if self.settings.rerank:
            ranked = rerank(qvec, ranked, self.embedder.embed)
        return cap_per_article(ranked, k, self.settings.per_article_cap)


_RECENT = re.compile(
    r"\b(?:this|last|past|previous) (?:week|weekend|month)\b|\brecent(?:ly)?\b|\blatest\b"
    r"|\bnewest\b|\bmost recent\b|\btoday\b|\byesterday\b|\bthis year\b|\bas of\b",
    re.IGNORECASE,
)
_AS_OF_MONTH = re.compile(
    r"\bas of (january|february|march|april|may|june|july|august|september|october|november"
    r"|december)(?:\s+(\d{4}))?",
    re.IGNORECASE,
)
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]


def asks_for_recent(question: str) -> bool:
    """Does the question ask about recent news ("this week", "the latest", "as of ...")?"""
    return bool(_RECENT.search(question))


# Relative periods and how many days before the reference date they reach back. News about
# "this week" is at most 7 days old on the day the question is asked; "last week" reaches into
# the calendar week before; "recently" in news usage means within about a month.
_PERIODS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"\b(?:today|tonight)\b", re.IGNORECASE), 1),
    (re.compile(r"\byesterday\b", re.IGNORECASE), 2),
    (re.compile(r"\b(?:this|past) (?:week|weekend)\b|\bpast (?:few|several) days\b", re.I), 7),
    (re.compile(r"\blast (?:week|weekend)\b", re.IGNORECASE), 14),
    (re.compile(r"\b(?:this|past) month\b|\brecent(?:ly)?\b", re.IGNORECASE), 31),
    (re.compile(r"\blast month\b", re.IGNORECASE), 62),
)
_THIS_YEAR = re.compile(r"\bthis year\b", re.IGNORECASE)


def period_days(question: str) -> int | None:
    """How far back a question's relative period reaches ("this week": 7), or None."""
    found = [days for pattern, days in _PERIODS if pattern.search(question)]
    return max(found) if found else None


def time_filters(
    question: str, filters: Filters, as_of: date | None, newest: date | None = None
) -> Filters:
    """Narrow `filters` by the question's time.

    Nothing published after `as_of` or after the month of "as of <Month>"; and a relative
    period ("this week", "yesterday", "recently", "this year") becomes a date window ending at
    the reference date: `as_of` when given, else `newest` (the newest stored article's date,
    so an archive is read as of its own last day). A period with no reference is left alone.
    """
    until = filters.until
    since = filters.since
    if as_of and (until is None or as_of < until):
        until = as_of
    month = _AS_OF_MONTH.search(question)
    if month:
        year = int(month.group(2)) if month.group(2) else (as_of or date.today()).year
        index = _MONTHS.index(month.group(1).lower()) + 1
        end = date(year + (index == 12), index % 12 + 1, 1) - timedelta(days=1)
        if until is None or end < until:
            until = end
    reference = as_of or newest
    if reference is not None and not month:
        days = period_days(question)
        start = reference - timedelta(days=days) if days is not None else None
        if start is None and _THIS_YEAR.search(question):
            start = date(reference.year, 1, 1)
        if start is not None and (since is None or start > since):
            since = start
    if (since, until) == (filters.since, filters.until):
        return filters
    return dataclasses.replace(filters, since=since, until=until)


def rerank(
    qvec: np.ndarray,
    ranked: list[Hit],
    embed: Any,
    *,
    depth: int = RERANK_DEPTH,
    window: int = RERANK_WINDOW,
) -> list[Hit]:
    """Reorder the first `depth` hits by fusing their rank with a finer similarity score.

    A chunk's embedding averages ~600 characters; the sentence that answers a question can be
    diluted by the rest. Each candidate is cut into windows of `window` consecutive sentences,
    the windows are embedded in one batch, and the candidate's best window similarity gives a
    second ranking, fused with the first by reciprocal rank, ties going to the better window
    (no cross-encoder can be installed offline here; this is the bi-encoder on question vs
    passage windows).
    """
    head = ranked[:depth]
    if len(head) < 2:
        return ranked
    texts: list[str] = []
    owner: list[int] = []
    for i, hit in enumerate(head):
        text = hit.chunk.text
        spans = sentence_spans(text) or [(0, len(text))]
        for j in range(max(1, len(spans) - window + 1)):
            last = spans[min(j + window, len(spans)) - 1]
            texts.append(text[spans[j][0] : last[1]])
            owner.append(i)
    sims = np.asarray(embed(texts)) @ np.asarray(qvec)
    best = np.full(len(head), -1.0)
    for i, sim in zip(owner, sims, strict=True):
        best[i] = max(best[i], float(sim))
    by_window = sorted(range(len(head)), key=lambda i: -best[i])
    fused = [1.0 / (RRF_K + i + 1) for i in range(len(head))]
    for rank, i in enumerate(by_window):
        fused[i] += 1.0 / (RRF_K + rank + 1)
    # ties (two hits swapping places) go to the better window
    order = sorted(range(len(head)), key=lambda i: (-round(fused[i], 12), -best[i], i))
    return [head[i].model_copy(update={"score": fused[i]}) for i in order] + ranked[depth:]


def cap_per_article(ranked: list[Hit], k: int, cap: int) -> list[Hit]:
    """The best `k` hits, at most `cap` per article while other articles can fill the slots.

    The cap keeps one long article from crowding out the rest; when too few other articles
    match, the remaining slots go back to the capped article's next-best passages.
    """
    chosen: list[Hit] = []
    skipped: list[Hit] = []
    per_article: dict[str, int] = {}
    for hit in ranked:
        count = per_article.get(hit.chunk.article_id, 0)
        if count >= cap:
            skipped.append(hit)
            continue
        per_article[hit.chunk.article_id] = count + 1
        chosen.append(hit)
        if len(chosen) >= k:
            return chosen
    chosen += skipped[: k - len(chosen)]
    order = {id(h): i for i, h in enumerate(ranked)}
    return sorted(chosen, key=lambda h: order[id(h)])


def pack_hits(hits: list[Hit]) -> list[Hit]:
    """Merge passages of one article that overlap or touch into a single passage.

    Overlapping chunks would show the model the same sentences twice and split one citation
    over two numbers; merged, each source is a contiguous span of its article (its offsets
    still point into the article text). Sources keep the rank of their best passage.
    """
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        groups.setdefault(hit.chunk.article_id, []).append(hit)
    packed: list[Hit] = []
    for group in groups.values():
        group = sorted(group, key=lambda h: h.chunk.start)
        current = group[0]
        for nxt in group[1:]:
            a, b = current.chunk, nxt.chunk
            if b.start <= a.end:
                text = a.text[: b.start - a.start] + b.text if b.end > a.end else a.text
                merged = a.model_copy(update={"text": text, "end": max(a.end, b.end)})
                current = current.model_copy(
                    update={
                        "chunk": merged,
                        "score": max(current.score, nxt.score),
                        "dense": max(current.dense or 0.0, nxt.dense or 0.0),
                        "lexical": max(current.lexical or 0.0, nxt.lexical or 0.0) or None,
                    }
                )
            else:
                packed.append(current)
                current = nxt
        packed.append(current)
    return sorted(packed, key=lambda h: -h.score)


CHARS_PER_TOKEN = 3.0  # conservative for English news with numbers and names (~4 on average)
PROMPT_OVERHEAD_TOKENS = 400  # system prompt, instructions, question, source headers


def fit_budget(hits: list[Hit], n_ctx: int, max_tokens: int) -> list[Hit]:
    """The best-ranked hits whose passages fit the model's context with room for the answer.

    The number of sources adapts to their length: at least one always goes in (cut to the
    budget if it alone is too long, keeping its offsets true to the article).
    """
    budget = int((n_ctx - max_tokens - PROMPT_OVERHEAD_TOKENS) * CHARS_PER_TOKEN)
    kept: list[Hit] = []
    used = 0
    for hit in hits:
        size = len(hit.chunk.text) + len(hit.title) + 40
        if used + size > budget:
            if not kept and budget > 0:
                chunk = hit.chunk
                text = chunk.text[: max(0, budget - len(hit.title) - 40)]
                cut = chunk.model_copy(update={"text": text, "end": chunk.start + len(text)})
                kept.append(hit.model_copy(update={"chunk": cut}))
            break
        kept.append(hit)
        used += size
    return kept


def _similar(stored: StoredChunk, sim: float | None) -> StoredChunk:
    return dataclasses.replace(stored, similarity=sim)
