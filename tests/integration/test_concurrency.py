"""Several people at once: own answers and citations, ingest while answering, a bounded queue.

The queue tests use a fake chat model that holds every call until the test lets it go, so
"two questions are inside the model" is a fact rather than a race; the other tests use the real
MiniLM, Chroma and the local 0.5B model, and real Gradio sessions over HTTP.
"""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from assistant import ui
from assistant.chain import Assistant
from assistant.config import Settings
from assistant.errors import AssistantError, BusyError
from assistant.types import Answer
from tests.conftest import WIRING_MODEL

pytestmark = pytest.mark.integration

FERRY = (
    "Lisbon night ferry carries record crowd\n\n"
    "LISBON — The Lisbon night ferry carried 3,417 passengers across the Tagus on Saturday, "
    "the operator Transtejo said, a record for the service. The ferry left Cais do Sodre at "
    "23:40 and reached Cacilhas twelve minutes later.\n"
)
ZEBRA = (
    "Ostend paints new zebra crossings\n\n"
    "OSTEND — The city of Ostend painted 42 new zebra crossings near schools in March, the "
    "mayor's office said. The crossings cost 96,000 euros in total.\n"
)
LIGHTHOUSE = (
    "Hobart lighthouse festival\n\n"
    "HOBART — The Hobart lighthouse festival opened on Friday with a lantern parade led by "
    "harbour master Ingrid Vasquez. Organisers expect 12,000 visitors over the weekend.\n"
)
# Questions no stored article is close to: the assistant abstains before asking the model.
OFF_TOPIC = [
    "Who won the 2022 World Cup?",
    "What is the boiling point of mercury?",
    "Which band headlined Glastonbury in 1997?",
    "How tall is Mount Kilimanjaro?",
    "Who wrote the novel Middlemarch?",
    "What is the capital of Mongolia?",
]


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# --- fakes for the queue ---------------------------------------------------------------------


class FakeWordEmbedder:
    """Bag-of-words vectors: texts sharing words are close, so retrieval works without MiniLM."""

    model_id = "fake-words"

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        rows = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in zip(rows, texts, strict=True):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                row[int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1.0
            row /= np.linalg.norm(row) or 1.0
        return rows

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


class FakeGateChat(BaseChatModel):
    """A chat model that holds every call until `gate` is set, counting who is inside."""

    reply: str = "The Lisbon night ferry carried 3,417 passengers on Saturday [1]."
    fail: bool = False
    _gate: threading.Event = PrivateAttr(default_factory=threading.Event)
    _inside: threading.Semaphore = PrivateAttr(default_factory=lambda: threading.Semaphore(0))

    @property
    def _llm_type(self) -> str:
        return "fake-gate"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **_: Any
    ) -> ChatResult:
        self._inside.release()
        assert self._gate.wait(timeout=60), "the test never opened the gate"
        if self.fail:
            raise RuntimeError("the fake model failed")
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.reply))])

    def wait_inside(self, n: int) -> None:
        for _ in range(n):
            assert self._inside.acquire(timeout=30), "a question never reached the model"

    def open(self) -> None:
        self._gate.set()


@pytest.fixture
def fake_assistant(tmp_path: Path) -> Iterator[Any]:
    """An Assistant over a real Chroma store with fake embeddings and a gated fake model."""

    def make(max_queue: int, chat: FakeGateChat | None = None) -> Assistant:
        settings = Settings(data_dir=tmp_path / "store", max_queue=max_queue, min_relevance=0.1)
        embedder: Any = FakeWordEmbedder()
        a = Assistant(settings, embedder=embedder, chat_model=chat or FakeGateChat())
        assert a.ingest([_write(tmp_path / "in", "ferry.txt", FERRY)]).ok
        return a

    yield make


QUESTION = "How many passengers did the Lisbon night ferry carry?"


def test_a_full_queue_says_busy_and_frees_up_when_answers_finish(fake_assistant: Any) -> None:
    chat = FakeGateChat()
    a = fake_assistant(max_queue=2, chat=chat)
    with ThreadPoolExecutor(2) as pool:
        waiting = [pool.submit(a.ask, f"{QUESTION} ({i})") for i in range(2)]
        chat.wait_inside(2)  # both hold a slot, inside the model
        with pytest.raises(BusyError) as info:
            a.ask(QUESTION)
        assert str(info.value) == (
            "the assistant is busy (2 questions waiting, ASSISTANT_MAX_QUEUE); "
            "try again in a moment"
        )
        with pytest.raises(BusyError):
            next(iter(a.stream(QUESTION)))
        chat.open()
        answers = [f.result(timeout=60) for f in waiting]
    assert [x.question for x in answers] == [f"{QUESTION} ({i})" for i in range(2)]
    assert all(not x.abstained and "3,417" in x.text for x in answers), answers
    assert a.ask(QUESTION).citations  # the slots were given back


def test_abandoned_and_failed_questions_give_their_slot_back(fake_assistant: Any) -> None:
    chat = FakeGateChat()
    chat.open()
    a = fake_assistant(max_queue=1, chat=chat)
    for _ in range(3):  # a browser that closes the page mid-answer
        stream = a.stream(QUESTION)
        assert isinstance(next(stream), str)
        stream.close()
    chat.fail = True
    for _ in range(3):  # a model that fails
        with pytest.raises(AssistantError):
            a.ask(QUESTION)
        with pytest.raises(AssistantError):
            list(a.stream(QUESTION))
    chat.fail = False
    assert not a.ask(QUESTION).abstained  # still one free slot: nothing leaked


def test_questions_beyond_the_queue_fail_fast_while_others_wait(fake_assistant: Any) -> None:
    chat = FakeGateChat()
    a = fake_assistant(max_queue=3, chat=chat)
    results: list[Any] = []
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(_try_ask, a, f"{QUESTION} #{i}") for i in range(8)]
        chat.wait_inside(3)
        deadline = time.monotonic() + 30
        while sum(f.done() for f in futures) < 5:  # the others are refused, not queued
            assert time.monotonic() < deadline, "callers beyond the queue were not refused"
            time.sleep(0.01)
        busy = [f.result() for f in futures if f.done()]
        chat.open()
        results = [f.result(timeout=60) for f in futures]
    assert len(busy) == 5 and all(isinstance(r, BusyError) for r in busy)
    answered = [r for r in results if isinstance(r, Answer)]
    assert len(answered) == 3 and all(r.citations for r in answered)


def _try_ask(a: Assistant, question: str) -> Answer | BusyError:
    try:
        return a.ask(question)
    except BusyError as exc:
        return exc


# --- the real model: eight people at once ----------------------------------------------------


@pytest.fixture
def newsroom(make_assistant: Any, tmp_path: Path) -> Assistant:
    """The real assistant over the three small articles."""
    a = make_assistant(max_tokens=60)
    folder = tmp_path / "news"
    for name, text in (("ferry.txt", FERRY), ("zebra.txt", ZEBRA), ("hobart.txt", LIGHTHOUSE)):
        _write(folder, name, text)
    report = a.ingest([folder])
    assert report.ok and len(report.added) == 3, report
    return a


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_eight_callers_get_their_own_answers_while_an_ingest_runs(
    newsroom: Assistant, tmp_path: Path
) -> None:
    a = newsroom
    own = {
        "How many passengers did the Lisbon night ferry carry on Saturday?": ("ferry", "3,417"),
        "How many new zebra crossings did Ostend paint?": ("zebra", "42"),
    }
    questions = [*own, *OFF_TOPIC]
    assert len(questions) == 8
    late = tmp_path / "late"
    _write(late, "tram.txt", "Porto tram line reopens\n\nPorto reopened tram line 22 on Monday.\n")
    _write(late, "hobart.txt", LIGHTHOUSE.replace("12,000", "15,000"))  # an update, too
    start = threading.Barrier(len(questions) + 1)
    ingest_window: list[float] = []

    def ask(question: str) -> tuple[Answer, float, float]:
        start.wait()
        began = time.monotonic()
        answer = a.ask(question)
        return answer, began, time.monotonic()

    def ingest() -> Any:
        start.wait()
        ingest_window.append(time.monotonic())
        report = a.ingest([late])
        ingest_window.append(time.monotonic())
        return report

    with ThreadPoolExecutor(len(questions) + 1) as pool:
        asked = {q: pool.submit(ask, q) for q in questions}
        ingested = pool.submit(ingest)
        results = {q: f.result(timeout=500) for q, f in asked.items()}
        report = ingested.result(timeout=500)

    assert report.ok and report.added == ["tram"] and report.updated == ["hobart"], report
    # the ingest ran, start to end, while the model was still answering
    last_answer = max(end for _, _, end in results.values())
    assert ingest_window[1] < last_answer, (ingest_window, last_answer)
    for question, (answer, _, _) in results.items():
        assert answer.question == question  # nobody got someone else's answer
        hit_ids = {h.chunk.id for h in answer.hits}
        for c in answer.citations:  # citations come from this question's own passages...
            assert c.chunk_id in hit_ids, (question, c)
            assert a.article(c.article_id).text[c.start : c.end] == c.quote  # ...and hold
        if question in own:
            article_id, figure = own[question]
            assert not answer.abstained, (question, answer.text, answer.unsupported)
            assert figure in answer.text, (question, answer.text)
            assert {c.article_id for c in answer.citations} == {article_id}, answer.citations
        else:
            assert answer.abstained and not answer.citations, (question, answer.text)
    assert "15,000" in a.article("hobart").text
    print(
        "answer seconds:",
        {q[:24]: round(end - began, 1) for q, (_, began, end) in results.items()},
        "ingest:",
        round(ingest_window[1] - ingest_window[0], 1),
    )


# --- real Gradio sessions over HTTP ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SESSIONS = 8


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.timeout(600)
def test_concurrent_browser_sessions_keep_their_own_history(newsroom: Assistant) -> None:
    from gradio_client import Client

    a = newsroom
    calls: list[tuple[str, list[tuple[str, str]]]] = []
    calls_lock = threading.Lock()
    real_stream = a.stream

    def recording_stream(question: str, history: Any = None, **kwargs: Any) -> Any:
        with calls_lock:
            calls.append((question, list(history or [])))
        return real_stream(question, history, **kwargs)

    a.stream = recording_stream  # type: ignore[method-assign]
    settings = a.settings.model_copy(update={"port": _free_port()})
    app = ui.build_app(a)
    app.queue(default_concurrency_limit=SESSIONS)
    app.launch(prevent_thread_lock=True, **{**ui.launch_options(settings), "quiet": True})
    url = f"http://127.0.0.1:{settings.port}/"
    firsts = [f"{OFF_TOPIC[i % len(OFF_TOPIC)]} (asked by session {i})" for i in range(SESSIONS)]
    start = threading.Barrier(SESSIONS)

    def converse(i: int) -> tuple[list[Any], list[Any]]:
        client = Client(url, verbose=False)  # one client, one browser session
        start.wait()
        first = client.predict(firsts[i], [], f"local:{WIRING_MODEL}", 5, 0.0, api_name="/ask")
        chat = first[1]
        second = client.predict(f"And why, session {i}?", chat, f"local:{WIRING_MODEL}", 5, 0.0,
                                api_name="/ask")  # fmt: skip
        return first[1], second[1]

    try:
        with ThreadPoolExecutor(SESSIONS) as pool:
            chats = list(pool.map(converse, range(SESSIONS)))
    finally:
        app.close()
        a.stream = real_stream  # type: ignore[method-assign]

    by_question = dict(calls)
    for i, (_, chat) in enumerate(chats):
        # the follow-up was condensed with this session's history, and only with it
        history = by_question[f"And why, session {i}?"]
        assert [q for q, _ in history] == [firsts[i]], (i, history)
        users = [m["content"] for m in chat if m["role"] == "user"]
        assert len(users) == 2 and f"session {i})" in str(users[0]), users
        assert f"session {i}?" in str(users[1]), users
        assert "answer error" not in str(chat), chat
    assert len(calls) == 2 * SESSIONS
