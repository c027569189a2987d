"""Pure HTML rendering for the chat: answers, sources, the highlighted article, library, timeline.

Everything shown in the browser is built here as HTML from escaped text: article text, titles
and even model output may contain hostile markup, so nothing from them reaches the page
unescaped. No function here imports gradio or touches the store; each is unit-tested.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.types import Answer, Article, Citation, Hit, Outlet

if TYPE_CHECKING:
    from assistant.store import ArticleInfo
    from assistant.timeline import Timeline

ABSTAIN_HEADLINE = "The articles don't say."
_MARKER_RE = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_SNIPPET_CHARS = 280


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
    return (
        '<div class="trace">'
        f"<p><b>Question:</b> {_esc(answer.question)}</p>"
        f'<p><b>Standalone question:</b> <span class="standalone">{_esc(standalone)}</span></p>'
        f"{rewritten}"
        f"<p><b>Model:</b> {_esc(answer.model)} · <b>settings</b> {_esc(answer.settings_hash)}"
        f" · <b>outcome:</b> {'abstained' if answer.abstained else 'answered'}</p>"
        f'<h4>Timings</h4><table class="trace-timings">{_trace_timings(answer)}</table>'
        f"<h4>Retrieved passages ({len(answer.hits)})</h4>{_trace_passages(answer)}"
        f"{unsupported}</div>"
    )


def _trace_timings(answer: Answer) -> str:
    t = answer.timings
    timing_rows = [
        ("condense follow-up", t.get("condense_ms")),
        ("retrieve passages", t.get("retrieve_ms")),
        ("first token", t.get("first_token_ms")),
        ("generate", t.get("generate_ms")),
        ("verify citations", t.get("verify_ms")),
        ("total", t.get("total_ms")),
    ]
    return "".join(
        f"<tr><td>{name}</td><td>{format_seconds(ms)}</td></tr>"
        for name, ms in timing_rows
        if ms is not None
    )


def _trace_passages(answer: Answer) -> str:
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
    if not rows:
        return '<p class="hint">No passages were retrieved.</p>'
    return (
        '<table class="trace-hits"><thead><tr><th>#</th><th>article</th><th>fused</th>'
        "<th>cosine</th><th>BM25</th><th>cited</th><th>passage</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
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


def render_timeline_html(timeline: Timeline | None) -> str:
    """A story's timeline: one row per event (day, sentence, cited article), oldest first.

    Each row opens its article with the sentence highlighted (`data-article`, `data-start`,
    `data-end`: offsets into the article text).
    """
    if timeline is None:
        return (
            '<div class="timeline empty"><p class="hint">Name a story, e.g. <i>rare earth '
            "export controls</i>, to see its dated events across the articles.</p></div>"
        )
    if not timeline.events:
        return (
            f'<div class="timeline empty"><p class="hint">No dated events of '
            f"“{_esc(timeline.story)}” in the stored articles.</p></div>"
        )
    rows = []
    for event in timeline.events:
        c = event.citation
        when = _esc(event.day.isoformat())
        how = "" if event.dated_by == "text" else ' title="dated by its publication"'
        rows.append(
            f'<li class="timeline-event" data-article="{_esc(c.article_id)}" '
            f'data-start="{c.start}" data-end="{c.end}" tabindex="0" role="button">'
            f'<time datetime="{when}"{how}>{when}</time>'
            f'<span class="timeline-text">{_esc(event.text)}</span>'
            f'<span class="timeline-cite">{_esc(c.title)}'
            f"{' · ' if _meta_line(c.source, c.published) else ''}"
            f"{_meta_line(c.source, c.published)}</span>"
            f"{_also_in_html(c.also_in)}</li>"
        )
    return (
        f'<div class="timeline"><p class="article-count">{len(rows)} events of '
        f"“{_esc(timeline.story)}”, oldest first</p><ol>{''.join(rows)}</ol></div>"
    )
