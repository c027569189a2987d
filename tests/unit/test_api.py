"""The HTTP API over a fake assistant: shapes, errors, auth, streaming (no models, no server)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from assistant import api
from assistant.config import Settings
from assistant.errors import BusyError, InputError
from assistant.records import ArticleInfo
from assistant.retrieve import Filters
from assistant.types import Answer, Article, IngestReport
from tests.unit.test_ui import TARIFF_SENTENCE, tariff_answer, tariff_article


class FakeApiAssistant:
    """The `Assistant` methods the API calls, answering from canned data; records each call."""

    def __init__(self, **settings: Any) -> None:
        self.settings = Settings(data_dir=Path("/nonexistent"), **settings)
        self.model_name = "fake-0.5b (local)"
        self.calls: list[dict[str, Any]] = []
        self.ingested: list[dict[str, Any]] = []

    def _answer(self, question: str, **kwargs: Any) -> Answer:
        self.calls.append({"question": question, **kwargs})
        if "busy" in question:
            raise BusyError("the assistant is busy (8 questions waiting, ASSISTANT_MAX_QUEUE)")
        if "crash" in question:
            raise RuntimeError("secret internal detail")
        if len(question) > 50:
            raise InputError("the question is too long")
        return tariff_answer(question)

    def ask(self, question: str, history: Any = None, **kwargs: Any) -> Answer:
        return self._answer(question, history=history, **kwargs)

    def stream(self, question: str, history: Any = None, **kwargs: Any) -> Iterator[str | Answer]:
        answer = self._answer(question, history=history, **kwargs)
        yield "Trump threatened [1] [7] "
        yield "a draft"
        yield answer

    def ingest(self, paths: list[Any]) -> IngestReport:
        for p in paths:
            path = Path(p)
            text = path.read_text(encoding="utf-8") if path.is_file() else None
            self.ingested.append({"path": str(p), "name": path.name, "text": text})
        added = [Path(p).stem for p in paths if not str(p).endswith("bad.txt")]
        errors = [f"{p}: the file is empty" for p in paths if str(p).endswith("bad.txt")]
        return IngestReport(added=added, errors=errors, chunks=3)

    def article(self, article_id: str) -> Article:
        if article_id != "tariffs":
            raise InputError(f"no article with id '{article_id}' in /secret/store")
        return tariff_article()

    def articles(self) -> list[ArticleInfo]:
        return [
            ArticleInfo(
                id="tariffs",
                title="Tariffs",
                source="Bloomberg",
                published=date(2025, 10, 24),
                url=None,
                chunks=9,
                sha256="x",
                chunking="y",
            )
        ]


@pytest.fixture
def fake() -> FakeApiAssistant:
    return FakeApiAssistant()


@pytest.fixture
def client(fake: FakeApiAssistant) -> TestClient:
    return TestClient(api.create_api(fake))  # type: ignore[arg-type]


def _error(response: Any) -> str:
    message = response.json()["error"]["message"]
    assert "\n" not in message
    return str(message)


# --- /api/ask ---------------------------------------------------------------------------------


def test_ask_reads_json_whatever_the_content_type_and_returns_the_cited_answer(
    client: TestClient, fake: FakeApiAssistant
) -> None:
    # what `curl -d '{...}'` sends: a form content type
    body = '{"question": "What tariff did Trump threaten?"}'
    headers = {"content-type": "application/x-www-form-urlencoded"}
    r = client.post("/api/ask", content=body, headers=headers)
    assert r.status_code == 200
    data = r.json()
    assert data["answer"].startswith("Trump threatened an additional 100% tariff")
    (c,) = data["citations"]
    assert c["quote"] == TARIFF_SENTENCE and c["end"] - c["start"] == len(TARIFF_SENTENCE)
    assert fake.calls[0]["question"] == "What tariff did Trump threaten?"


def test_ask_passes_history_date_filters_and_k(client: TestClient, fake: FakeApiAssistant) -> None:
    r = client.post(
        "/api/ask",
        json={
            "question": "And by when?",
            "history": [["What tariff did Trump threaten?", "A 100% tariff [1]."]],
            "as_of": "2025-10-25",
            "filters": {"sources": ["Bloomberg"], "since": "2025-10-01"},
            "k": 3,
        },
    )
    assert r.status_code == 200
    call = fake.calls[0]
    assert call["history"] == [("What tariff did Trump threaten?", "A 100% tariff [1].")]
    assert call["as_of"] == date(2025, 10, 25) and call["k"] == 3
    assert call["filters"] == Filters(sources=("Bloomberg",), since=date(2025, 10, 1))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "the body is not valid JSON"),
        ("", "the body must be a JSON object"),
        ('["What tariff?"]', "the body must be a JSON object"),
        ("{}", "question: Field required"),
        ('{"question": 5}', "question: Input should be a valid string"),
        ('{"question": "q", "as_of": "October"}', "as_of: Input should be a valid date"),
        ('{"question": "q", "k": 0}', "k: Input should be greater than or equal to 1"),
        ('{"question": "q", "colour": "red"}', "colour: Extra inputs are not permitted"),
        ('{"question": "q", "filters": {"since": "x"}}', "filters.since: Input should be"),
        ('{"question": "q", "history": [["only one"]]}', "history.0"),
    ],
)
def test_bad_bodies_get_400_and_one_line(client: TestClient, body: str, message: str) -> None:
    r = client.post("/api/ask", content=body)
    assert r.status_code == 400
    assert _error(r).startswith(message)
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_assistant_errors_map_to_statuses_without_internals(client: TestClient) -> None:
    long = client.post("/api/ask", json={"question": "x" * 60})
    assert (long.status_code, _error(long)) == (400, "the question is too long")
    busy = client.post("/api/ask", json={"question": "busy?"})
    assert busy.status_code == 503 and "busy" in _error(busy)
    crash = client.post("/api/ask", json={"question": "crash"})
    assert crash.status_code == 500
    assert _error(crash) == "something went wrong; see the server log"
    assert "secret" not in crash.text


def test_a_body_over_the_limit_is_413(client: TestClient) -> None:
    big = json.dumps({"question": "q", "history": [["a" * 1_000_000, "b" * 1_100_000]]})
    r = client.post("/api/ask", content=big)
    assert r.status_code == 413 and "MB limit" in _error(r)


# --- /v1: OpenAI-compatible -------------------------------------------------------------------


def test_chat_completion_is_the_cited_answer_with_citations_alongside(
    client: TestClient, fake: FakeApiAssistant
) -> None:
    r = client.post(
        "/v1/chat/completions",
        json={
            "model": "anything",
            "temperature": 0.2,  # OpenAI parameters the assistant does not use are ignored
            "messages": [
                {"role": "system", "content": "You are helpful."},
                {"role": "user", "content": "What tariff did Trump threaten?"},
                {"role": "assistant", "content": "A 100% tariff [1]."},
                {"role": "user", "content": [{"type": "text", "text": "By when?"}]},
            ],
        },
    )
    assert r.status_code == 200
    data = r.json()
    assert data["object"] == "chat.completion" and data["id"].startswith("chatcmpl-")
    assert data["model"] == "fake-0.5b (local)"
    (choice,) = data["choices"]
    assert choice["message"] == {"role": "assistant", "content": tariff_answer().text}
    assert choice["finish_reason"] == "stop"
    assert data["citations"][0]["quote"] == TARIFF_SENTENCE and data["abstained"] is False
    assert fake.calls[0]["question"] == "By when?"
    assert fake.calls[0]["history"] == [("What tariff did Trump threaten?", "A 100% tariff [1].")]


def _events(text: str) -> list[Any]:
    events = []
    for block in text.split("\n\n"):
        if block.startswith("data: "):
            payload = block[len("data: ") :]
            events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def test_streamed_completion_sends_the_verified_text_then_citations_then_done(
    client: TestClient,
) -> None:
    body = {"messages": [{"role": "user", "content": "What tariff?"}], "stream": True}
    with client.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    events = _events(text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert content == tariff_answer().text  # never the unverified draft ("[7]")
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["citations"][0]["quote"] == TARIFF_SENTENCE
    assert len({c["id"] for c in chunks}) == 1


def test_a_stream_that_fails_ends_with_an_error_event(client: TestClient) -> None:
    body = {"messages": [{"role": "user", "content": "busy now?"}], "stream": True}
    events = _events(client.post("/v1/chat/completions", json=body).text)
    assert events[-1] == "[DONE]"
    assert "busy" in events[-2]["error"]["message"]
    assert events[-2]["error"]["type"] == "server_busy"


def test_a_bad_question_is_a_400_before_the_stream_starts(client: TestClient) -> None:
    empty = {"messages": [{"role": "user", "content": "  "}], "stream": True}
    r = client.post("/v1/chat/completions", json=empty)
    assert (r.status_code, _error(r)) == (400, "the question is empty")
    last = {"messages": [{"role": "assistant", "content": "Hi"}]}
    r = client.post("/v1/chat/completions", json=last)
    assert r.status_code == 400 and "last message must be the user's question" in _error(r)
    r = client.post("/v1/chat/completions", json={"model": "x"})
    assert (r.status_code, _error(r)) == (400, "messages: Field required")


def test_models_lists_the_answering_model(client: TestClient) -> None:
    data = client.get("/v1/models").json()
    assert data["object"] == "list"
    assert [m["id"] for m in data["data"]] == ["fake-0.5b (local)"]


# --- /api/articles, /api/ingest ---------------------------------------------------------------


def test_articles_lists_the_store(client: TestClient) -> None:
    assert client.get("/api/articles").json() == [
        {
            "id": "tariffs",
            "title": "Tariffs",
            "source": "Bloomberg",
            "published": "2025-10-24",
            "url": None,
            "chunks": 9,
        }
    ]


def test_one_article_with_its_text_for_checking_offsets(client: TestClient) -> None:
    data = client.get("/api/articles/tariffs").json()
    (c,) = tariff_answer().citations
    assert data["text"][c.start : c.end] == c.quote
    assert data["id"] == "tariffs" and "path" not in data
    missing = client.get("/api/articles/nope")
    assert missing.status_code == 404 and _error(missing) == "no article with id 'nope'"


def test_ingest_article_texts_as_jsonl_records(client: TestClient, fake: FakeApiAssistant) -> None:
    r = client.post(
        "/api/ingest",
        json={
            "articles": [
                {"text": "Body one.", "title": "One", "published": "2025-10-01"},
                {"text": "Body two.", "id": "two", "source": "AP"},
            ]
        },
    )
    assert r.status_code == 200 and r.json()["added"] == ["articles"]
    (done,) = fake.ingested
    records = [json.loads(line) for line in done["text"].splitlines()]
    assert records == [
        {"text": "Body one.", "title": "One", "published": "2025-10-01"},
        {"text": "Body two.", "source": "AP", "id": "two"},
    ]
    assert not Path(done["path"]).exists()  # the temporary file is gone


def test_ingest_paths_only_from_this_machine(fake: FakeApiAssistant, tmp_path: Path) -> None:
    remote = TestClient(api.create_api(fake), client=("203.0.113.9", 5000))  # type: ignore[arg-type]
    r = remote.post("/api/ingest", json={"paths": ["/etc/passwd"]})
    assert r.status_code == 403 and "only for clients on its own machine" in _error(r)
    assert fake.ingested == []
    local = TestClient(api.create_api(fake), client=("127.0.0.1", 5000))  # type: ignore[arg-type]
    r = local.post("/api/ingest", json={"paths": [str(tmp_path / "a.txt")]})
    assert r.status_code == 200 and r.json()["added"] == ["a"]
    nothing = local.post("/api/ingest", json={})
    assert nothing.status_code == 400 and "nothing to ingest" in _error(nothing)


def test_ingest_uploaded_files_checks_each_and_hides_temporary_paths(
    client: TestClient, fake: FakeApiAssistant
) -> None:
    files = [
        ("files", ("story.txt", b"Title\nSome text.", "text/plain")),
        ("files", ("../../evil.exe", b"MZ", "application/octet-stream")),
        ("files", ("bad.txt", b"x", "text/plain")),
    ]
    r = client.post("/api/ingest", files=files)
    assert r.status_code == 200
    data = r.json()
    assert data["added"] == ["story"]
    assert data["errors"][0].startswith("evil.exe: .exe files are not supported")
    assert data["errors"][1] == "bad.txt: the file is empty"  # no temporary folder in it
    assert [d["name"] for d in fake.ingested] == ["story.txt", "bad.txt"]


# --- auth -------------------------------------------------------------------------------------


def test_with_auth_on_every_endpoint_wants_the_chat_credentials() -> None:
    secured = TestClient(api.create_api(FakeApiAssistant(auth="ann:s3cret")))  # type: ignore[arg-type]
    question = {"question": "What tariff?"}
    missing = secured.post("/api/ask", json=question)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Basic")
    assert _error(missing) == "a user name and password are needed (ASSISTANT_AUTH)"
    for path in ("/api/articles", "/v1/models"):
        assert secured.get(path).status_code == 401
    assert secured.post("/api/ask", json=question, auth=("ann", "wrong")).status_code == 401
    assert secured.post("/api/ask", json=question, auth=("ann", "s3cret")).status_code == 200
    bearer = {"Authorization": "Bearer ann:s3cret"}
    assert secured.get("/v1/models", headers=bearer).status_code == 200


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (None, False),
        ("", False),
        ("Basic " + base64.b64encode(b"ann:s3cret").decode(), True),
        ("basic " + base64.b64encode(b"ann:s3cret").decode(), True),
        ("Basic " + base64.b64encode(b"ann:other").decode(), False),
        ("Basic not-base64!", False),
        ("Bearer ann:s3cret", True),
        ("Bearer s3cret", False),
        ("Token ann:s3cret", False),
    ],
)
def test_authorized(header: str | None, ok: bool) -> None:
    assert api.authorized(header, ("ann", "s3cret")) is ok
    assert api.authorized(header, None) is True  # auth off


def test_conversation_pairs_turns_and_ignores_system_messages() -> None:
    M = api.MessageIn
    question, history = api.conversation(
        [
            M(role="system", content="Be brief."),
            M(role="user", content="First?"),
            M(role="assistant", content="One [1]."),
            M(role="user", content="Second?"),
        ]
    )
    assert (question, history) == ("Second?", [("First?", "One [1].")])
    with pytest.raises(api.ApiError):
        api.conversation([M(role="system", content="Only this.")])
