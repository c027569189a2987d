"""The retrieval chain (langchain-core runnables) and the `Assistant` facade."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from assistant.config import Settings
from assistant.embeddings import Embedder
from assistant.errors import AssistantError, BusyError, InputError
from assistant.fetch import Fetcher, is_url
from assistant.prompts import Prompts, load_prompts
from assistant.retrieve import Filters, Retriever, fit_budget, pack_hits
from assistant.store import ArticleInfo, Store, chunking_key
from assistant.types import Answer, Article, Chunk, Hit, IngestReport

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage
    from langchain_core.runnables import Runnable

MAX_QUESTION_CHARS = 2000
INGEST_BATCH_CHUNKS = 256  # chunks embedded per call: large enough to keep the model busy
INGEST_PAGE_ARTICLES = 500  # articles read from a file, and looked up in the store, at once

History = list[tuple[str, str]]
_T = TypeVar("_T")


def clean_question(question: str) -> str:
    """Strip control characters and check the length of a question.

    Raises:
        InputError: the question is empty or longer than MAX_QUESTION_CHARS.
    """
    text = "".join(ch for ch in question if ch in "\n\t" or ch.isprintable())
    text = " ".join(text.split())
    if not text:
        raise InputError("the question is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(
            f"the question is {len(text):,} characters long; the limit is {MAX_QUESTION_CHARS:,}"
        )
    return text


class Assistant:
    """Question answering over news articles with verified citations.

    Example:
        >>> a = Assistant.from_settings(data_dir="/tmp/news")
        >>> a.ingest(["seeds"])
        >>> a.ask("What tariff did Trump threaten?").text
    """

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        chat_model: BaseChatModel | None = None,
        prompts: Prompts | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(settings)
        self.prompts = prompts or load_prompts()
        self._chat_model = chat_model
        self._store: Store | None = None
        self._retriever: Retriever | None = None
        self._lock = threading.Lock()
        # questions waiting for or using the model; beyond max_queue callers get BusyError
        self._slots = threading.BoundedSemaphore(settings.max_queue)
        # Ablation runs only: answers already generated for the same prompt by the same model
        # at temperature 0 (see `evals.ablation.run_ablation`), as (raw answer, generate ms).
        # Entries: (raw answer, generate ms[, prompt tokens, completion tokens]).
        self.replay_cache: dict[str, tuple[Any, ...]] | None = None

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> Assistant:
        """Build an assistant from `Settings` (env vars, assistant.toml) plus keyword overrides."""
        if settings is None:
            settings = Settings(**overrides)
        elif overrides:
            settings = settings.model_copy(update=overrides)
        return cls(settings)

    def derive(self, **overrides: Any) -> Assistant:
        """A new assistant with some settings changed, sharing the loaded models when it can."""
        new = self.settings.model_copy(update=overrides)
        same_embedder = all(
            getattr(new, f) == getattr(self.settings, f)
            for f in ("embedding_model", "embedding_backend", "embedding_batch_size")
        )
        same_llm = all(
            getattr(new, f) == getattr(self.settings, f)
            for f in (
                "llm",
                "llm_model",
                "model_cache_dir",
                "openai_base_url",
                "openai_api_key",
                "ollama_url",
                "temperature",
                "max_tokens",
                "n_ctx",
                "n_threads",
                "n_batch",
                "prompt_lookup",
                "request_timeout",
                "max_retries",
            )
        )
        derived = Assistant(
            new,
            embedder=self.embedder if same_embedder else None,
            chat_model=self._chat_model if same_llm else None,
            prompts=self.prompts,
        )
        derived.replay_cache = self.replay_cache  # keyed by model and prompt: safe to share
        return derived

    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                self._store = Store(self.settings, self.embedder.model_id)
            return self._store

    @property
    def retriever(self) -> Retriever:
        store = self.store
        with self._lock:
            if self._retriever is None:
                self._retriever = Retriever(self.settings, store, self.embedder)
            return self._retriever

    @property
    def chat_model(self) -> BaseChatModel:
        with self._lock:
            if self._chat_model is None:
                from assistant.llm import make_chat_model

                self._chat_model = make_chat_model(self.settings)
            return self._chat_model

    @property
    def model_name(self) -> str:
        from assistant.llm import describe_model

        return describe_model(self.settings)

    # --- articles ---------------------------------------------------------------------------
    def ingest(self, paths: Iterable[str | Path], *, progress: bool = False) -> IngestReport:
        """Load, chunk, embed and store articles; unchanged articles cost no embedding.

        `paths` are files, folders, http(s) URLs of article pages or RSS/Atom feeds, and feed
        files (.rss .atom .xml, named explicitly); a feed gives one article per entry.

        Files are read as streams and handled INGEST_PAGE_ARTICLES articles at a time, so a
        JSONL file of any size ingests in bounded memory. Each embedding call takes about
        INGEST_BATCH_CHUNKS chunks of several articles, and every batch is committed before
        the next is embedded: an interrupted ingest keeps what it stored, and running it
        again skips those articles without embedding them again.

        Bad files and URLs do not stop the ingest: each gives one line in
        `IngestReport.errors`.
        """
        from assistant.loaders import iter_entries
        from assistant.web import is_feed_file, load_feed_file, load_url

        started = time.perf_counter()
        store = self.store
        store.repair()
        run = _IngestRun(self, store)
        raw = [str(p) if isinstance(p, Path) else p for p in paths]
        urls = [p for p in raw if is_url(p)]
        feeds = [Path(p) for p in raw if not is_url(p) and is_feed_file(p)]
        rest = [p for p in raw if not is_url(p) and not is_feed_file(p)]
        files: list[Path] = []
        for entry in iter_entries(rest):  # a bad path is one error; the other paths still load
            if isinstance(entry, InputError):
                run.errors.append(str(entry))
            else:
                files.append(entry)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(files), unit="file", desc="ingest", leave=False)
        try:
            for path in files:
                run.add_file(path)
                if bar is not None:
                    bar.set_postfix(chunks=run.chunks, refresh=False)
                    bar.update(1)
            if urls or feeds:
                with self.fetcher() as fetcher:
                    for url in urls:
                        run.add_items(load_url(url, fetcher))
                    for feed in feeds:
                        run.add_items(load_feed_file(feed, fetcher))
            run.flush()
        finally:
            if bar is not None:
                bar.close()
        return self._report(run, started)

    def ingest_articles(self, items: Iterable[Article | AssistantError]) -> IngestReport:
        """Chunk, embed and store articles made elsewhere (e.g. feed entries), like `ingest`:
        unchanged ones are skipped by content hash; each error item is one line of the
        report's errors."""
        started = time.perf_counter()
        store = self.store
        store.repair()
        run = _IngestRun(self, store)
        run.add_items(iter(items))
        run.flush()
        return self._report(run, started)

    def fetcher(self) -> Fetcher:
        """A `Fetcher` with this assistant's timeout and size cap (close it after use)."""
        from assistant.fetch import Fetcher

        return Fetcher(
            timeout=self.settings.fetch_timeout_s,
            max_bytes=int(self.settings.max_file_mb * 1_000_000),
        )

    def _report(self, run: _IngestRun, started: float) -> IngestReport:
        if self.settings.hybrid and (run.added or run.updated):
            # brought up to date now and saved, so the next process's first question loads it
            self.retriever.lexical.refresh()
        duplicates: dict[str, list[str]] = {}
        if self.settings.dedupe and (run.added or run.updated):
            duplicates = self.retriever.duplicates.others(run.added + run.updated)
        return IngestReport(
            added=run.added,
            updated=run.updated,
            unchanged=run.unchanged,
            errors=run.errors,
            chunks=run.chunks,
            duplicates=duplicates,
            seconds=time.perf_counter() - started,
        )

    def remove(self, article_id: str) -> bool:
        """Delete one article and its chunks; False when it was not stored."""
        return self.store.remove(article_id)

    def article(self, article_id: str) -> Article:
        """The stored article `article_id`.

        Raises:
            InputError: no article has that id.
        """
        found = self.store.get_article(article_id)
        if found is None:
            raise InputError(f"no article with id '{article_id}' in {self.store.location}")
        return found

    def _article_text(self, article_id: str) -> str:
        found = self.store.get_article(article_id)
        return found.text if found is not None else ""

    def articles(self) -> list[ArticleInfo]:
        """Every stored article (without text), newest first."""
        return self.store.list_articles()

    def stats(self) -> dict[str, Any]:
        """Counts, store location and size, models and backends."""
        info = self.store.stats()
        info["llm"] = self.settings.llm
        info["llm_model"] = self.model_name
        return info

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings of `texts` with the store's embedding model."""
        return self.embedder.embed(texts)

    def retrieve(
        self,
        question: str,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        as_of: date | None = None,
    ) -> list[Hit]:
        """The passages the assistant would hand the model for `question` asked on `as_of`."""
        return self.retriever.retrieve(clean_question(question), k=k, filters=filters, as_of=as_of)

    # --- the chain --------------------------------------------------------------------------
    def _condense(self, state: dict[str, Any]) -> dict[str, Any]:
        history: History = state.get("history") or []
        question: str = state["question"]
        started = time.perf_counter()
        standalone = question
        if history:
            from langchain_core.output_parsers import StrOutputParser
            from langchain_core.prompts import ChatPromptTemplate

            turns = "\n".join(
                f"User: {u}\nAssistant: {_strip_for_history(a)}" for u, a in history[-3:]
            )
            rewrite = (
                ChatPromptTemplate.from_messages([("human", self.prompts.condense)])
                | self.chat_model
                | StrOutputParser()
            )
            text = self._call_llm(lambda: rewrite.invoke({"history": turns, "question": question}))
            text = text.strip().strip('"').splitlines()[0].strip() if text.strip() else ""
            standalone = text if 3 <= len(text) <= MAX_QUESTION_CHARS else question
        timings = dict(state.get("timings", {}))
        timings["condense_ms"] = (time.perf_counter() - started) * 1000
        return {**state, "standalone": standalone, "timings": timings}

    def _retrieve(self, state: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        hits = self.retriever.retrieve(
            state["standalone"],
            k=state.get("k"),
            filters=state.get("filters"),
            as_of=state.get("as_of"),
        )
        if self.settings.pack_passages:
            hits = pack_hits(hits)
        hits = fit_budget(hits, self.settings.n_ctx, self.settings.max_tokens)
        timings = dict(state["timings"])
        timings["retrieve_ms"] = (time.perf_counter() - started) * 1000
        best = max((h.dense or 0.0 for h in hits), default=0.0)
        relevant = bool(hits) and best >= self.settings.min_relevance
        evidence = hits
        if relevant and self.settings.evidence:
            from assistant.evidence import select_evidence

            started = time.perf_counter()
            evidence = select_evidence(
                state["standalone"],
                hits,
                self.embedder.embed,
                max_sentences=self.settings.evidence_sentences,
            )
            timings["select_ms"] = (time.perf_counter() - started) * 1000
        return {
            **state,
            "hits": hits,
            "evidence": evidence,
            "relevant": relevant,
            "timings": timings,
        }

    def _prompt_inputs(self, state: dict[str, Any]) -> dict[str, Any]:
        from assistant.citations import number_sources

        today: date = state.get("as_of") or date.today()
        return {
            "today": today.isoformat(),
            "sources": number_sources(state["evidence"]),
            "question": state["standalone"],
        }

    def _generator(self) -> Runnable[Any, BaseMessage]:
        from langchain_core.prompts import ChatPromptTemplate

        prompt = ChatPromptTemplate.from_messages(
            [("system", self.prompts.system), ("human", self.prompts.answer)]
        )
        return prompt | self.chat_model

    def _generate(self, state: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        raw = ""
        replayed = 0.0
        usage: dict[str, float] = {}
        if state["relevant"]:
            inputs = self._prompt_inputs(state)
            cache = self.replay_cache
            key = self._replay_key(inputs) if cache is not None else ""
            if cache is not None and key in cache:
                raw, replayed, *tokens = cache[key]
                usage = dict(zip(("prompt_tokens", "completion_tokens"), tokens, strict=False))
            else:
                message = self._call_llm(lambda: self._generator().invoke(inputs))
                raw, usage = _text(message), _usage(message)
                if cache is not None:
                    cache[key] = (
                        raw,
                        (time.perf_counter() - started) * 1000,
                        *[usage[k] for k in ("prompt_tokens", "completion_tokens") if k in usage],
                    )
        timings = dict(state["timings"])
        timings["generate_ms"] = replayed or (time.perf_counter() - started) * 1000
        if raw or replayed:
            timings.update(usage)
        if replayed:
            timings["generate_replayed"] = 1.0
        return {**state, "raw": raw, "timings": timings, "replayed_ms": replayed}

    def _replay_key(self, inputs: dict[str, Any]) -> str:
        """What makes a generation deterministic: model, decoding settings, prompts, inputs."""
        import hashlib
        import json

        s = self.settings
        blob = json.dumps(
            [
                self.model_name,
                s.temperature,
                s.max_tokens,
                s.n_ctx,
                self.prompts.system,
                self.prompts.answer,
                inputs,
            ],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def _finish(self, state: dict[str, Any]) -> Answer:
        from assistant.review import review_answer

        started = time.perf_counter()
        hits: list[Hit] = state["hits"]
        evidence: list[Hit] = state.get("evidence", hits)
        review = review_answer(
            state.get("raw", ""),
            question=state["standalone"],
            hits=hits,
            evidence=evidence,
            relevant=state["relevant"],
            settings=self.settings,
            embed=self.embedder.embed,
            article_text=self._article_text,
        )
        timings = dict(state["timings"])
        timings["verify_ms"] = (time.perf_counter() - started) * 1000
        timings["total_ms"] = (time.perf_counter() - state["started"]) * 1000 + state.get(
            "replayed_ms", 0.0
        )
        return Answer(
            question=state["question"],
            text=review.text,
            citations=review.citations,
            abstained=review.abstained,
            abstain_reason=review.reason,
            standalone_question=state["standalone"],
            hits=hits,
            evidence=evidence,
            model=self.model_name,
            timings=timings,
            settings_hash=self.settings.settings_hash(),
            unsupported=review.unsupported,
            uncovered=review.uncovered,
        )

    @property
    def chain(self) -> Runnable[dict[str, Any], Answer]:
        """The whole pipeline as one runnable: condense | retrieve | generate | verify."""
        from langchain_core.runnables import RunnableLambda

        return (
            RunnableLambda(self._condense, name="condense")
            | RunnableLambda(self._retrieve, name="retrieve")
            | RunnableLambda(self._generate, name="generate")
            | RunnableLambda(self._finish, name="verify")
        )

    def _call_llm(self, call: Callable[[], _T]) -> _T:
        from assistant.llm import explain_llm_error

        try:
            return call()
        except AssistantError:
            raise
        except Exception as exc:
            raise explain_llm_error(exc, self.settings) from exc

    def _inputs(
        self,
        question: str,
        history: History | None,
        k: int | None,
        filters: Filters | None,
        as_of: date | None,
    ) -> dict[str, Any]:
        return {
            "question": clean_question(question),
            "history": [(u, a) for u, a in (history or [])],
            "k": k,
            "filters": filters,
            "as_of": as_of,
            "started": time.perf_counter(),
            "timings": {},
        }

    def _slot(self) -> None:
        if not self._slots.acquire(blocking=False):
            raise BusyError(
                f"the assistant is busy ({self.settings.max_queue} questions waiting, "
                "ASSISTANT_MAX_QUEUE); try again in a moment"
            )

    def ask(
        self,
        question: str,
        history: History | None = None,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        as_of: date | None = None,
    ) -> Answer:
        """Answer a question from the stored articles, with verified citations.

        Args:
            question: The question; follow-ups are rewritten using `history`.
            history: Earlier (question, answer) turns of this conversation.
            k: Passages to hand the model (default `Settings.top_k`).
            filters: Restrict retrieval by source, date range or article ids.
            as_of: The date the question is asked ("this week" is read against it).
        """
        inputs = self._inputs(question, history, k, filters, as_of)
        self._slot()
        try:
            return self.chain.invoke(inputs)
        finally:
            self._slots.release()

    def stream(
        self,
        question: str,
        history: History | None = None,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        as_of: date | None = None,
    ) -> Iterator[str | Answer]:
        """Yield the answer's text pieces as the model writes them, then the final `Answer`.

        The final Answer's text can differ from the streamed pieces: citations are verified
        and renumbered, and unsupported sentences are dropped.
        """
        from langchain_core.runnables import RunnableLambda

        inputs = self._inputs(question, history, k, filters, as_of)
        self._slot()
        try:
            prepare = RunnableLambda(self._condense) | RunnableLambda(self._retrieve)
            state = prepare.invoke(inputs)
            started = time.perf_counter()
            pieces: list[str] = []
            if state["relevant"]:
                from assistant.llm import explain_llm_error

                try:
                    for chunk in self._generator().stream(self._prompt_inputs(state)):
                        state["timings"].update(_usage(chunk))
                        piece = _text(chunk)
                        if piece:
                            if not pieces:
                                state["timings"]["first_token_ms"] = (
                                    time.perf_counter() - inputs["started"]
                                ) * 1000
                            pieces.append(piece)
                            yield piece
                except AssistantError:
                    raise
                except Exception as exc:
                    raise explain_llm_error(exc, self.settings) from exc
            state["raw"] = "".join(pieces)
            state["timings"]["generate_ms"] = (time.perf_counter() - started) * 1000
            yield self._finish(state)
        finally:
            self._slots.release()


class _IngestRun:
    """The state of one `Assistant.ingest` call: queued chunks and what was done so far."""

    def __init__(self, assistant: Assistant, store: Store) -> None:
        self.assistant = assistant
        self.store = store
        self.settings = assistant.settings
        self.key = chunking_key(self.settings)
        self.max_bytes = int(self.settings.max_file_mb * 1_000_000)
        self.added: list[str] = []
        self.updated: list[str] = []
        self.unchanged: list[str] = []
        self.errors: list[str] = []
        self.chunks = 0
        self.pending: list[tuple[Article, list[Chunk]]] = []
        self.pending_chunks = 0

    def add_file(self, path: Path) -> None:
        """Queue the new and changed articles of one file, a page at a time."""
        from assistant.loaders import load_file

        self.add_items(load_file(path, max_bytes=self.max_bytes))

    def add_items(self, loaded: Iterator[Article | AssistantError]) -> None:
        """Queue the new and changed articles of a stream, a page at a time; an error item is
        one error line, and an error raised by the stream ends it with one line."""
        try:
            while page := list(itertools.islice(loaded, INGEST_PAGE_ARTICLES)):
                articles: list[Article] = []
                for item in page:
                    if isinstance(item, AssistantError):
                        self.errors.append(str(item))
                    else:
                        articles.append(item)
                self._add_page(articles)
        except InputError as exc:  # the whole (rest of the) file or URL is unusable
            self.errors.append(str(exc))

    def _add_page(self, articles: list[Article]) -> None:
        from assistant.chunking import chunk_article

        if not articles:
            return
        known = self.store.committed([a.id for a in articles])
        queued = {a.id for a, _ in self.pending}
        for article in articles:
            state = known.get(article.id)
            if state == (article.sha256, self.key) and article.id not in queued:
                self.unchanged.append(article.id)
                continue
            (self.updated if state or article.id in queued else self.added).append(article.id)
            if article.id in queued:  # the same id twice in one ingest: last wins
                self.flush()
                queued = set()
            chunks = chunk_article(
                article, size=self.settings.chunk_size, overlap=self.settings.chunk_overlap
            )
            self.pending.append((article, chunks))
            queued.add(article.id)
            self.pending_chunks += len(chunks)
            if self.pending_chunks >= INGEST_BATCH_CHUNKS:
                self.flush()
                queued = set()

    def flush(self) -> None:
        """Embed and commit the queued articles."""
        if not self.pending:
            return
        texts = [c.text for _, chunks in self.pending for c in chunks]
        vectors = self.assistant.embedder.embed(texts)
        items = []
        offset = 0
        for article, chunks in self.pending:
            items.append((article, chunks, vectors[offset : offset + len(chunks)]))
            offset += len(chunks)
        signatures = _signatures(self.pending)
        written = self.store.put(items, self.key, signatures=signatures)
        # the ingest's end then need not read them back for BM25 and near-duplicates
        if self.settings.hybrid:
            self.assistant.retriever.lexical.note(*written)
        if self.settings.dedupe:
            self.assistant.retriever.duplicates.note(signatures, self.store.last_write)
        self.chunks += len(texts)
        self.pending, self.pending_chunks = [], 0


def _signatures(pending: list[tuple[Article, list[Chunk]]]) -> dict[str, str]:
    """Near-duplicate signatures of the articles about to be stored (the store persists them)."""
    from assistant import dedup

    return {article.id: dedup.encode(dedup.signature(article.text)) for article, _ in pending}


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in content)


def _usage(message: BaseMessage) -> dict[str, float]:
    """Prompt and completion token counts of a model reply, when the backend reports them."""
    usage = getattr(message, "usage_metadata", None)
    if not usage:
        return {}
    return {
        "prompt_tokens": float(usage.get("input_tokens", 0)),
        "completion_tokens": float(usage.get("output_tokens", 0)),
    }


def _strip_for_history(answer: str) -> str:
    from assistant.citations import strip_markers

    return strip_markers(answer)[:600]
