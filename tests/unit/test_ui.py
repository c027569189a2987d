"""The chat UI: pure rendering helpers (fast) and the app in a real browser over a fake."""

from __future__ import annotations

import html
import re
import socket
import time
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from assistant import ui
from assistant.config import Settings
from assistant.errors import BusyError, ConfigError, InputError
from assistant.store import ArticleInfo
from assistant.types import Answer, Article, Chunk, Citation, Hit, IngestReport

CHROMIUM = Path("/usr/bin/chromium")

# --- fakes -----------------------------------------------------------------------------------

TARIFF_SENTENCE = (
    "Trump, in turn, has threatened to impose an additional 100% tariff on Chinese products "
    "by Nov. 1 if Beijing does not pull back those restrictions."
)
HOSTILE_TITLE = '<img src=x onerror="window.__pwned=1">Tariffs & <b>trade</b>'
TARIFF_TEXT = (
    "President Donald Trump will look to sign critical minerals deals during his trip to Asia.\n"
    "China has unveiled tighter export controls on rare earths. <script>window.__pwned=2</script>\n"
    + TARIFF_SENTENCE
    + "\nHe has also moved to secure alternate sources for critical minerals.\n"
    + "Filler paragraph. " * 120
)


def tariff_article() -> Article:
    """A seed-like article with hostile markup in its title and text."""
    return Article(
        id="tariffs",
        title=HOSTILE_TITLE,
        text=TARIFF_TEXT,
        source="Bloomberg",
        url="javascript:alert(1)",
        published=date(2025, 10, 24),
    )


def _hit(article: Article, start: int, end: int, i: int, dense: float) -> Hit:
    return Hit(
        chunk=Chunk(
            id=f"{article.id}:{i}",
            article_id=article.id,
            index=i,
            text=article.text[start:end],
            start=start,
            end=end,
        ),
        score=1.0 / (60 + i),
        dense=dense,
        lexical=3.5 - i,
        title=article.title,
        source=article.source,
        published=article.published,
        url=article.url,
    )


def tariff_answer(question: str = "What tariff did Trump threaten?") -> Answer:
    """An answer citing the 100% sentence of `tariff_article()`, plus one uncited hit."""
    article = tariff_article()
    start = article.text.index(TARIFF_SENTENCE)
    end = start + len(TARIFF_SENTENCE)
    cited = _hit(article, start - 60, end, 0, 0.71)
    other = _hit(article, 0, 90, 1, 0.42)
    return Answer(
        question=question,
        text="Trump threatened an additional 100% tariff on Chinese products [1]. "
        "He also wants soybean purchases.",
        citations=[
            Citation(
                n=1,
                article_id=article.id,
                title=article.title,
                source=article.source,
                published=article.published,
                url=article.url,
                chunk_id=cited.chunk.id,
                quote=TARIFF_SENTENCE,
                start=start,
                end=end,
                score=0.93,
            )
        ],
        standalone_question=question,
        hits=[cited, other],
        model="fake-0.5b (local)",
        timings={
            "condense_ms": 0.1,
            "retrieve_ms": 12.0,
            "first_token_ms": 300.0,
            "generate_ms": 900.0,
            "total_ms": 1234.0,
        },
        settings_hash="abc123",
        unsupported=["He also wants soybean purchases."],
    )


def abstained_answer(question: str = "Who won the 2022 World Cup?") -> Answer:
    """The assistant's reply when the articles do not say."""
    article = tariff_article()
    return Answer(
        question=question,
        text="The articles do not say.",
        abstained=True,
        standalone_question=question,
        hits=[_hit(article, 0, 90, 0, 0.12)],
        model="fake-0.5b (local)",
        timings={"retrieve_ms": 10.0, "total_ms": 15.0},
    )


class FakeAssistant:
    """Answers from canned data with the `Assistant` methods the UI uses."""

    def __init__(
        self, settings: Settings | None = None, *, chat_model: Any = None, **_: Any
    ) -> None:
        self.settings = settings or Settings(data_dir=Path("/nonexistent"))
        self.embedder = object()
        self.prompts = object()
        self.chat_model = chat_model or _FakeChat()
        self.model_name = f"fake-{self.settings.llm_model} (local)"
        self.stored: dict[str, Article] = {"tariffs": tariff_article()}
        self.calls: list[dict[str, Any]] = []
        self.delay = 0.02

    def derive(self, **overrides: Any) -> FakeAssistant:
        other = FakeAssistant(self.settings.model_copy(update=overrides))
        other.stored = self.stored
        other.calls = self.calls
        return other

    def stream(
        self,
        question: str,
        history: list[tuple[str, str]] | None = None,
        *,
        k: int | None = None,
        **_: Any,
    ) -> Iterator[str | Answer]:
        self.calls.append(
            {
                "question": question,
                "history": list(history or []),
                "k": k,
                "model": self.settings.llm_model,
                "temperature": self.settings.temperature,
            }
        )
        if "busy" in question:
            raise BusyError("the assistant is busy (8 questions waiting, ASSISTANT_MAX_QUEUE)")
        if "crash" in question:
            raise RuntimeError("secret internal detail")
        for article in self.stored.values():
            if article.id != "tariffs" and article.id.lower() in question.lower():
                answer = self._answer_from(article, question)
                yield from self._pieces(answer.text)
                yield answer
                return
        if "tariff" in question.lower() or "it" in question.lower().split():
            answer = tariff_answer(question)
            yield from self._pieces(answer.text)
            yield answer
            return
        yield from self._pieces("I think France won")
        yield abstained_answer(question)

    def _pieces(self, text: str) -> Iterator[str]:
        for word in text.split(" "):
            time.sleep(self.delay)
            yield word + " "

    def _answer_from(self, article: Article, question: str) -> Answer:
        sentence = article.text.split("\n")[0]
        hit = _hit(article, 0, len(sentence), 0, 0.8)
        return Answer(
            question=question,
            text=f"{sentence} [1]",
            citations=[
                Citation(
                    n=1,
                    article_id=article.id,
                    title=article.title,
                    chunk_id=hit.chunk.id,
                    quote=sentence,
                    start=0,
                    end=len(sentence),
                    score=0.9,
                )
            ],
            hits=[hit],
            model=self.model_name,
            timings={"total_ms": 5.0},
        )

    def article(self, article_id: str) -> Article:
        if article_id not in self.stored:
            raise InputError(f"no article with id '{article_id}'")
        return self.stored[article_id]

    def articles(self) -> list[ArticleInfo]:
        return [
            ArticleInfo(
                id=a.id,
                title=a.title,
                source=a.source,
                published=a.published,
                url=a.url,
                chunks=3,
                sha256=a.sha256,
                chunking="s1",
            )
            for a in self.stored.values()
        ]

    def ingest(self, paths: list[str | Path], **_: Any) -> IngestReport:
        added, errors = [], []
        for p in map(Path, paths):
            text = p.read_text(encoding="utf-8", errors="replace").strip()
            if not text:
                errors.append(f"{p}: the file is empty")
                continue
            title = text.splitlines()[0][:80]
            self.stored[p.stem] = Article(id=p.stem, title=title, text=text)
            added.append(p.stem)
        return IngestReport(added=added, errors=errors, chunks=len(added), seconds=0.01)

    def remove(self, article_id: str) -> bool:
        return self.stored.pop(article_id, None) is not None


class _FakeChat:
    temperature = 0.0

    def model_copy(self, update: dict[str, Any]) -> _FakeChat:
        other = _FakeChat()
        other.temperature = update.get("temperature", self.temperature)
        return other


# --- tests ---


class _Tags(HTMLParser):
    """Collects start tags, to prove hostile markup never becomes an element."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(fragment: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(fragment)
    return parser.tags


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _assert_inert(fragment: str) -> None:
    tags = _tags(fragment)
    assert not [t for t, _ in tags if t in {"script", "img", "iframe"}], tags
    assert "<b>trade</b>" not in fragment  # the hostile title's markup stays text
    for _, attrs in tags:
        assert not [k for k in attrs if k.startswith("on")], attrs
        assert not str(attrs.get("href") or "").lower().startswith("javascript:"), attrs


# --- answer -----------------------------------------------------------------------------------


def test_answer_markers_become_citation_links() -> None:
    out = ui.render_answer_html(tariff_answer(), turn=4)
    links = [a for t, a in _tags(out) if t == "a"]
    assert links == [
        {
            "class": "citation-link",
            "href": "#cite-4-1",
            "data-turn": "4",
            "data-n": "1",
            "title": "Show the quote in its article",
        }
    ]
    assert 'class="answer final"' in out
    assert "100% tariff" in _text(out)
    assert "[1]" in _text(out)


def test_answer_marks_unsupported_sentences_and_leaves_unknown_markers_as_text() -> None:
    answer = tariff_answer().model_copy(
        update={"text": "A 100% tariff [1][7]. He also wants soybean purchases."}
    )
    out = ui.render_answer_html(answer, turn=0)
    assert out.count('class="citation-link"') == 1
    assert "[7]" in _text(out)
    assert re.search(
        r'<span class="unsupported"[^>]*>He also wants soybean purchases\.</span>', out
    )


def test_answer_text_from_the_model_is_escaped() -> None:
    answer = tariff_answer().model_copy(
        update={"text": 'It said <script>alert(1)</script> and <img src=x onerror="x()"> [1].'}
    )
    out = ui.render_answer_html(answer, turn=0)
    _assert_inert(out)
    assert "<script>alert(1)</script>" in _text(out)


def test_streaming_bubble_is_an_escaped_draft_without_links() -> None:
    assert "Searching the articles" in ui.render_streaming_html("  ")
    out = ui.render_streaming_html("A 100% tariff [1] <img src=x onerror=alert(1)>")
    _assert_inert(out)
    assert "citation-link" not in out
    assert '<div class="draft"><p>A 100% tariff [1] &lt;img' in out
    assert "Draft: citations are checked" in _text(out)


def test_abstention_has_its_own_style_and_no_links() -> None:
    out = ui.render_answer_html(abstained_answer(), turn=1, min_relevance=0.25)
    assert 'class="answer abstained"' in out
    assert "The articles don't say." in _text(out)
    assert "citation-link" not in out
    assert "relevance 0.12, needed 0.25" in _text(out)
    assert "France" not in out  # the streamed draft is never shown as an answer


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ({"hits": []}, "No stored article matches"),
        (
            {"hits": [], "standalone_question": "Who won the vote this week?"},
            "No stored article from the period this question asks about (the 7 days",
        ),
        ({"unsupported": ["France won."]}, "no retrieved passage supports it"),
        ({}, "None of the 1 passages retrieved answers this."),
    ],
)
def test_abstention_reason_says_why(update: dict[str, Any], expected: str) -> None:
    answer = abstained_answer().model_copy(update=update)
    assert expected in ui.abstention_reason(answer, min_relevance=0.1)


# --- sources and article view ----------------------------------------------------------------


def test_sources_panel_has_a_card_per_citation_and_uncited_passages_behind_a_toggle() -> None:
    out = ui.render_sources_html(tariff_answer(), turn=2)
    cards = [a for t, a in _tags(out) if "source-card" in str(a.get("class"))]
    assert [(c["data-turn"], c["data-n"]) for c in cards] == [("2", "1")]
    text = _text(out)
    assert "Bloomberg · 2025-10-24 · relevance 0.71 · support 0.93" in text
    assert f"“{TARIFF_SENTENCE}”" in text
    assert re.search(
        r"<details class=\"other-passages\"><summary>Other retrieved passages, "
        r"not cited \(1\)</summary><div class=\"passage-card\"[^>]*data-hit=\"1\"",
        out,
    )
    _assert_inert(out)
    assert HOSTILE_TITLE in text


def test_source_card_lists_the_other_outlets_of_a_wire_story() -> None:
    from assistant.types import Outlet

    outlets = [
        Outlet(article_id="w2", title="t", source="Yahoo <b>Finance</b>", url="https://y.com/a"),
        Outlet(
            article_id="w3",
            title="Wire copy",
            url="javascript:alert(1)",
            published=date(2025, 10, 25),
        ),
    ]
    base = tariff_answer()
    answer = base.model_copy(
        update={"citations": [base.citations[0].model_copy(update={"also_in": outlets})]}
    )
    out = ui.render_sources_html(answer, turn=1)
    assert "Also published by: Yahoo <b>Finance</b>, Wire copy (2025-10-25)" in _text(out)
    assert '<a href="https://y.com/a"' in out and "javascript:" not in out
    _assert_inert(out)
    md = ui.answer_to_markdown(answer)
    assert "Also published by: Yahoo <b>Finance</b>, Wire copy" in md


def test_sources_panel_for_an_abstention_offers_only_the_passages() -> None:
    out = ui.render_sources_html(abstained_answer(), turn=0)
    assert "source-card" not in out
    assert "No sources" in _text(out)
    assert "Retrieved passages, not cited (1)" in _text(out)


def test_article_view_marks_exactly_the_quote_and_escapes_everything() -> None:
    article = tariff_article()
    start = article.text.index(TARIFF_SENTENCE)
    span = (start, start + len(TARIFF_SENTENCE))
    out = ui.render_article_html(article, span, label="Quote cited as [1]")
    _assert_inert(out)
    marks = [a for t, a in _tags(out) if t == "mark"]
    assert marks == [{"id": "highlight", "class": "quote"}]
    body = out[out.index('<div class="article-text">') + len('<div class="article-text">') :]
    before, rest = body.split('<mark id="highlight" class="quote">', 1)
    inside, after = rest.split("</mark>", 1)
    assert html.unescape(before) == article.text[: span[0]]
    assert html.unescape(inside) == TARIFF_SENTENCE
    assert html.unescape(after.removesuffix("</div></article>")) == article.text[span[1] :]
    assert "&lt;script&gt;window.__pwned=2&lt;/script&gt;" in out
    assert "javascript:" not in out  # an unsafe URL is dropped, not linked


def test_article_view_links_only_web_urls() -> None:
    article = tariff_article().model_copy(update={"url": "https://example.com/a?b=1&c=2"})
    out = ui.render_article_html(article)
    assert '<a href="https://example.com/a?b=1&amp;c=2" target="_blank"' in out
    assert "<mark" not in out


def test_locate_quote_follows_a_moved_quote_and_refuses_a_missing_one() -> None:
    text = "abc The quote. xyz"
    assert ui.locate_quote(text, "The quote.", 4, 14) == (4, 14)
    assert ui.locate_quote("12" + text, "The quote.", 4, 14) == (6, 16)
    assert ui.locate_quote(text, "Gone.", 4, 14) is None
    assert ui.locate_quote(text, "", 4, 14) == (4, 14)
    assert ui.locate_quote(text, "", 4, 99) is None


# --- markdown, trace, library ----------------------------------------------------------------


def test_markdown_copy_keeps_markers_and_lists_sources_with_quotes() -> None:
    answer = tariff_answer().model_copy(
        update={
            "citations": [
                tariff_answer().citations[0].model_copy(update={"url": "https://ex.com/t"})
            ]
        }
    )
    md = ui.answer_to_markdown(answer)
    assert md.startswith("**Q:** What tariff did Trump threaten?\n\n")
    assert "Trump threatened an additional 100% tariff on Chinese products [1]." in md
    assert (
        f"[1] {HOSTILE_TITLE} (Bloomberg, 2025-10-24) <https://ex.com/t>\n> {TARIFF_SENTENCE}" in md
    )


def test_markdown_copy_of_an_abstention_says_so() -> None:
    md = ui.answer_to_markdown(abstained_answer())
    assert "_The articles don't say._" in md
    assert "[1]" not in md


def test_markdown_copy_drops_unsafe_urls() -> None:
    assert "javascript:" not in ui.answer_to_markdown(tariff_answer())


def test_trace_shows_standalone_question_passages_and_timings() -> None:
    answer = tariff_answer("why?").model_copy(
        update={"standalone_question": "Why did Trump threaten a 100% tariff?"}
    )
    out = ui.render_trace_html(answer)
    text = _text(out)
    assert "Standalone question: Why did Trump threaten a 100% tariff?" in text
    assert "rewritten into this standalone question" in text
    assert "first token300 ms" in text.replace("\n", "")
    assert "total1.2 s" in text
    rows = re.findall(r"<tr><td>(\d)</td>.*?</tr>", out, flags=re.S)
    assert rows == ["1", "2"]
    assert "<td>0.71</td><td>3.50</td><td>[1]</td>" in out
    _assert_inert(out)


def test_format_seconds() -> None:
    assert ui.format_seconds(None) == "–"
    assert ui.format_seconds(850.4) == "850 ms"
    assert ui.format_seconds(2430) == "2.4 s"


def test_article_list_escapes_titles_and_ids() -> None:
    infos = [
        *FakeAssistant().articles(),
        ArticleInfo(
            id='x"><script>',
            title="Plain",
            source=None,
            published=None,
            url=None,
            chunks=1,
            sha256="",
            chunking="s1",
        ),
    ]
    out = ui.render_article_list_html(infos)
    _assert_inert(out)
    ids = [a["data-id"] for t, a in _tags(out) if t == "li"]
    assert ids == ["tariffs", 'x"><script>']
    assert "2 articles" in _text(out)
    assert "No articles yet" in ui.render_article_list_html([])


@pytest.mark.parametrize(
    ("name", "size", "problem"),
    [
        ("a.txt", 10, None),
        ("A.PDF", 10, None),
        ("a.jsonl", 10, None),
        ("a.exe", 10, "a.exe: .exe files are not supported"),
        ("noext", 10, "noext: no extension files are not supported"),
        ("big.md", 1_200_000, "big.md: 1.2 MB is over the 1 MB limit (ASSISTANT_MAX_UPLOAD_MB)"),
        ("empty.txt", 0, "empty.txt: the file is empty"),
    ],
)
def test_check_upload(tmp_path: Path, name: str, size: int, problem: str | None) -> None:
    path = tmp_path / name
    path.write_bytes(b"x" * size)
    got = ui.check_upload(path, max_mb=1.0)
    assert got == problem if problem is None else (got or "").startswith(problem), got


# --- session, models, launch -----------------------------------------------------------------


def test_session_keeps_its_own_turns_and_drops_the_oldest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui.session, "MAX_TURNS_KEPT", 3)
    a, b = ui.Session(), ui.Session()
    turns = [a.add(f"q{i}", tariff_answer(f"q{i}")) for i in range(5)]
    assert turns == [0, 1, 2, 3, 4]
    assert a.answer(1) is None and a.answer(5) is None
    assert a.answer(4) is not None and a.answer(4).question == "q4"  # type: ignore[union-attr]
    assert [q for q, _ in a.history] == ["q2", "q3", "q4"]
    assert b.answers == [] and b.history == []


def test_model_choices_offer_local_models_and_the_configured_backend() -> None:
    local = ui.model_choices(Settings(data_dir=Path("/x")))
    assert [v for _, v in local] == ["local:default", "local:fast", "local:quality"]
    ollama = ui.model_choices(Settings(data_dir=Path("/x"), llm="ollama", llm_model="llama3.2"))
    assert ollama[-1] == ("llama3.2 (ollama)", "ollama:llama3.2")


def test_pool_reuses_the_base_and_derives_per_model_and_temperature() -> None:
    base = FakeAssistant(Settings(data_dir=Path("/x")))
    pool = ui._Assistants(base)  # type: ignore[arg-type]
    assert pool.get("local:default", 0.0) is base
    warm = pool.get("local:default", 0.7)
    assert warm is not base and warm.settings.temperature == 0.7
    # a copy of the loaded model with another temperature, not a new load
    assert warm.chat_model.temperature == 0.7  # type: ignore[attr-defined]
    assert pool.get("local:default", 0.7) is warm
    quality = pool.get("local:quality", 0.0)
    assert quality.settings.llm_model == "quality"
    for t in (0.1, 0.2, 0.3):
        pool.get("local:default", t)
    assert len(pool._pool) == ui.MAX_MODELS_LOADED
    with pytest.raises(ConfigError):
        pool.get("nonsense:x", 0.0)


def test_launch_options_bind_localhost_and_parse_auth() -> None:
    opts = ui.launch_options(Settings(data_dir=Path("/x")))
    assert opts["server_name"] == "127.0.0.1"
    assert opts["auth"] is None
    assert opts["show_error"] is False
    secured = ui.launch_options(Settings(data_dir=Path("/x"), auth="ann:s3:cret"))
    assert secured["auth"] == ("ann", "s3:cret")
    with pytest.raises(ConfigError, match="ASSISTANT_AUTH"):
        ui.launch_options(Settings(data_dir=Path("/x"), auth="nopassword"))


# --- the app in a browser, over the fake -------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def fake_app() -> Iterator[tuple[str, FakeAssistant]]:
    """The real Gradio app over a FakeAssistant, served in-process on a free port."""
    fake = FakeAssistant(Settings(data_dir=Path("/nonexistent"), port=_free_port()))
    app = ui.build_app(fake)  # type: ignore[arg-type]
    app.queue()
    options = ui.launch_options(fake.settings)
    app.launch(prevent_thread_lock=True, **{**options, "quiet": True})
    try:
        yield f"http://127.0.0.1:{fake.settings.port}/", fake
    finally:
        app.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("needs Debian chromium (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def _open(chromium: Any, url: str) -> tuple[Any, Any, list[str]]:
    context = chromium.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    def on_dialog(dialog: Any) -> None:
        problems.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(url)
    page.wait_for_selector("#question textarea", timeout=60_000)
    return context, page, problems


def _ask(page: Any, question: str, selector: str = ".answer.final") -> Any:
    before = page.locator(f"#chat {selector}").count()
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll('#chat ' + sel).length > n",
        arg=[selector, before],
        timeout=60_000,
    )
    return page.locator(f"#chat {selector}").last


@pytest.mark.browser
def test_browser_streams_links_highlights_and_stays_inert(fake_app: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    url, fake = fake_app
    context, page, problems = _open(chromium, url)
    fake.delay = 0.15
    page.fill("#question textarea", "What tariff did Trump threaten?")
    page.press("#question textarea", "Enter")
    expect(page.locator("#chat .answer.streaming")).to_contain_text("100%", timeout=30_000)
    fake.delay = 0.0
    answer = page.locator("#chat .answer.final").last
    expect(answer).to_contain_text("100% tariff", timeout=30_000)
    answer.locator(".citation-link").first.click()
    mark = page.locator("#article-view mark")
    expect(mark).to_have_text(TARIFF_SENTENCE)
    expect(mark).to_be_in_viewport()
    expect(page.locator("#article-view .article-title")).to_have_text(HOSTILE_TITLE)
    # the uncited passage, behind its toggle, opens with its own highlight
    page.locator("#sources details.other-passages summary").click()
    page.locator("#sources .passage-card").first.click()
    expect(page.locator("#article-view mark.passage")).to_be_visible()
    # the source card opens the quote again
    page.locator("#sources .source-card").first.click()
    expect(page.locator("#article-view mark.quote")).to_have_text(TARIFF_SENTENCE)
    page.locator("#trace-panel").get_by_text("How this was answered").click()
    expect(page.locator("#trace")).to_contain_text("first token")
    page.locator("#markdown-panel").get_by_text("Answer as Markdown").click()
    expect(page.locator("#answer-markdown textarea")).to_have_value(re.compile(r"> Trump, in turn"))
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator("#copy-md").click()
    expect(page.get_by_text("Answer and citations copied as Markdown.")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("**Q:** What tariff did Trump threaten?"), copied
    assert f"> {TARIFF_SENTENCE}" in copied
    assert page.evaluate("window.__pwned") is None
    assert not problems, problems
    context.close()


@pytest.mark.browser
def test_browser_sessions_keep_their_own_history(fake_app: Any, chromium: Any) -> None:
    url, fake = fake_app
    ctx_a, page_a, _ = _open(chromium, url)
    ctx_b, page_b, _ = _open(chromium, url)
    _ask(page_a, "What tariff did Trump threaten?")
    _ask(page_a, "why did he threaten it")
    _ask(page_b, "and it then?")
    calls = {c["question"]: c for c in fake.calls}
    assert [q for q, _ in calls["why did he threaten it"]["history"]] == [
        "What tariff did Trump threaten?"
    ]
    assert calls["and it then?"]["history"] == []
    # an old answer's link still opens that answer's citation
    page_a.locator("#chat .answer.final").first.locator(".citation-link").click()
    page_a.wait_for_selector("#article-view mark")
    # New chat forgets the history of this session only
    page_a.locator("#new-chat").click()
    page_a.wait_for_function("document.querySelectorAll('#chat .answer').length === 0")
    _ask(page_a, "it again?")
    assert calls["why did he threaten it"]["history"]
    assert fake.calls[-1]["history"] == []
    ctx_a.close()
    ctx_b.close()


@pytest.mark.browser
def test_browser_abstention_errors_and_settings(fake_app: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    url, fake = fake_app
    context, page, problems = _open(chromium, url)
    abstained = _ask(page, "Who won the 2022 World Cup?", ".answer.abstained")
    expect(abstained).to_contain_text("The articles don't say.")
    expect(abstained).not_to_contain_text("France")
    busy = _ask(page, "busy now?", ".answer.error")
    expect(busy).to_have_text(re.compile(r"the assistant is busy .*ASSISTANT_MAX_QUEUE"))
    crash = _ask(page, "crash now?", ".answer.error")
    expect(crash).to_contain_text("something went wrong")
    expect(page.locator("#chat")).not_to_contain_text("secret internal detail")
    expect(page.locator("#chat")).not_to_contain_text("Traceback")
    # the settings drawer: model and top-k reach the assistant for this session
    page.locator("#settings .toggle-button").click()
    page.locator("#setting-model input").click()
    page.get_by_role("option", name=re.compile("^quality")).click()
    page.locator("#setting-top-k input[type=number]").fill("7")
    page.locator("#setting-top-k input[type=number]").press("Enter")
    _ask(page, "What tariff now?")
    assert fake.calls[-1]["model"] == "quality"
    assert fake.calls[-1]["k"] == 7
    assert not problems, problems
    context.close()


@pytest.mark.browser
def test_browser_upload_lists_and_removes_articles(
    fake_app: Any, chromium: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    url, fake = fake_app
    context, page, problems = _open(chromium, url)
    doc = tmp_path / "zebra_crossings.txt"
    doc.write_text("The city painted 42 new zebra crossings in March.\n", encoding="utf-8")
    page.get_by_role("tab", name="Articles").click()
    page.set_input_files("#upload input[type=file]", str(doc))
    expect(page.locator("#upload-status .upload-ok")).to_contain_text(
        "zebra_crossings.txt: 1 added"
    )
    expect(page.locator("#article-list")).to_contain_text("42 new zebra crossings")
    answer = _ask(page, "What about zebra_crossings?")
    expect(answer).to_contain_text("42 new zebra crossings")
    # remove asks for a second click, then the article is gone from the list and the store
    page.get_by_role("tab", name="Articles").click()  # an answer switched to its sources
    remove = page.locator('#article-list .remove-article[data-id="zebra_crossings"]')
    remove.click()
    expect(remove).to_have_text("Click again to remove")
    remove.click()
    expect(page.locator("#article-list")).not_to_contain_text("zebra", timeout=10_000)
    assert "zebra_crossings" not in fake.stored
    # a file of the wrong type is refused with a clear message
    bad = tmp_path / "virus.exe"
    bad.write_bytes(b"MZ")
    page.set_input_files("#upload input[type=file]", str(bad))
    expect(page.get_by_text(re.compile(r"Invalid file type: virus\.exe"))).to_be_visible()
    assert not problems, problems
    context.close()


@pytest.mark.server
def test_basic_auth_from_settings_guards_the_app() -> None:
    import http.cookiejar
    import urllib.error
    import urllib.parse
    import urllib.request

    settings = Settings(data_dir=Path("/nonexistent"), port=_free_port(), auth="ann:s3cret")
    app = ui.build_app(FakeAssistant(settings))  # type: ignore[arg-type]
    app.queue()
    app.launch(prevent_thread_lock=True, **{**ui.launch_options(settings), "quiet": True})
    base = f"http://127.0.0.1:{settings.port}"
    jar = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )

    def status(path: str, form: dict[str, str] | None = None) -> int:
        data = urllib.parse.urlencode(form).encode() if form else None
        try:
            with jar.open(base + path, data=data, timeout=10) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    try:
        assert status("/config") == 401
        assert status("/login", {"username": "ann", "password": "wrong"}) == 400
        assert status("/login", {"username": "ann", "password": "s3cret"}) == 200
        assert status("/config") == 200
    finally:
        app.close()


class FakeWatchedAssistant:
    """A stand-in with the two calls `watch_store` makes (unit test of wiring)."""

    def __init__(self, revisions: list[str]) -> None:
        self.revisions = revisions
        self.warm_ups = 0
        self.store = self

    def revision(self) -> str:
        return self.revisions.pop(0) if len(self.revisions) > 1 else self.revisions[0]

    def retrieve(self, question: str) -> list[Hit]:
        self.warm_ups += 1
        if self.warm_ups == 1:
            raise ConfigError("store gone")  # logged; the watch goes on
        return []


def test_the_store_watch_warms_up_once_per_change_by_another_process() -> None:
    import threading

    fake = FakeWatchedAssistant(["a", "a", "b", "b", "c", "c", "c"])
    stop = threading.Event()
    watch = threading.Thread(target=ui.watch_store, args=(fake, stop, 0.01))
    watch.start()
    deadline = time.monotonic() + 10
    while len(fake.revisions) > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    stop.set()
    watch.join(5)
    assert not watch.is_alive()
    # the first look only notes the revision; a -> b fails and is tried again; then b -> c
    assert fake.warm_ups == 3
