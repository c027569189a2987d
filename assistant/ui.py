"""The browser chat (Gradio); the only module that imports gradio.

The page has a chat (streamed tokens, then the verified answer with `[n]` links), a sources
panel (one card per citation, uncited passages behind a toggle), an article view that shows the
cited quote highlighted in its article, an article library (upload, list, remove), a settings
drawer (model, top-k, temperature) and a "how this was answered" view.

Everything shown in the browser is built here as HTML from escaped text: article text, titles
and even model output may contain hostile markup, so nothing from them reaches the page
unescaped. Per-browser-session state (history, answers) lives in `gr.State`; the only thing the
sessions share is the pool of loaded models.
"""

from __future__ import annotations

import html
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError, ConfigError
from assistant.types import Answer, Article, Citation, Hit, Outlet

if TYPE_CHECKING:
    import gradio as gr

    from assistant.chain import Assistant
    from assistant.config import Settings
    from assistant.store import ArticleInfo

__all__ = [
    "Session",
    "abstention_reason",
    "answer_to_markdown",
    "build_app",
    "check_upload",
    "launch_options",
    "locate_quote",
    "model_choices",
    "render_answer_html",
    "render_article_html",
    "render_article_list_html",
    "render_sources_html",
    "render_trace_html",
    "serve",
]

log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl")
ABSTAIN_HEADLINE = "The articles don't say."
MAX_TURNS_KEPT = 50  # answers a session keeps for its citation links; older links go stale
MAX_MODELS_LOADED = 3  # distinct (model, temperature) assistants kept; each may hold a model
_MARKER_RE = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_SNIPPET_CHARS = 280

# --- session state ---------------------------------------------------------------------------


@dataclass
class Session:
    """One browser session's conversation: kept in `gr.State`, never shared between sessions.

    Attributes:
        answers: Every final answer of this session, indexed by turn (the `data-turn` of links).
        history: (question, answer text) pairs handed to the chain to condense follow-ups.
    """

    answers: list[Answer] = field(default_factory=list)
    history: list[tuple[str, str]] = field(default_factory=list)
    first_turn: int = 0  # turn number of answers[0], after old answers are dropped

    def add(self, question: str, answer: Answer) -> int:
        """Record a final answer; returns its turn number."""
        self.answers.append(answer)
        self.history.append((question, answer.text))
        if len(self.answers) > MAX_TURNS_KEPT:
            drop = len(self.answers) - MAX_TURNS_KEPT
            del self.answers[:drop]
            self.first_turn += drop
        self.history = self.history[-MAX_TURNS_KEPT:]
        return self.first_turn + len(self.answers) - 1

    def answer(self, turn: int) -> Answer | None:
        """The answer of `turn`, or None when it is unknown or was dropped."""
        i = turn - self.first_turn
        return self.answers[i] if 0 <= i < len(self.answers) else None


# --- pure rendering helpers ------------------------------------------------------------------


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _safe_url(url: str | None) -> str | None:
    # only web links become hrefs: a javascript: or data: URL in metadata must stay inert
    if url and re.match(r"^https?://", url.strip(), re.IGNORECASE):
        return url.strip()
    return None


def _paragraphs(escaped: str) -> str:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", escaped) if b.strip()]
    return "".join(f"<p>{b.replace(chr(10), '<br>')}</p>" for b in blocks)


def _meta_line(source: str | None, published: object | None) -> str:
    parts = [p for p in (source, str(published) if published else None) if p]
    return " · ".join(_esc(p) for p in parts)


def _dense_by_chunk(answer: Answer) -> dict[str, float]:
    return {h.chunk.id: h.dense for h in answer.hits if h.dense is not None}


def format_seconds(ms: float | None) -> str:
    """A duration in ms for people: '850 ms', '2.4 s'; '–' when unknown."""
    if ms is None:
        return "–"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def render_streaming_html(text: str) -> str:
    """The chat bubble while the model is still writing: an escaped draft, no links yet.

    The draft is labelled as such: it may still turn into "the articles don't say" once its
    citations are checked.
    """
    if not text.strip():
        return '<div class="answer streaming"><p class="hint">Searching the articles…</p></div>'
    return (
        f'<div class="answer streaming"><div class="draft">{_paragraphs(_esc(text))}</div>'
        '<div class="answer-meta">Draft: citations are checked when it is complete.</div></div>'
    )


def render_error_html(message: str) -> str:
    """A one-line error in the chat, e.g. a busy model or a missing model file."""
    return f'<div class="answer error" role="alert"><p>⚠ {_esc(message)}</p></div>'


def _link_markers(escaped: str, numbers: set[int], turn: int) -> str:
    def link(match: re.Match[str]) -> str:
        out = []
        for raw in match.group(1).split(","):
            n = int(raw.strip())
            if n in numbers:
                out.append(
                    f'<a class="citation-link" href="#cite-{turn}-{n}" data-turn="{turn}" '
                    f'data-n="{n}" title="Show the quote in its article">[{n}]</a>'
                )
            else:
                out.append(f"[{n}]")
        return "".join(out)

    return _MARKER_RE.sub(link, escaped)


def _mark_unsupported(escaped: str, unsupported: Sequence[str]) -> str:
    for sentence in unsupported:
        needle = _esc(sentence.strip())
        if needle and needle in escaped:
            escaped = escaped.replace(
                needle,
                '<span class="unsupported" title="No retrieved passage supports this sentence">'
                f"{needle}</span>",
                1,
            )
    return escaped


def abstention_reason(answer: Answer, min_relevance: float | None = None) -> str:
    """Why the assistant gave no answer, in one sentence for people."""
    if not answer.hits:
        from assistant.retrieve import period_days

        days = period_days(answer.standalone_question or answer.question)
        if days:
            return (
                f"No stored article from the period this question asks about (the {days} days "
                "up to its date, or up to the newest article) matches it."
            )
        return "No stored article matches this question."
    best = max((h.dense for h in answer.hits if h.dense is not None), default=None)
    if min_relevance is not None and best is not None and best < min_relevance:
        return (
            f"No stored article is close enough to this question (best of {len(answer.hits)} "
            f"passages: relevance {best:.2f}, needed {min_relevance:.2f})."
        )
    if answer.unsupported:
        return (
            "The model drafted a reply, but no retrieved passage supports it, so it is not "
            "shown as an answer."
        )
    return f"None of the {len(answer.hits)} passages retrieved answers this."


def render_answer_html(answer: Answer, turn: int, *, min_relevance: float | None = None) -> str:
    """The final answer as chat HTML: `[n]` markers become `.citation-link` anchors.

    Args:
        answer: The verified answer.
        turn: The answer's turn number in its session; links carry it so a click on an old
            answer opens that answer's citation.
        min_relevance: `Settings.min_relevance`, to explain an abstention precisely.

    Returns:
        A `<div class="answer final">`, or `<div class="answer abstained">` when the articles
        do not say; every piece of text in it is escaped.
    """
    footer = (
        f'<div class="answer-meta">{_esc(answer.model)} · '
        f"{format_seconds(answer.timings.get('total_ms'))}</div>"
    )
    if answer.abstained:
        detail = abstention_reason(answer, min_relevance)
        return (
            f'<div class="answer abstained" data-turn="{turn}">'
            f'<p class="abstain-headline">{_esc(ABSTAIN_HEADLINE)}</p>'
            f'<p class="abstain-detail">{_esc(detail)} Try rephrasing, or add articles that '
            f"cover it.</p>{footer}</div>"
        )
    escaped = _mark_unsupported(_esc(answer.text), answer.unsupported)
    body = _link_markers(escaped, {c.n for c in answer.citations}, turn)
    return f'<div class="answer final" data-turn="{turn}">{_paragraphs(body)}{footer}</div>'


def _unique_citations(answer: Answer) -> list[Citation]:
    seen: set[int] = set()
    out = []
    for c in sorted(answer.citations, key=lambda c: c.n):
        if c.n not in seen:
            seen.add(c.n)
            out.append(c)
    return out


def render_sources_html(answer: Answer | None, turn: int) -> str:
    """The sources panel: a `.source-card` per citation, uncited passages behind a toggle."""
    if answer is None:
        return (
            '<div class="sources empty"><p class="hint">Sources appear here after an answer. '
            "Click a <b>[n]</b> link or a card to read the quote in its article.</p></div>"
        )
    dense = _dense_by_chunk(answer)
    cards = []
    for c in _unique_citations(answer):
        relevance = dense.get(c.chunk_id)
        rel = f"relevance {relevance:.2f}" if relevance is not None else ""
        support = f"support {c.score:.2f}" if c.score else ""
        scores = " · ".join(x for x in (rel, support) if x)
        cards.append(
            f'<div class="source-card" role="button" tabindex="0" data-turn="{turn}" '
            f'data-n="{c.n}" title="Show this quote in its article">'
            f'<div class="card-head"><span class="card-n">[{c.n}]</span> '
            f'<span class="card-title">{_esc(c.title)}</span></div>'
            f'<div class="card-meta">{_meta_line(c.source, c.published)}'
            f"{' · ' if scores and (c.source or c.published) else ''}{_esc(scores)}</div>"
            f'<blockquote class="card-quote">“{_esc(c.quote)}”</blockquote>'
            f"{_also_in_html(c.also_in)}</div>"
        )
    cited = {c.chunk_id for c in answer.citations}
    others = [(i, h) for i, h in enumerate(answer.hits) if h.chunk.id not in cited]
    if answer.abstained:
        head = '<p class="hint">No sources: the articles do not answer this question.</p>'
    elif not cards:
        head = '<p class="hint">This answer has no verified citations.</p>'
    else:
        head = f'<h4 class="sources-title">Sources ({len(cards)})</h4>'
    toggle = ""
    if others:
        rows = "".join(_passage_card(i, h, turn) for i, h in others)
        label = "Retrieved" if answer.abstained or not cards else "Other retrieved"
        toggle = (
            f'<details class="other-passages"><summary>{label} passages, not cited '
            f"({len(others)})</summary>{rows}</details>"
        )
    return f'<div class="sources" data-turn="{turn}">{head}{"".join(cards)}{toggle}</div>'


def _also_in_html(outlets: Sequence[Outlet]) -> str:
    """ "Also published by" under a source card, for near-duplicate articles."""
    if not outlets:
        return ""
    names = []
    for o in outlets:
        name = _esc(o.source or o.title)
        when = f" ({o.published.isoformat()})" if o.published else ""
        url = _safe_url(o.url)
        link = (
            f'<a href="{_esc(url)}" target="_blank" rel="noopener noreferrer nofollow">{name}</a>'
            if url
            else name
        )
        names.append(link + when)
    return f'<div class="card-also">Also published by: {", ".join(names)}</div>'


def _passage_card(index: int, hit: Hit, turn: int) -> str:
    text = hit.chunk.text
    snippet = text if len(text) <= _SNIPPET_CHARS else text[:_SNIPPET_CHARS].rstrip() + "…"
    dense = f"relevance {hit.dense:.2f}" if hit.dense is not None else ""
    return (
        f'<div class="passage-card" role="button" tabindex="0" data-turn="{turn}" '
        f'data-hit="{index}" title="Show this passage in its article">'
        f'<div class="card-head"><span class="card-title">{_esc(hit.title)}</span></div>'
        f'<div class="card-meta">{_meta_line(hit.source, hit.published)}'
        f"{' · ' if dense and (hit.source or hit.published) else ''}{_esc(dense)}</div>"
        f'<div class="card-snippet">{_esc(snippet)}</div></div>'
    )


def locate_quote(text: str, quote: str, start: int, end: int) -> tuple[int, int] | None:
    """Where `quote` is in `text`: at (start, end) when it still is, else its first occurrence.

    The article may have been re-ingested since the answer was given; a quote that moved is
    found again, and one that is gone gives None rather than a wrong highlight.
    """
    if 0 <= start <= end <= len(text) and (not quote or text[start:end] == quote):
        return start, end
    if quote:
        at = text.find(quote)
        if at >= 0:
            return at, at + len(quote)
    return None


def render_article_html(
    article: Article,
    span: tuple[int, int] | None = None,
    *,
    label: str = "",
    kind: str = "quote",
) -> str:
    """The article view: escaped text with `text[start:end]` in `<mark id="highlight">`.

    Args:
        article: The stored article.
        span: (start, end) offsets into `article.text` to highlight, or None.
        label: A line above the text, e.g. "Quote cited as [1]".
        kind: CSS class of the `<mark>` ("quote" for citations, "passage" for uncited hits).

    Returns:
        An `<article class="article-view">` fragment; all article text and metadata escaped.
    """
    text = article.text
    if span is not None:
        start, end = span
        body = (
            f'{_esc(text[:start])}<mark id="highlight" class="{_esc(kind)}">'
            f"{_esc(text[start:end])}</mark>{_esc(text[end:])}"
        )
    else:
        body = _esc(text)
    url = _safe_url(article.url)
    link = (
        f' · <a href="{_esc(url)}" target="_blank" rel="noopener noreferrer nofollow">original</a>'
        if url
        else ""
    )
    meta = _meta_line(article.source, article.published)
    return (
        f'<article class="article-view-body" data-article-id="{_esc(article.id)}">'
        f'<header><h3 class="article-title">{_esc(article.title)}</h3>'
        f'<div class="article-meta">{meta}{link}</div>'
        + (f'<div class="article-label">{_esc(label)}</div>' if label else "")
        + f'</header><div class="article-text">{body}</div></article>'
    )


def render_article_placeholder(message: str = "") -> str:
    """The article view before anything is selected (or with a one-line problem)."""
    text = message or "Click a [n] link or a source card to read the quote in its article."
    return f'<div class="article-view-body empty"><p class="hint">{_esc(text)}</p></div>'


def render_trace_html(answer: Answer | None) -> str:
    """'How this was answered': standalone question, passages with scores, timings."""
    if answer is None:
        return '<div class="trace empty"><p class="hint">Ask a question first.</p></div>'
    t = answer.timings
    timing_rows = [
        ("condense follow-up", t.get("condense_ms")),
        ("retrieve passages", t.get("retrieve_ms")),
        ("first token", t.get("first_token_ms")),
        ("generate", t.get("generate_ms")),
        ("verify citations", t.get("verify_ms")),
        ("total", t.get("total_ms")),
    ]
    timings = "".join(
        f"<tr><td>{name}</td><td>{format_seconds(ms)}</td></tr>"
        for name, ms in timing_rows
        if ms is not None
    )
    cited = {c.chunk_id: c.n for c in answer.citations}
    rows = []
    for i, h in enumerate(answer.hits, 1):
        n = cited.get(h.chunk.id)
        rows.append(
            "<tr>"
            f"<td>{i}</td><td>{_esc(h.title)}</td><td>{h.score:.3f}</td>"
            f"<td>{'' if h.dense is None else f'{h.dense:.2f}'}</td>"
            f"<td>{'' if h.lexical is None else f'{h.lexical:.2f}'}</td>"
            f"<td>{f'[{n}]' if n else ''}</td>"
            f'<td class="trace-snippet">{_esc(h.chunk.text[:_SNIPPET_CHARS])}</td>'
            "</tr>"
        )
    standalone = answer.standalone_question or answer.question
    rewritten = (
        '<p class="hint">The follow-up was rewritten into this standalone question.</p>'
        if standalone != answer.question
        else ""
    )
    unsupported = ""
    if answer.unsupported:
        items = "".join(f"<li>{_esc(s)}</li>" for s in answer.unsupported)
        unsupported = (
            f'<h4>Sentences no passage supports</h4><ul class="trace-unsupported">{items}</ul>'
        )
    passages = (
        '<table class="trace-hits"><thead><tr><th>#</th><th>article</th><th>fused</th>'
        "<th>cosine</th><th>BM25</th><th>cited</th><th>passage</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows
        else '<p class="hint">No passages were retrieved.</p>'
    )
    return (
        '<div class="trace">'
        f"<p><b>Question:</b> {_esc(answer.question)}</p>"
        f'<p><b>Standalone question:</b> <span class="standalone">{_esc(standalone)}</span></p>'
        f"{rewritten}"
        f"<p><b>Model:</b> {_esc(answer.model)} · <b>settings</b> {_esc(answer.settings_hash)}"
        f" · <b>outcome:</b> {'abstained' if answer.abstained else 'answered'}</p>"
        f'<h4>Timings</h4><table class="trace-timings">{timings}</table>'
        f"<h4>Retrieved passages ({len(answer.hits)})</h4>{passages}{unsupported}</div>"
    )


def answer_to_markdown(answer: Answer) -> str:
    """The answer with its citations as Markdown, for copying into notes or a document."""
    lines = [f"**Q:** {answer.question}", ""]
    if answer.abstained:
        lines.append(f"_{ABSTAIN_HEADLINE}_ (no supporting passage in the stored articles)")
        return "\n".join(lines) + "\n"
    lines += [answer.text.strip(), ""]
    citations = _unique_citations(answer)
    if citations:
        lines.append("**Sources**")
        lines.append("")
    for c in citations:
        meta = ", ".join(x for x in (c.source, c.published and c.published.isoformat()) if x)
        head = f"[{c.n}] {c.title}" + (f" ({meta})" if meta else "")
        url = _safe_url(c.url)
        if url:
            head += f" <{url}>"
        quote = " ".join(c.quote.split())
        lines += [head, f"> {quote}"]
        if c.also_in:
            lines.append("Also published by: " + ", ".join(o.source or o.title for o in c.also_in))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_article_list_html(infos: Sequence[ArticleInfo]) -> str:
    """The article library: one row per stored article with open and remove buttons."""
    if not infos:
        return '<div class="article-list empty"><p class="hint">No articles yet.</p></div>'
    rows = []
    for a in infos:
        meta = _meta_line(a.source, a.published)
        rows.append(
            f'<li class="article-row" data-id="{_esc(a.id)}">'
            f'<button class="open-article" data-id="{_esc(a.id)}" title="Read this article">'
            f"{_esc(a.title)}</button>"
            f'<span class="article-row-meta">{meta}{" · " if meta else ""}{a.chunks} chunks'
            f"</span>"
            f'<button class="remove-article" data-id="{_esc(a.id)}" '
            f'title="Remove this article from the store">Remove</button></li>'
        )
    return (
        f'<div class="article-list"><p class="article-count">{len(infos)} articles</p>'
        f"<ul>{''.join(rows)}</ul></div>"
    )


def check_upload(path: Path, max_mb: float, roots: Sequence[Path] = ()) -> str | None:
    """Why an uploaded file cannot be ingested (one line), or None when it can.

    Args:
        path: The uploaded file.
        max_mb: The upload limit (ASSISTANT_MAX_UPLOAD_MB).
        roots: The folders uploads live in (Gradio's upload folder). When given, a path that
            resolves outside them is refused, so neither a crafted path ("../../etc/x.txt")
            nor a symbolic link can make the server read other files. Symbolic links are
            always refused: an upload is never one.
    """
    if path.suffix.lower() not in UPLOAD_SUFFIXES:
        kinds = ", ".join(UPLOAD_SUFFIXES)
        return f"{path.name}: {path.suffix or 'no extension'} files are not supported ({kinds})"
    if path.is_symlink() or (roots and not _inside(path, roots)):
        return f"{path.name}: not a file uploaded through this page"
    try:
        size = path.stat().st_size
    except OSError:
        return f"{path.name}: the upload could not be read"
    if size > max_mb * 1_000_000:
        return (
            f"{path.name}: {size / 1_000_000:.1f} MB is over the {max_mb:g} MB limit "
            "(ASSISTANT_MAX_UPLOAD_MB)"
        )
    if size == 0:
        return f"{path.name}: the file is empty"
    return None


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return any(resolved.is_relative_to(root.resolve()) for root in roots)


def model_choices(settings: Settings) -> list[tuple[str, str]]:
    """The models the settings drawer offers, as (label, value) pairs.

    The local 'default' and 'quality' models are always offered; the configured backend's model
    is added when it is something else (an Ollama or OpenAI-compatible model, or a .gguf path).
    A value is '<backend>:<model>'.
    """
    from assistant.models import MODELS, list_models

    ready = {m.name: m.ready for m in list_models(settings.model_cache_dir)}
    choices = []
    for name, spec in MODELS.items():
        short = spec.description.split(":")[0].split(" ")[0].replace("-Instruct", "")
        note = "" if ready.get(name) else ", assembled on first use"
        choices.append((f"{name} · {short} (local{note})", f"local:{name}"))
    configured = f"{settings.llm}:{settings.llm_model}"
    if configured not in {value for _, value in choices}:
        choices.append((f"{settings.llm_model} ({settings.llm})", configured))
    return choices


def _clean_error(message: str, upload_dirs: Sequence[Path]) -> str:
    # uploaded files live in Gradio's temporary folders; people know them by their file name
    for folder in upload_dirs:
        message = message.replace(f"{folder}/", "").replace(str(folder), "")
    return message


# --- models per session ----------------------------------------------------------------------


class _Assistants:
    """The assistants sessions ask, one per (backend, model, temperature), loaded on demand.

    A changed temperature reuses the loaded weights (a copy of the chat model with another
    temperature shares its llama.cpp object and lock); a changed model goes through `derive`.
    At most MAX_MODELS_LOADED are kept, least recently used first out.
    """

    def __init__(self, base: Assistant) -> None:
        self.base = base
        self._pool: OrderedDict[tuple[str, str, float], Assistant] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, choice: str, temperature: float) -> Assistant:
        settings = self.base.settings
        backend, _, model = (choice or "").partition(":")
        if not model:
            backend, model = settings.llm, settings.llm_model
        if backend not in ("local", "openai", "ollama"):
            raise ConfigError(f"unknown model choice {choice!r} in the settings drawer")
        temperature = round(float(temperature), 2)
        key = (backend, model, temperature)
        if key == (settings.llm, settings.llm_model, round(settings.temperature, 2)):
            return self.base
        with self._lock:
            found = self._pool.get(key)
            if found is not None:
                self._pool.move_to_end(key)
                return found
            made = self._make(backend, model, temperature)
            self._pool[key] = made
            while len(self._pool) > MAX_MODELS_LOADED:
                self._pool.popitem(last=False)
            return made

    def _make(self, backend: str, model: str, temperature: float) -> Assistant:
        settings = self.base.settings
        if (backend, model) == (settings.llm, settings.llm_model):
            chat = self.base.chat_model
            try:
                chat = chat.model_copy(update={"temperature": temperature})
            except Exception:  # a chat model that cannot be copied: load another one
                return self.base.derive(temperature=temperature)
            return type(self.base)(
                settings.model_copy(update={"temperature": temperature}),
                embedder=self.base.embedder,
                chat_model=chat,
                prompts=self.base.prompts,
            )
        return self.base.derive(llm=backend, llm_model=model, temperature=temperature)


# --- the app ---------------------------------------------------------------------------------

_CSS = """
#chat .answer p { margin: 0 0 .5em 0; }
#chat .answer-meta { font-size: .78em; opacity: .65; margin-top: .3em; }
#chat .answer.streaming .draft p:last-of-type::after { content: "▍";
  animation: blink 1s steps(1) infinite; }
@keyframes blink { 50% { opacity: 0; } }
#chat a.citation-link, a.citation-link { display: inline-block; padding: 0 .3em;
  margin: 0 0 0 .15em; border-radius: .4em; font-size: .85em; font-weight: 600;
  text-decoration: none; cursor: pointer; background: #e0e7ff; color: #3730a3; }
#chat a.citation-link:hover, #chat a.citation-link:focus { background: #4f46e5; color: #fff; }
.answer.abstained { border-left: 4px solid #d97706; background: rgba(245, 158, 11, .12);
  padding: .5em .8em; border-radius: .4em; }
.answer.abstained .abstain-headline { font-weight: 700; color: #b45309; }
.answer.abstained .abstain-headline::before { content: "∅ "; }
.answer.error { border-left: 4px solid #dc2626; background: rgba(220, 38, 38, .1);
  padding: .5em .8em; border-radius: .4em; }
.unsupported { text-decoration: underline dotted #9ca3af; text-underline-offset: 3px; }
.sources .source-card, .sources .passage-card { border: 1px solid var(--border-color-primary, #ddd);
  border-radius: .5em; padding: .55em .7em; margin: .45em 0; cursor: pointer; }
.sources .source-card:hover, .sources .passage-card:hover,
.sources .source-card:focus, .sources .passage-card:focus {
  border-color: var(--color-accent, #4f46e5);
  box-shadow: 0 0 0 2px var(--color-accent-soft, #e0e7ff); outline: none; }
.sources .source-card.active, .sources .passage-card.active {
  border-color: var(--color-accent, #4f46e5); }
.card-n { font-weight: 700; color: var(--color-accent, #4f46e5); }
.card-title { font-weight: 600; }
.card-meta { font-size: .8em; opacity: .7; margin: .15em 0; }
.card-also { margin-top: .3em; font-size: .85em; opacity: .8; }
.card-quote { margin: .3em 0 0 0; padding-left: .6em; border-left: 3px solid #facc15;
  font-size: .9em; }
.card-snippet { font-size: .85em; opacity: .85; }
.other-passages summary { cursor: pointer; margin-top: .6em; font-size: .9em; }
.hint { opacity: .7; font-size: .9em; }
#article-view .article-title { margin: 0 0 .2em 0; }
#article-view .article-meta, #article-view .article-label { font-size: .82em; opacity: .75; }
#article-view .article-text { white-space: pre-wrap; line-height: 1.55; max-height: 460px;
  overflow-y: auto; margin-top: .5em; padding-right: .4em; }
#article-view mark { background: #fde047; color: #111; padding: .05em .1em; border-radius: .2em;
  box-shadow: 0 0 0 2px #fde047; }
#article-view mark.passage { background: #bfdbfe; box-shadow: 0 0 0 2px #bfdbfe; }
.article-list ul { list-style: none; padding: 0; margin: 0; }
.article-row { display: flex; flex-wrap: wrap; gap: .3em .6em; align-items: baseline;
  padding: .35em 0; border-bottom: 1px solid var(--border-color-primary, #eee); }
.article-row .open-article { background: none; border: none; padding: 0; text-align: left;
  font-weight: 600; cursor: pointer; flex: 1 1 60%; color: inherit; }
.article-row .open-article:hover { text-decoration: underline; }
.article-row-meta { font-size: .78em; opacity: .7; }
.article-row .remove-article { font-size: .78em; border: 1px solid #dc2626; color: #dc2626;
  background: none; border-radius: .3em; padding: 0 .4em; cursor: pointer; }
.article-row .remove-article.armed { background: #dc2626; color: #fff; }
.trace table { font-size: .82em; border-collapse: collapse; width: 100%; }
.trace td, .trace th { border-bottom: 1px solid var(--border-color-primary, #eee);
  padding: .2em .4em;
  vertical-align: top; text-align: left; }
.trace .trace-snippet { max-width: 28em; }
"""

# Clicks on [n] links (inside the chat) and on cards (in the sources panel) are caught by one
# document-level listener installed by the sources component, which forwards them to Python.
_SOURCES_JS = """
const pick = (ev) => {
  const el = ev.target.closest('.citation-link, .source-card, .passage-card');
  if (!el) return null;
  let turn = el.dataset.turn, n = el.dataset.n, hit = el.dataset.hit;
  if (turn === undefined && el.getAttribute('href')) {
    const m = /#cite-(\\d+)-(\\d+)/.exec(el.getAttribute('href'));
    if (m) { turn = m[1]; n = m[2]; }
  }
  if (turn === undefined) return null;
  return {el, turn: Number(turn), n: n === undefined ? -1 : Number(n),
          hit: hit === undefined ? -1 : Number(hit)};
};
const send = (ev) => {
  const got = pick(ev);
  if (!got) return;
  ev.preventDefault();
  document.querySelectorAll('.source-card.active, .passage-card.active')
    .forEach((c) => c.classList.remove('active'));
  if (got.el.classList.contains('source-card') || got.el.classList.contains('passage-card')) {
    got.el.classList.add('active');
  }
  trigger('click', {turn: got.turn, n: got.n, hit: got.hit});
};
const onKey = (ev) => { if (ev.key === 'Enter' || ev.key === ' ') send(ev); };
if (window.__assistantCite) {
  document.removeEventListener('click', window.__assistantCite.click, true);
  document.removeEventListener('keydown', window.__assistantCite.key, true);
}
window.__assistantCite = {click: send, key: onKey};
document.addEventListener('click', send, true);
document.addEventListener('keydown', onKey, true);
"""

_ARTICLE_JS = """
const reveal = () => {
  const m = element.querySelector('mark');
  if (m) m.scrollIntoView({block: 'center', inline: 'nearest'});
};
watch('value', () => setTimeout(reveal, 30));
"""

_LIST_JS = """
element.addEventListener('click', (ev) => {
  const rm = ev.target.closest('.remove-article');
  if (rm) {
    ev.preventDefault();
    if (rm.classList.contains('armed')) {
      rm.textContent = 'Removing…';
      trigger('click', {remove: rm.dataset.id});
    } else {
      rm.classList.add('armed');
      rm.textContent = 'Click again to remove';
      setTimeout(() => { rm.classList.remove('armed'); rm.textContent = 'Remove'; }, 4000);
    }
    return;
  }
  const open = ev.target.closest('.open-article');
  if (open) { ev.preventDefault(); trigger('click', {open: open.dataset.id}); }
});
"""

_COPY_JS = """
(md) => {
  if (md && navigator.clipboard) { navigator.clipboard.writeText(md).catch(() => {}); }
  return md;
}
"""


def launch_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch` that the app needs (CSS, bind address, auth).

    Gradio 6 takes page CSS in `launch`, not in `Blocks`; tests that launch the app themselves
    use this too.

    Raises:
        ConfigError: `Settings.auth` is not 'user:password'.
    """
    auth = None
    if settings.auth:
        user, sep, password = settings.auth.partition(":")
        if not sep or not user or not password:
            raise ConfigError("ASSISTANT_AUTH must be 'user:password' (both non-empty)")
        auth = (user, password)
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": auth,
        "auth_message": "The news assistant needs a user name and password." if auth else None,
        "show_error": False,  # errors reach people as one line from AssistantError, not traces
        "css": _CSS,
        "ssr_mode": False,  # no Node server: plain Python serving
        # in bytes: Gradio's "20mb" strings allow no decimals and mean MiB, while
        # check_upload and the message count decimal MB
        "max_file_size": int(settings.max_upload_mb * 1_000_000),
        "footer_links": [],
        "quiet": False,
    }


def build_app(assistant: Assistant) -> gr.Blocks:
    """The chat app over `assistant`.

    Args:
        assistant: The assistant every session asks (models are shared, conversations are not).

    Returns:
        The Gradio Blocks app; launch it with `launch_options(assistant.settings)`.
    """
    import gradio as gr
    from gradio.utils import get_upload_folder

    settings = assistant.settings
    pool = _Assistants(assistant)
    upload_limit = settings.max_upload_mb

    def article_list() -> str:
        try:
            return render_article_list_html(assistant.articles())
        except AssistantError as exc:
            return f'<div class="article-list error"><p>⚠ {_esc(exc)}</p></div>'

    def ask(
        question: str,
        chat: list[dict[str, Any]],
        session: Session,
        choice: str,
        top_k: float,
        temperature: float,
    ) -> Iterator[tuple[Any, ...]]:
        question = (question or "").strip()
        if not question:
            yield (gr.skip(),) * 8
            return
        chat = [*chat, {"role": "user", "content": _esc(question)}]
        chat.append({"role": "assistant", "content": render_streaming_html("")})
        skip = gr.skip()
        yield "", chat, session, skip, skip, skip, skip, skip
        text = ""
        final: Answer | None = None
        try:
            chosen = pool.get(choice, temperature)
            for piece in chosen.stream(question, history=list(session.history), k=int(top_k)):
                if isinstance(piece, Answer):
                    final = piece
                else:
                    text += piece
                    chat[-1] = {"role": "assistant", "content": render_streaming_html(text)}
                    yield skip, chat, skip, skip, skip, skip, skip, skip
        except AssistantError as exc:
            chat[-1] = {"role": "assistant", "content": render_error_html(str(exc))}
            yield skip, chat, skip, skip, skip, skip, skip, skip
            return
        except Exception:
            log.exception("answering %r failed", question)
            chat[-1] = {
                "role": "assistant",
                "content": render_error_html("something went wrong; see the server log"),
            }
            yield skip, chat, skip, skip, skip, skip, skip, skip
            return
        if final is None:
            chat[-1] = {"role": "assistant", "content": render_error_html("no answer came back")}
            yield skip, chat, skip, skip, skip, skip, skip, skip
            return
        turn = session.add(question, final)
        page = render_answer_html(final, turn, min_relevance=settings.min_relevance)
        chat[-1] = {"role": "assistant", "content": page}
        yield (
            skip,
            chat,
            session,
            render_sources_html(final, turn),
            render_article_placeholder(),
            render_trace_html(final),
            answer_to_markdown(final),
            gr.Tabs(selected="sources-tab"),
        )

    def show_source(session: Session, evt: gr.EventData) -> tuple[Any, ...]:
        data = getattr(evt, "_data", None) or {}
        try:
            turn, n, hit = (
                int(data.get("turn", -1)),
                int(data.get("n", -1)),
                int(data.get("hit", -1)),
            )
        except (TypeError, ValueError):
            return render_article_placeholder("That link is not understood."), gr.skip()
        answer = session.answer(turn)
        if answer is None:
            return render_article_placeholder(
                "That answer is no longer kept; ask again."
            ), gr.skip()
        try:
            if n >= 0:
                cite = next((c for c in answer.citations if c.n == n), None)
                if cite is None:
                    return render_article_placeholder(f"The answer has no source [{n}]."), gr.skip()
                article = assistant.article(cite.article_id)
                span = locate_quote(article.text, cite.quote, cite.start, cite.end)
                label = (
                    f"Quote cited as [{n}]"
                    if span
                    else (f"The quote cited as [{n}] is no longer in this article (it changed).")
                )
                page = render_article_html(article, span, label=label, kind="quote")
            elif 0 <= hit < len(answer.hits):
                h = answer.hits[hit]
                article = assistant.article(h.chunk.article_id)
                span = locate_quote(article.text, h.chunk.text, h.chunk.start, h.chunk.end)
                page = render_article_html(
                    article, span, label="Retrieved passage (not cited)", kind="passage"
                )
            else:
                return render_article_placeholder("That passage is not known."), gr.skip()
        except AssistantError as exc:
            return render_article_placeholder(str(exc)), gr.skip()
        return page, gr.Tabs(selected="sources-tab")

    def upload(
        files: list[str] | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (how Gradio injects progress)
    ) -> tuple[Any, Any, Any]:
        paths = [Path(f) for f in (files or [])]
        if not paths:
            return gr.skip(), gr.skip(), gr.skip()
        lines: list[str] = []
        accepted: list[Path] = []
        for p in paths:
            problem = check_upload(p, upload_limit, roots=[Path(get_upload_folder())])
            if problem:
                lines.append(f'<li class="upload-error">✗ {_esc(problem)}</li>')
            else:
                accepted.append(p)
        for i, p in enumerate(accepted):
            progress((i, len(accepted)), desc=f"Ingesting {p.name}", unit="files")
            try:
                report = assistant.ingest([p])
            except AssistantError as exc:
                lines.append(f'<li class="upload-error">✗ {_esc(p.name)}: {_esc(exc)}</li>')
                continue
            except Exception:
                log.exception("ingesting %s failed", p)
                lines.append(
                    f'<li class="upload-error">✗ {_esc(p.name)}: could not be ingested; '
                    "see the server log</li>"
                )
                continue
            for err in report.errors:
                lines.append(
                    f'<li class="upload-error">✗ {_esc(_clean_error(err, [p.parent]))}</li>'
                )
            n_new, n_upd, n_same = len(report.added), len(report.updated), len(report.unchanged)
            if n_new or n_upd or n_same:
                what = ", ".join(
                    s
                    for s in (
                        f"{n_new} added" if n_new else "",
                        f"{n_upd} updated" if n_upd else "",
                        f"{n_same} unchanged" if n_same else "",
                    )
                    if s
                )
                lines.append(
                    f'<li class="upload-ok">✓ {_esc(p.name)}: {what} '
                    f"({report.chunks} passages, {report.seconds:.1f} s)</li>"
                )
        status = f'<ul class="upload-report">{"".join(lines)}</ul>'
        return status, article_list(), None

    def library_click(evt: gr.EventData) -> tuple[Any, ...]:
        data = getattr(evt, "_data", None) or {}
        if data.get("remove"):
            aid = str(data["remove"])
            try:
                removed = assistant.remove(aid)
            except AssistantError as exc:
                return f"<p>⚠ {_esc(exc)}</p>", article_list(), gr.skip(), gr.skip()
            msg = f"Removed {aid}." if removed else f"{aid} was not stored."
            return f'<p class="upload-ok">{_esc(msg)}</p>', article_list(), gr.skip(), gr.skip()
        if data.get("open"):
            try:
                article = assistant.article(str(data["open"]))
            except AssistantError as exc:
                return gr.skip(), gr.skip(), render_article_placeholder(str(exc)), gr.skip()
            return (
                gr.skip(),
                gr.skip(),
                render_article_html(article),
                gr.Tabs(selected="sources-tab"),
            )
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()

    def copied(text: str) -> None:
        if text:
            gr.Info("Answer and citations copied as Markdown.")
        else:
            gr.Warning("Nothing to copy yet: ask a question first.")

    def new_chat() -> tuple[Any, ...]:
        return (
            [],
            Session(),
            render_sources_html(None, 0),
            render_article_placeholder(),
            render_trace_html(None),
            "",
        )

    choices = model_choices(settings)
    default_choice = f"{settings.llm}:{settings.llm_model}"

    with gr.Blocks(title="News assistant", fill_width=True) as app:
        session = gr.State(Session())
        gr.Markdown(
            "## News assistant\nAnswers only from your articles — every claim links to the "
            "sentence that supports it.",
            elem_id="header",
        )
        with gr.Sidebar(label="Settings", open=False, position="right", elem_id="settings"):
            gr.Markdown("### Settings\nApply to your next question (this browser only).")
            model = gr.Dropdown(
                choices=choices,
                value=default_choice,
                label="Model",
                info="A model not used yet loads on its first question.",
                elem_id="setting-model",
            )
            top_k = gr.Slider(
                1,
                20,
                value=settings.top_k,
                step=1,
                label="Passages (top-k)",
                elem_id="setting-top-k",
            )
            temperature = gr.Slider(
                0.0,
                1.5,
                value=settings.temperature,
                step=0.1,
                label="Temperature",
                info="0 gives the same answer every time.",
                elem_id="setting-temperature",
            )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chat = gr.Chatbot(
                    value=[],
                    elem_id="chat",
                    label="Chat",
                    height=560,
                    sanitize_html=True,
                    render_markdown=True,
                    buttons=[],
                    feedback_options=None,
                    placeholder="Ask about the stored news articles, e.g. "
                    "<i>What tariff did Trump threaten?</i>",
                )
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="Ask a question about the articles…",
                        show_label=False,
                        elem_id="question",
                        scale=5,
                        lines=1,
                        max_lines=4,
                        autofocus=True,
                    )
                    ask_btn = gr.Button("Ask", variant="primary", elem_id="ask", scale=1)
                with gr.Row():
                    new_btn = gr.Button("New chat", size="sm", elem_id="new-chat")
                    copy_btn = gr.Button("Copy answer as Markdown", size="sm", elem_id="copy-md")
                with gr.Accordion("How this was answered", open=False, elem_id="trace-panel"):
                    trace = gr.HTML(render_trace_html(None), elem_id="trace", js_on_load=None)
                with gr.Accordion("Answer as Markdown", open=False, elem_id="markdown-panel"):
                    markdown = gr.Textbox(
                        value="",
                        show_label=False,
                        lines=6,
                        interactive=False,
                        buttons=["copy"],
                        elem_id="answer-markdown",
                    )
            with gr.Column(scale=2, min_width=340), gr.Tabs(selected="sources-tab") as tabs:
                with gr.Tab("Sources", id="sources-tab", elem_id="sources-tab"):
                    sources = gr.HTML(
                        render_sources_html(None, 0), elem_id="sources", js_on_load=_SOURCES_JS
                    )
                    article_view = gr.HTML(
                        render_article_placeholder(),
                        elem_id="article-view",
                        js_on_load=_ARTICLE_JS,
                    )
                with gr.Tab("Articles", id="articles-tab", elem_id="articles-tab"):
                    upload_box = gr.File(
                        label=f"Add articles (.txt .md .html .pdf .jsonl, up to "
                        f"{upload_limit:g} MB each)",
                        file_count="multiple",
                        file_types=list(UPLOAD_SUFFIXES),
                        elem_id="upload",
                    )
                    upload_status = gr.HTML("", elem_id="upload-status", js_on_load=None)
                    library = gr.HTML(
                        render_article_list_html([]),
                        elem_id="article-list",
                        js_on_load=_LIST_JS,
                    )

        # Gradio finds the EventData parameter by resolved type hint, but with postponed
        # annotations the hint is the string "gr.EventData" and `gr` is local to this function.
        show_source.__annotations__ = {"evt": gr.EventData}
        library_click.__annotations__ = {"evt": gr.EventData}
        outputs = [question, chat, session, sources, article_view, trace, markdown, tabs]
        limit = settings.max_queue  # the chain itself says 'busy' beyond this
        question.submit(
            ask,
            [question, chat, session, model, top_k, temperature],
            outputs,
            concurrency_limit=limit,
            concurrency_id="ask",
        )
        ask_btn.click(
            ask,
            [question, chat, session, model, top_k, temperature],
            outputs,
            concurrency_limit=limit,
            concurrency_id="ask",
        )
        sources.click(show_source, [session], [article_view, tabs], queue=False)
        upload_box.upload(
            upload,
            [upload_box],
            [upload_status, library, upload_box],
            concurrency_limit=1,
            concurrency_id="ingest",
        )
        library.click(
            library_click,
            None,
            [upload_status, library, article_view, tabs],
            concurrency_limit=1,
            concurrency_id="ingest",
        )
        new_btn.click(new_chat, None, [chat, session, sources, article_view, trace, markdown])
        chat.clear(new_chat, None, [chat, session, sources, article_view, trace, markdown])
        copy_btn.click(copied, [markdown], None, js=_COPY_JS)
        app.load(article_list, None, [library])
    return app


def _warm_up(assistant: Assistant) -> None:
    # Load the embedder, the store's lexical index and the local model while the page opens,
    # so the first question does not pay for them (measured: ~10 s on 2 cores).
    started = time.perf_counter()
    try:
        assistant.retrieve("warm up the retrieval models")
        if assistant.settings.llm == "local":
            assistant.chat_model.invoke("Reply with OK.", max_tokens=1)
    except Exception as exc:  # the first real question reports any problem properly
        log.warning("warm-up failed: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return
    log.info("models warm in %.1f s", time.perf_counter() - started)


def serve(assistant: Assistant) -> None:
    """Serve the chat on the configured host and port (blocks until stopped).

    Binds to `Settings.host` (127.0.0.1 unless set); asks for basic auth when `Settings.auth`
    is 'user:password'.
    """
    import os

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home
    options = launch_options(assistant.settings)
    app = build_app(assistant)
    threading.Thread(target=_warm_up, args=(assistant,), name="warm-up", daemon=True).start()
    app.queue(default_concurrency_limit=4)
    app.launch(**options)
