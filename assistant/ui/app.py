"""The Gradio app: `build_app` composes the page from its sections (`assistant.api` serves it).

The page has a chat (streamed tokens, then the verified answer with `[n]` links), a sources
panel (one card per citation, uncited passages behind a toggle), an article view that shows the
cited quote highlighted in its article, an article library (upload, list, remove), a story
timeline, a settings drawer (model, top-k, temperature) and a "how this was answered" view.

Each section is a layout function (it creates the components) and a wiring function (it binds
their events to handlers). The HTML comes from `render`, the CSS and JS from `static/`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError, ConfigError
from assistant.types import Answer, IngestReport
from assistant.ui.render import (
    _esc,
    answer_to_markdown,
    locate_quote,
    render_answer_html,
    render_article_html,
    render_article_list_html,
    render_article_placeholder,
    render_error_html,
    render_sources_html,
    render_streaming_html,
    render_timeline_html,
    render_trace_html,
)
from assistant.ui.session import Session, _Assistants, model_choices
from assistant.ui.uploads import UPLOAD_SUFFIXES, _clean_error, check_upload, url_report_lines

if TYPE_CHECKING:
    import gradio as gr

    from assistant.chain import Assistant
    from assistant.config import Settings

log = logging.getLogger(__name__)


@cache
def static_text(name: str) -> str:
    """A file of `assistant/ui/static/` (CSS or JS), read once; shipped inside the wheel."""
    return (files("assistant.ui") / "static" / name).read_text(encoding="utf-8")


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
        "css": static_text("app.css"),
        "ssr_mode": False,  # no Node server: plain Python serving
        # in bytes: Gradio's "20mb" strings allow no decimals and mean MiB, while
        # check_upload and the message count decimal MB
        "max_file_size": int(settings.max_upload_mb * 1_000_000),
        "footer_links": [],
        "quiet": False,
    }


# --- layout: the components of each section ---------------------------------------------------


@dataclass
class _Page:
    """The page's components, created by the layout functions and wired by the others."""

    session: Any
    model: Any
    top_k: Any
    temperature: Any
    chat: Any
    question: Any
    ask_btn: Any
    new_btn: Any
    copy_btn: Any
    trace: Any
    markdown: Any
    tabs: Any
    sources: Any
    article_view: Any
    upload_box: Any
    url_box: Any
    upload_status: Any
    library: Any
    story: Any
    timeline_btn: Any
    timeline: Any


def _settings_section(settings: Settings) -> dict[str, Any]:
    """The settings drawer: model, top-k and temperature for this browser's next questions."""
    import gradio as gr

    with gr.Sidebar(label="Settings", open=False, position="right", elem_id="settings"):
        gr.Markdown("### Settings\nApply to your next question (this browser only).")
        model = gr.Dropdown(
            choices=model_choices(settings),
            value=f"{settings.llm}:{settings.llm_model}",
            label="Model",
            info="A model not used yet loads on its first question.",
            elem_id="setting-model",
        )
        top_k = gr.Slider(
            1, 20, value=settings.top_k, step=1, label="Passages (top-k)", elem_id="setting-top-k"
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
    return {"model": model, "top_k": top_k, "temperature": temperature}


def _chat_section() -> dict[str, Any]:
    """The chat column: messages, the question box, its buttons, the trace and Markdown panels."""
    import gradio as gr

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
    return {
        "chat": chat,
        "question": question,
        "ask_btn": ask_btn,
        "new_btn": new_btn,
        "copy_btn": copy_btn,
        "trace": trace,
        "markdown": markdown,
    }


def _sources_section() -> dict[str, Any]:
    """The sources tab: the source cards, and under them the article view with the quote."""
    import gradio as gr

    sources = gr.HTML(
        render_sources_html(None, 0), elem_id="sources", js_on_load=static_text("sources.js")
    )
    article_view = gr.HTML(
        render_article_placeholder(), elem_id="article-view", js_on_load=static_text("article.js")
    )
    return {"sources": sources, "article_view": article_view}


def _library_section(upload_limit: float) -> dict[str, Any]:
    """The articles tab: upload box, upload report and the list of stored articles."""
    import gradio as gr

    upload_box = gr.File(
        label=f"Add articles (.txt .md .html .pdf .jsonl, up to {upload_limit:g} MB each)",
        file_count="multiple",
        file_types=list(UPLOAD_SUFFIXES),
        elem_id="upload",
    )
    url_box = gr.Textbox(
        label="Add a URL or feed",
        placeholder="https://… an article page, or an RSS/Atom feed to follow",
        max_lines=1,
        submit_btn="Add",
        elem_id="add-url",
    )
    upload_status = gr.HTML("", elem_id="upload-status", js_on_load=None)
    library = gr.HTML(
        render_article_list_html([]), elem_id="article-list", js_on_load=static_text("library.js")
    )
    return {
        "upload_box": upload_box,
        "url_box": url_box,
        "upload_status": upload_status,
        "library": library,
    }


def _timeline_section() -> dict[str, Any]:
    """The timeline tab: a story, and its dated, cited events across the articles."""
    import gradio as gr

    with gr.Row():
        story = gr.Textbox(
            placeholder="A story, e.g. rare earth export controls",
            show_label=False,
            elem_id="story",
            scale=4,
            lines=1,
        )
        timeline_btn = gr.Button("Timeline", elem_id="timeline-btn", scale=1)
    timeline = gr.HTML(
        render_timeline_html(None), elem_id="timeline", js_on_load=static_text("timeline.js")
    )
    return {"story": story, "timeline_btn": timeline_btn, "timeline": timeline}


def _layout(settings: Settings) -> _Page:
    """The whole page inside the current `gr.Blocks`: header, drawer, chat and side tabs."""
    import gradio as gr

    session = gr.State(Session())
    gr.Markdown(
        "## News assistant\nAnswers only from your articles — every claim links to the "
        "sentence that supports it.",
        elem_id="header",
    )
    drawer = _settings_section(settings)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            chat = _chat_section()
        with gr.Column(scale=2, min_width=340), gr.Tabs(selected="sources-tab") as tabs:
            with gr.Tab("Sources", id="sources-tab", elem_id="sources-tab"):
                sources = _sources_section()
            with gr.Tab("Articles", id="articles-tab", elem_id="articles-tab"):
                library = _library_section(settings.max_upload_mb)
            with gr.Tab("Timeline", id="timeline-tab", elem_id="timeline-tab"):
                timeline = _timeline_section()
    return _Page(session=session, tabs=tabs, **drawer, **chat, **sources, **library, **timeline)


# --- handlers: what each event does ---------------------------------------------------------


def _ask_updates(
    pool: _Assistants,
    settings: Settings,
    question: str,
    chat: list[dict[str, Any]],
    session: Session,
    options: tuple[str, float, float],
) -> Iterator[tuple[Any, ...]]:
    """Updates of (question, chat, session, sources, article view, trace, markdown, tabs)
    while an answer streams in, then the verified answer in every panel."""
    import gradio as gr

    skip = gr.skip()
    chat = [*chat, {"role": "user", "content": _esc(question)}]
    chat.append({"role": "assistant", "content": render_streaming_html("")})

    def bubble(content: str) -> tuple[Any, ...]:
        chat[-1] = {"role": "assistant", "content": content}
        return skip, chat, skip, skip, skip, skip, skip, skip

    yield "", chat, session, skip, skip, skip, skip, skip
    choice, top_k, temperature = options
    text, final = "", None
    try:
        chosen = pool.get(choice, temperature)
        for piece in chosen.stream(question, history=list(session.history), k=int(top_k)):
            if isinstance(piece, Answer):
                final = piece
            else:
                text += piece
                yield bubble(render_streaming_html(text))
    except AssistantError as exc:
        yield bubble(render_error_html(str(exc)))
        return
    except Exception:
        log.exception("answering %r failed", question)
        yield bubble(render_error_html("something went wrong; see the server log"))
        return
    if final is None:
        yield bubble(render_error_html("no answer came back"))
        return
    turn = session.add(question, final)
    chat[-1] = {
        "role": "assistant",
        "content": render_answer_html(final, turn, min_relevance=settings.min_relevance),
    }
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


def _source_page(
    assistant: Assistant, session: Session, turn: int, n: int, hit: int
) -> tuple[str, bool]:
    """The article view for a click on citation `n` or retrieved passage `hit` of answer `turn`
    (-1 when not given), and whether it shows an article (else a one-line placeholder)."""
    answer = session.answer(turn)
    if answer is None:
        return render_article_placeholder("That answer is no longer kept; ask again."), False
    if n >= 0:
        cite = next((c for c in answer.citations if c.n == n), None)
        if cite is None:
            return render_article_placeholder(f"The answer has no source [{n}]."), False
        article = assistant.article(cite.article_id)
        span = locate_quote(article.text, cite.quote, cite.start, cite.end)
        label = (
            f"Quote cited as [{n}]"
            if span
            else (f"The quote cited as [{n}] is no longer in this article (it changed).")
        )
        return render_article_html(article, span, label=label, kind="quote"), True
    if 0 <= hit < len(answer.hits):
        h = answer.hits[hit]
        article = assistant.article(h.chunk.article_id)
        span = locate_quote(article.text, h.chunk.text, h.chunk.start, h.chunk.end)
        label = "Retrieved passage (not cited)"
        return render_article_html(article, span, label=label, kind="passage"), True
    return render_article_placeholder("That passage is not known."), False


def _report_line(path: Path, report: IngestReport) -> list[str]:
    """The upload report's lines for one ingested file: its errors, then what it added."""
    lines = [
        f'<li class="upload-error">✗ {_esc(_clean_error(err, [path.parent]))}</li>'
        for err in report.errors
    ]
    counts = (
        (len(report.added), "added"),
        (len(report.updated), "updated"),
        (len(report.unchanged), "unchanged"),
    )
    what = ", ".join(f"{count} {word}" for count, word in counts if count)
    if what:
        lines.append(
            f'<li class="upload-ok">✓ {_esc(path.name)}: {what} '
            f"({report.chunks} passages, {report.seconds:.1f} s)</li>"
        )
    return lines


def _ingest_uploads(
    assistant: Assistant, paths: list[Path], roots: list[Path], progress: Any
) -> str:
    """Check and ingest uploaded files one by one; the upload report as HTML."""
    lines: list[str] = []
    accepted: list[Path] = []
    for p in paths:
        problem = check_upload(p, assistant.settings.max_upload_mb, roots=roots)
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
        lines += _report_line(p, report)
    return f'<ul class="upload-report">{"".join(lines)}</ul>'


def _ingest_url(assistant: Assistant, url: str) -> str:
    """Ingest an article page, or follow a feed and ingest its entries; the report as HTML."""
    from assistant.feeds import add_url

    try:
        lines = url_report_lines(url, add_url(assistant, url))
    except AssistantError as exc:
        lines = [f'<li class="upload-error">✗ {_esc(exc)}</li>']
    except Exception:
        log.exception("adding %s failed", url)
        lines = [
            f'<li class="upload-error">✗ {_esc(url)}: could not be added; see the server log</li>'
        ]
    return f'<ul class="upload-report">{"".join(lines)}</ul>'


# --- wiring: each section's events ----------------------------------------------------------


def _wire_chat(page: _Page, assistant: Assistant) -> None:
    """Ask (button or Enter), new chat, clear and copy-as-Markdown."""
    import gradio as gr

    pool = _Assistants(assistant)
    settings = assistant.settings

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
        options = (choice, top_k, temperature)
        yield from _ask_updates(pool, settings, question, chat, session, options)

    def new_chat() -> tuple[Any, ...]:
        return (
            [],
            Session(),
            render_sources_html(None, 0),
            render_article_placeholder(),
            render_trace_html(None),
            "",
        )

    def copied(text: str) -> None:
        if text:
            gr.Info("Answer and citations copied as Markdown.")
        else:
            gr.Warning("Nothing to copy yet: ask a question first.")

    p = page
    inputs = [p.question, p.chat, p.session, p.model, p.top_k, p.temperature]
    outputs = [p.question, p.chat, p.session, p.sources, p.article_view, p.trace, p.markdown]
    limit = settings.max_queue  # the chain itself says 'busy' beyond this
    for trigger in (p.question.submit, p.ask_btn.click):
        trigger(ask, inputs, [*outputs, p.tabs], concurrency_limit=limit, concurrency_id="ask")
    cleared = [p.chat, p.session, p.sources, p.article_view, p.trace, p.markdown]
    p.new_btn.click(new_chat, None, cleared)
    p.chat.clear(new_chat, None, cleared)
    p.copy_btn.click(copied, [p.markdown], None, js=static_text("copy.js"))


def _wire_sources(page: _Page, assistant: Assistant) -> None:
    """A click on `[n]` or a card opens the article view on the quote or passage."""
    import gradio as gr

    def show_source(session: Session, evt: gr.EventData) -> tuple[Any, ...]:
        data = getattr(evt, "_data", None) or {}
        try:
            turn, n, hit = (int(data.get(key, -1)) for key in ("turn", "n", "hit"))
        except (TypeError, ValueError):
            return render_article_placeholder("That link is not understood."), gr.skip()
        try:
            shown, opened = _source_page(assistant, session, turn, n, hit)
        except AssistantError as exc:
            return render_article_placeholder(str(exc)), gr.skip()
        return shown, gr.Tabs(selected="sources-tab") if opened else gr.skip()

    # Gradio finds the EventData parameter by resolved type hint, but with postponed
    # annotations the hint is the string "gr.EventData" and `gr` is local to this function.
    show_source.__annotations__ = {"evt": gr.EventData}
    page.sources.click(show_source, [page.session], [page.article_view, page.tabs], queue=False)


def _wire_library(page: _Page, assistant: Assistant, app: gr.Blocks) -> None:
    """Upload, open and remove articles; the list loads with the page."""
    import gradio as gr
    from gradio.utils import get_upload_folder

    def article_list() -> str:
        try:
            return render_article_list_html(assistant.articles())
        except AssistantError as exc:
            return f'<div class="article-list error"><p>⚠ {_esc(exc)}</p></div>'

    def upload(
        files: list[str] | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (how Gradio injects progress)
    ) -> tuple[Any, Any, Any]:
        paths = [Path(f) for f in (files or [])]
        if not paths:
            return gr.skip(), gr.skip(), gr.skip()
        roots = [Path(get_upload_folder())]
        return _ingest_uploads(assistant, paths, roots, progress), article_list(), None

    def add_url(url: str) -> tuple[Any, Any, Any]:
        if not url.strip():
            return gr.skip(), gr.skip(), gr.skip()
        return _ingest_url(assistant, url.strip()), article_list(), ""

    def library_click(evt: gr.EventData) -> tuple[Any, ...]:
        data = getattr(evt, "_data", None) or {}
        skip = gr.skip()
        if data.get("remove"):
            aid = str(data["remove"])
            try:
                removed = assistant.remove(aid)
            except AssistantError as exc:
                return f"<p>⚠ {_esc(exc)}</p>", article_list(), skip, skip
            msg = f"Removed {aid}." if removed else f"{aid} was not stored."
            return f'<p class="upload-ok">{_esc(msg)}</p>', article_list(), skip, skip
        if data.get("open"):
            try:
                article = assistant.article(str(data["open"]))
            except AssistantError as exc:
                return skip, skip, render_article_placeholder(str(exc)), skip
            return skip, skip, render_article_html(article), gr.Tabs(selected="sources-tab")
        return skip, skip, skip, skip

    library_click.__annotations__ = {"evt": gr.EventData}  # see _wire_sources
    p = page
    p.upload_box.upload(
        upload,
        [p.upload_box],
        [p.upload_status, p.library, p.upload_box],
        concurrency_limit=1,
        concurrency_id="ingest",
    )
    p.url_box.submit(
        add_url,
        [p.url_box],
        [p.upload_status, p.library, p.url_box],
        concurrency_limit=1,
        concurrency_id="ingest",
    )
    p.library.click(
        library_click,
        None,
        [p.upload_status, p.library, p.article_view, p.tabs],
        concurrency_limit=1,
        concurrency_id="ingest",
    )
    app.load(article_list, None, [p.library])


def _timeline_page(assistant: Assistant, story: str) -> str:
    """The timeline tab's HTML for `story` (one line when it cannot be built)."""
    from assistant.timeline import story_timeline

    story = (story or "").strip()
    if not story:
        return render_timeline_html(None)
    try:
        return render_timeline_html(story_timeline(assistant, story))
    except AssistantError as exc:
        return render_error_html(str(exc))
    except Exception:
        log.exception("the timeline of %r failed", story)
        return render_error_html("something went wrong; see the server log")


def _timeline_article(assistant: Assistant, data: dict[str, Any]) -> str:
    """The article view for a click on a timeline event, its sentence highlighted."""
    try:
        article = assistant.article(str(data.get("article", "")))
        start, end = int(data.get("start", -1)), int(data.get("end", -1))
    except AssistantError as exc:
        return render_article_placeholder(str(exc))
    except (TypeError, ValueError):
        return render_article_placeholder("That event is not understood.")
    span = (start, end) if 0 <= start < end <= len(article.text) else None
    return render_article_html(article, span, label="Event of the timeline", kind="quote")


def _wire_timeline(page: _Page, assistant: Assistant) -> None:
    """Build a story's timeline; a click on an event opens its article on the sentence."""
    import gradio as gr

    def build(story: str) -> str:
        return _timeline_page(assistant, story)

    def open_event(evt: gr.EventData) -> tuple[Any, Any]:
        data = getattr(evt, "_data", None) or {}
        return _timeline_article(assistant, data), gr.Tabs(selected="sources-tab")

    open_event.__annotations__ = {"evt": gr.EventData}  # see _wire_sources
    p = page
    for trigger in (p.story.submit, p.timeline_btn.click):
        trigger(build, [p.story], [p.timeline], concurrency_limit=2, concurrency_id="timeline")
    p.timeline.click(open_event, None, [p.article_view, p.tabs], queue=False)


def build_app(assistant: Assistant) -> gr.Blocks:
    """The chat app over `assistant`.

    Args:
        assistant: The assistant every session asks (models are shared, conversations are not).

    Returns:
        The Gradio Blocks app; launch it with `launch_options(assistant.settings)`.
    """
    import gradio as gr

    with gr.Blocks(title="News assistant", fill_width=True) as app:
        page = _layout(assistant.settings)
        _wire_chat(page, assistant)
        _wire_sources(page, assistant)
        _wire_library(page, assistant, app)
        _wire_timeline(page, assistant)
    return app


WARM_UP_QUESTION = "warm up the retrieval models"


def _first_line(exc: Exception) -> object:
    return str(exc).splitlines()[0] if str(exc) else exc


def warm_up(assistant: Assistant) -> None:
    """Load the embedder, the store's lexical index and the local model (run in a thread while
    the page opens), so the first question does not pay for them (~10 s on 2 cores)."""
    started = time.perf_counter()
    try:
        assistant.retrieve(WARM_UP_QUESTION)
        if assistant.settings.llm == "local":
            assistant.chat_model.invoke("Reply with OK.", max_tokens=1)
    except Exception as exc:  # the first real question reports any problem properly
        log.warning("warm-up failed: %s", _first_line(exc))
        return
    log.info("models warm in %.1f s", time.perf_counter() - started)


def watch_store(assistant: Assistant, stop: threading.Event, interval: float = 2.0) -> None:
    """Until `stop` is set, look every `interval` seconds whether another process (a CLI
    ingest or remove) changed the store, and if so open it afresh and catch the indexes up
    with a warm-up query, so the next question pays none of that (about 0.5 s at 100k chunks
    for the reopen alone)."""
    seen: str | None = None
    while not stop.wait(interval):
        try:
            rev = assistant.store.revision()
            if seen is not None and rev != seen:
                assistant.retrieve(WARM_UP_QUESTION)
            seen = rev
        except Exception as exc:  # the next question reports any problem properly
            log.warning("store watch: %s", _first_line(exc))
