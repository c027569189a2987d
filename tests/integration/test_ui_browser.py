"""The chat UI in a real browser: `assistant serve` over seeds/ with the local model, driven by
Debian's Chromium through Playwright (never a downloaded browser)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SEEDS

CHROMIUM = Path("/usr/bin/chromium")
ASSISTANT = ROOT / ".venv" / "bin" / "assistant"
DOCS = ROOT / "docs"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT_S = 240  # first start embeds the seeds and imports torch, chromadb and gradio
ANSWER_TIMEOUT_MS = 240_000  # the 0.5B model on 2 busy cores, first question loads it

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.server,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (make browser)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"assistant serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    pytest.fail(
        f"assistant serve did not answer on {url} in {timeout:.0f} s:\n{log.read_text()[-3000:]}"
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`assistant serve` on a free 127.0.0.1 port over a fresh store holding seeds/."""
    root = tmp_path_factory.mktemp("serve")
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(root / "store"),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    env.pop("ASSISTANT_AUTH", None)
    ingest = subprocess.run(
        [str(ASSISTANT), "ingest", str(SEEDS)],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ingest.returncode == 0, ingest.stderr
    port = _free_port()
    log = root / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(ASSISTANT), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_http(url, proc, log, START_TIMEOUT_S)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=BROWSER_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh browser session on the chat, with script errors and dialogs recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.problems = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda exc: pg.problems.append(f"pageerror: {exc}"))

    def on_dialog(dialog: Any) -> None:  # a script that runs alert() is a failure
        pg.problems.append(f"dialog: {dialog.message}")  # type: ignore[attr-defined]
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    pg.goto(server)
    pg.wait_for_selector("#question textarea", timeout=60_000)
    yield pg
    context.close()


def _ask(page: Any, question: str) -> dict[str, float]:
    """Type a question, press Enter, wait for the final answer; times as seen in the browser."""
    before = page.locator("#chat .answer.final, #chat .answer.abstained, #chat .answer.error")
    done_before = before.count()
    page.fill("#question textarea", question)
    started = time.perf_counter()
    page.press("#question textarea", "Enter")
    first_token = None
    deadline = started + ANSWER_TIMEOUT_MS / 1000
    # poll rather than wait_for_function so both moments are measured in one loop
    while time.perf_counter() < deadline:
        state = page.evaluate(
            """(n) => {
                const done = document.querySelectorAll(
                  '#chat .answer.final, #chat .answer.abstained, #chat .answer.error').length;
                const s = document.querySelector('#chat .answer.streaming .draft');
                return {done: done > n, streaming: !!s && s.innerText.trim().length > 0};
            }""",
            done_before,
        )
        now = time.perf_counter()
        if first_token is None and (state["streaming"] or state["done"]):
            first_token = now - started
        if state["done"]:
            return {
                "first_token_s": round(first_token or 0.0, 2),
                "answer_s": round(now - started, 2),
            }
        time.sleep(0.05)
    pytest.fail(f"no answer to {question!r} in {ANSWER_TIMEOUT_MS / 1000:.0f} s")


def _last_answer(page: Any) -> Any:
    return page.locator("#chat .answer.final, #chat .answer.abstained, #chat .answer.error").last


def _shot(page: Any, path: Path, *, keep_as: str | None = None) -> None:
    page.screenshot(path=str(path), full_page=True)
    if keep_as:
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS / keep_as)


def _record(tmp_path: Path, name: str, timings: dict[str, float]) -> None:
    line = json.dumps({"step": name, **timings})
    print(f"browser timing: {line}")
    with (tmp_path / "timings.jsonl").open("a", encoding="utf-8") as f:
        f.write(line + "\n")


@pytest.mark.timeout(900)
def test_answer_cites_and_highlights_the_quote(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    _shot(page, tmp_path / "0-empty.png")
    timings = _ask(page, "What tariff did Trump threaten?")
    _record(tmp_path, "tariff", timings)
    answer = _last_answer(page)
    text = answer.inner_text()
    assert "final" in (answer.get_attribute("class") or ""), text
    assert "100%" in text or "100 percent" in text, text
    _shot(page, tmp_path / "1-answer.png")

    link = answer.locator(".citation-link", has_text="[1]").first
    expect(link).to_be_visible()
    link.click()
    mark = page.locator("#article-view mark")
    expect(mark).to_be_visible(timeout=30_000)
    expect(mark).to_be_in_viewport(timeout=10_000)
    quote = mark.inner_text()
    assert quote.strip(), "the highlighted quote is empty"
    card_quote = page.locator("#sources .source-card").first.locator(".card-quote").inner_text()
    assert quote.strip() in card_quote, (quote, card_quote)
    assert "100%" in quote or "100 percent" in quote, quote
    expect(page.locator("#article-view .article-title")).to_contain_text("Trump")
    _shot(page, tmp_path / "2-article.png", keep_as="screenshot-answer.png")

    # a card opens the same quote; the trace shows the passages and timings
    page.locator("#sources .source-card").first.click()
    expect(page.locator("#article-view mark")).to_be_visible()
    page.locator("#trace-panel").get_by_text("How this was answered").click()
    expect(page.locator("#trace .trace-hits")).to_be_visible()
    expect(page.locator("#trace")).to_contain_text("What tariff did Trump threaten?")
    _shot(page, tmp_path / "3-trace.png")

    # a follow-up goes through the history: the trace shows the standalone rewrite
    timings = _ask(page, "By what date must Beijing back down?")
    _record(tmp_path, "follow-up", timings)
    followup = _last_answer(page)
    assert "error" not in (followup.get_attribute("class") or ""), followup.inner_text()
    expect(page.locator("#trace")).to_contain_text("By what date must Beijing back down?")
    assert page.locator("#trace .standalone").inner_text().strip()
    _shot(page, tmp_path / "3b-follow-up.png")
    assert not page.problems, page.problems  # type: ignore[attr-defined]


@pytest.mark.timeout(900)
def test_uploaded_article_can_be_asked_about(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    doc = tmp_path / "hobart_lighthouse_festival.txt"
    doc.write_text(
        "Hobart Lighthouse Festival draws record crowd\n\n"
        "HOBART — The Hobart Lighthouse Festival attracted 3,417 visitors on Saturday, "
        "organisers said, a record for the event. The festival's lantern parade was led by "
        "harbour master Ingrid Vasquez.\n",
        encoding="utf-8",
    )
    page.get_by_role("tab", name="Articles").click()
    page.set_input_files("#upload input[type=file]", str(doc))
    expect(page.locator("#upload-status .upload-ok")).to_contain_text(
        "hobart_lighthouse_festival.txt", timeout=120_000
    )
    expect(page.locator("#article-list")).to_contain_text("Hobart Lighthouse Festival")
    _shot(page, tmp_path / "4-uploaded.png", keep_as="screenshot-upload.png")

    timings = _ask(page, "How many visitors did the Hobart Lighthouse Festival attract?")
    _record(tmp_path, "upload", timings)
    text = _last_answer(page).inner_text()
    assert "3,417" in text or "3417" in text, text
    page.locator("#chat .citation-link").last.click()
    mark = page.locator("#article-view mark")
    expect(mark).to_be_visible(timeout=30_000)
    expect(page.locator("#article-view .article-title")).to_contain_text("Hobart")
    _shot(page, tmp_path / "5-upload-answer.png")
    assert not page.problems, page.problems  # type: ignore[attr-defined]


@pytest.mark.timeout(900)
def test_unanswerable_question_is_shown_as_abstention(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    timings = _ask(page, "Who won the 2022 World Cup?")
    _record(tmp_path, "abstain", timings)
    answer = _last_answer(page)
    expect(answer).to_have_class(re.compile(r"\babstained\b"))
    expect(answer).to_contain_text("The articles don't say")
    assert answer.locator(".citation-link").count() == 0
    expect(page.locator("#sources")).to_contain_text("No sources")
    _shot(page, tmp_path / "6-abstain.png", keep_as="screenshot-abstain.png")
    assert not page.problems, page.problems  # type: ignore[attr-defined]
