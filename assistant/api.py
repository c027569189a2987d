"""The HTTP API beside the chat, on the same `assistant serve` port.

`create_api(assistant)` is a FastAPI app with the JSON endpoints; `build_server` mounts the
Gradio chat at `/` under it, so one port serves both (Gradio runs on FastAPI):

- `POST /api/ask`: {question, history, as_of, filters, k} -> the answer with its citations
  (offsets into the article text: `article.text[start:end] == quote`), as `ask --json` prints it.
- `POST /api/ingest`: JSON {paths} (read on the server; only from its own machine) or
  {articles: [{text, title, source, published, url, id}]}, or a multipart upload of `files`.
- `GET /api/articles`: the stored articles, newest first; `GET /api/articles/ID` one with its
  text (the text citation offsets point into).
- `POST /api/timeline`: {story, max_events} -> the dated, cited events of a story.
- `POST /v1/chat/completions`: OpenAI-compatible, plain or `stream: true` (server-sent events).
  The message is the verified, cited answer text; `citations` and `abstained` are extra fields.
- `GET /v1/models`: the model that answers.

Bodies are read as JSON whatever their content type (`curl -d` sends a form type). A bad
request gets status 400 and one line, in OpenAI's error shape: {"error": {"message", "type"}}.
With `ASSISTANT_AUTH=user:password` every endpoint wants the same credentials as the chat:
HTTP basic auth, or `Authorization: Bearer user:password` (an OpenAI client's api_key).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from assistant.errors import AssistantError, BusyError, ConfigError, InputError
from assistant.serialize import answer_to_json, article_to_json
from assistant.types import Answer

if TYPE_CHECKING:
    from assistant.chain import Assistant
    from assistant.retrieve import Filters

log = logging.getLogger(__name__)

MAX_BODY_MB = 2.0  # JSON bodies (questions, article texts); uploads have their own limit


class ApiError(Exception):
    """An HTTP error with one line for the client."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind


# --- request bodies ---------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FiltersIn(_Body):
    """Retrieval filters: every field narrows the search."""

    sources: list[str] = Field(default_factory=list)
    since: date | None = None
    until: date | None = None
    article_ids: list[str] = Field(default_factory=list)

    def to_filters(self) -> Filters:
        from assistant.retrieve import Filters

        return Filters(
            sources=tuple(self.sources),
            since=self.since,
            until=self.until,
            article_ids=tuple(self.article_ids),
        )


class _Retrieval(_Body):
    as_of: date | None = None
    filters: FiltersIn | None = None
    k: int | None = Field(None, ge=1, le=50)


class AskIn(_Retrieval):
    """`POST /api/ask`: a question, earlier (question, answer) turns, a date and filters."""

    question: str
    history: list[tuple[str, str]] = Field(default_factory=list)


class ArticleIn(_Body):
    """An article sent as text (the fields of a JSONL record)."""

    text: str
    title: str | None = None
    source: str | None = None
    published: date | None = None
    url: str | None = None
    id: str | None = None


class IngestIn(_Body):
    """`POST /api/ingest` as JSON: server paths, article texts, or both."""

    paths: list[str] = Field(default_factory=list)
    articles: list[ArticleIn] = Field(default_factory=list)


class TimelineIn(_Body):
    """`POST /api/timeline`: a story and how many events at most."""

    story: str
    max_events: int = Field(20, ge=1, le=100)
    as_of: date | None = None


class MessageIn(BaseModel):
    """One chat message; content is text or a list of parts ({"type": "text", "text": ...})."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatIn(_Retrieval):
    """`POST /v1/chat/completions`; other OpenAI parameters are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = ""
    messages: list[MessageIn]
    stream: bool = False


_BodyT = TypeVar("_BodyT", bound=BaseModel)


def _one_line(exc: ValidationError) -> str:
    """The first validation problem as 'field: problem'."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else str(err["msg"])


def parse_body(raw: bytes, model: type[_BodyT]) -> _BodyT:
    """The JSON body as `model`.

    Raises:
        ApiError: 400 when the body is not JSON or does not fit the model.
    """
    try:
        data = json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the body is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, _one_line(exc)) from exc


# --- OpenAI-compatible shapes (pure) ------------------------------------------------------------


def _content_text(message: MessageIn) -> str:
    content = message.content
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content if p.get("type", "text") == "text")


def conversation(messages: list[MessageIn]) -> tuple[str, list[tuple[str, str]]]:
    """The question (the last user message) and the earlier (user, assistant) turns.

    System messages are ignored: the assistant has its own instructions.

    Raises:
        ApiError: 400 when no user message comes last.
    """
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise ApiError(400, "messages: the last message must be the user's question")
    history: list[tuple[str, str]] = []
    pending: str | None = None
    for m in turns[:-1]:
        if m.role == "user":
            pending = _content_text(m)
        elif pending is not None:
            history.append((pending, _content_text(m)))
            pending = None
    return _content_text(turns[-1]), history


def _usage(answer: Answer) -> dict[str, int] | None:
    """Token counts, when the model reported them (a streamed local answer does not)."""
    if "prompt_tokens" not in answer.timings:
        return None
    prompt = int(answer.timings["prompt_tokens"])
    completion = int(answer.timings.get("completion_tokens", 0))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion_json(answer: Answer, completion_id: str, created: int) -> dict[str, Any]:
    """A `chat.completion` whose message is the cited answer text; citations ride along."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": answer.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text},
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(answer),
        "citations": [c.model_dump(mode="json") for c in answer.citations],
        "abstained": answer.abstained,
    }


def chunk_json(
    completion_id: str,
    created: int,
    model: str,
    delta: dict[str, Any],
    finish_reason: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One `chat.completion.chunk` of a streamed completion."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        **extra,
    }


def sse(data: dict[str, Any] | str) -> str:
    """One server-sent event carrying `data` (JSON unless it is a string such as [DONE])."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n"


def error_json(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    """OpenAI's error shape, for every endpoint."""
    return {"error": {"message": message, "type": kind, "code": None}}


def stream_events(
    pieces: Iterator[str | Answer], completion_id: str, created: int, model: str
) -> Iterator[str]:
    """The server-sent events of a streamed completion.

    The client gets its role at once, a comment while the model writes (to keep proxies from
    closing an idle stream), then the verified answer text (what the model wrote can cite a
    passage verification drops, so drafts are never sent as content), then a last chunk with
    the citations, and `[DONE]`. An error is an event with OpenAI's error shape.
    """
    yield sse(chunk_json(completion_id, created, model, {"role": "assistant", "content": ""}))
    last_comment = time.monotonic()
    try:
        for piece in pieces:
            if isinstance(piece, Answer):
                yield sse(chunk_json(completion_id, created, piece.model, {"content": piece.text}))
                yield sse(
                    chunk_json(
                        completion_id,
                        created,
                        piece.model,
                        {},
                        "stop",
                        usage=_usage(piece),
                        citations=[c.model_dump(mode="json") for c in piece.citations],
                        abstained=piece.abstained,
                    )
                )
            elif time.monotonic() - last_comment >= 1.0:
                last_comment = time.monotonic()
                yield ": the model is writing\n\n"
    except AssistantError as exc:
        yield sse(error_json(str(exc), _kind(exc)))
    except Exception:
        log.exception("streaming a completion failed")
        yield sse(error_json("something went wrong; see the server log", "server_error"))
    yield sse("[DONE]")


# --- auth ---------------------------------------------------------------------------------------


def authorized(header: str | None, credentials: tuple[str, str] | None) -> bool:
    """Does an Authorization header carry the credentials (basic, or bearer 'user:password')?"""
    if credentials is None:
        return True
    if not header:
        return False
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
    elif scheme.lower() != "bearer":
        return False
    expected = f"{credentials[0]}:{credentials[1]}"
    return hmac.compare_digest(value.encode(), expected.encode())


def _kind(exc: AssistantError) -> str:
    return "server_busy" if isinstance(exc, BusyError) else "invalid_request_error"


def _status(exc: AssistantError) -> int:
    if isinstance(exc, InputError):
        return 400
    if isinstance(exc, BusyError):
        return 503
    return 500


def _loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


# --- the app ------------------------------------------------------------------------------------


class _Handlers:
    """What each endpoint does, on one assistant; blocking work runs in worker threads."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self._ingest_lock = threading.Lock()  # one ingest at a time, as in the chat's library

    def ask(self, body: AskIn) -> dict[str, Any]:
        answer = self.assistant.ask(
            body.question,
            history=body.history,
            k=body.k,
            filters=body.filters.to_filters() if body.filters else None,
            as_of=body.as_of,
        )
        return answer_to_json(answer)

    def completion(self, body: ChatIn) -> dict[str, Any]:
        question, history = conversation(body.messages)
        answer = self.assistant.ask(
            question,
            history=history,
            k=body.k,
            filters=body.filters.to_filters() if body.filters else None,
            as_of=body.as_of,
        )
        return completion_json(answer, _completion_id(), int(time.time()))

    def completion_stream(self, body: ChatIn) -> Iterator[str]:
        from assistant.chain import clean_question

        question, history = conversation(body.messages)
        clean_question(question)  # a bad question is a 400, not an error event
        pieces = self.assistant.stream(
            question,
            history=history,
            k=body.k,
            filters=body.filters.to_filters() if body.filters else None,
            as_of=body.as_of,
        )
        return stream_events(pieces, _completion_id(), int(time.time()), self.assistant.model_name)

    def timeline(self, body: TimelineIn) -> dict[str, Any]:
        from assistant.timeline import story_timeline

        found = story_timeline(
            self.assistant, body.story, max_events=body.max_events, as_of=body.as_of
        )
        return found.model_dump(mode="json")

    def ingest_json(self, body: IngestIn, client_host: str | None) -> dict[str, Any]:
        if not body.paths and not body.articles:
            raise ApiError(400, "nothing to ingest: send 'paths', 'articles' or files")
        if body.paths and not _loopback(client_host):
            raise ApiError(
                403,
                "'paths' name files on the server and are read only for clients on its own "
                "machine; send the text in 'articles' or upload files",
                "permission_error",
            )
        with tempfile.TemporaryDirectory(prefix="assistant-api-") as tmp:
            paths: list[str | Path] = list(body.paths)
            if body.articles:
                records = Path(tmp) / "articles.jsonl"
                lines = [a.model_dump_json(exclude_none=True) for a in body.articles]
                records.write_text("\n".join(lines) + "\n", encoding="utf-8")
                paths.append(records)
            return self._ingest(paths, tmp)

    def ingest_files(self, files: list[tuple[str, bytes]]) -> dict[str, Any]:
        from assistant.ui.uploads import check_upload

        if not files:
            raise ApiError(400, "nothing to ingest: the form has no 'files'")
        with tempfile.TemporaryDirectory(prefix="assistant-api-") as tmp:
            paths: list[str | Path] = []
            problems: list[str] = []
            for i, (name, data) in enumerate(files):
                target = Path(tmp) / str(i) / (Path(name).name or "upload")
                target.parent.mkdir()
                target.write_bytes(data)
                problem = check_upload(target, self.settings.max_upload_mb, roots=[Path(tmp)])
                if problem:
                    problems.append(problem)
                else:
                    paths.append(target)
            if paths:
                report = self._ingest(paths, tmp)
            else:
                from assistant.types import IngestReport

                report = IngestReport().model_dump(mode="json")
            report["errors"] = problems + report["errors"]
            return report

    def _ingest(self, paths: list[str | Path], tmp: str) -> dict[str, Any]:
        from assistant.ui.uploads import _clean_error

        with self._ingest_lock:
            report = self.assistant.ingest(paths)
        data = report.model_dump(mode="json")
        # people know their uploads by file name: no temporary folders in the messages
        folders = sorted(
            {Path(p).parent for p in paths if Path(p).is_relative_to(tmp)}, reverse=True
        )
        data["errors"] = [_clean_error(e, [*folders, Path(tmp)]) for e in report.errors]
        return data

    def articles(self) -> list[dict[str, Any]]:
        return [article_to_json(a) for a in self.assistant.articles()]

    def article(self, article_id: str) -> dict[str, Any]:
        try:
            found = self.assistant.article(article_id)
        except InputError as exc:  # its message names the store's folder: not for clients
            raise ApiError(404, f"no article with id '{article_id}'", "not_found") from exc
        return found.model_dump(mode="json", exclude={"path"})

    def models(self) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {
                    "id": self.assistant.model_name,
                    "object": "model",
                    "created": 0,
                    "owned_by": "assistant",
                }
            ],
        }


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


class _Gate:
    """What every endpoint does around its work: auth, the body limit, errors as one JSON line."""

    def __init__(self, credentials: Any, max_body: int) -> None:
        self.credentials = credentials
        self.max_body = max_body

    async def run(self, request: Request, work: Callable[[], Any]) -> Response:
        if not authorized(request.headers.get("authorization"), self.credentials):
            return JSONResponse(
                error_json("a user name and password are needed (ASSISTANT_AUTH)", "auth_error"),
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="assistant"'},
            )
        try:
            result = await work()
        except ApiError as exc:
            return JSONResponse(error_json(exc.message, exc.kind), status_code=exc.status)
        except AssistantError as exc:
            return JSONResponse(error_json(str(exc), _kind(exc)), status_code=_status(exc))
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return JSONResponse(
                error_json("something went wrong; see the server log", "server_error"),
                status_code=500,
            )
        if isinstance(result, Iterator):
            return StreamingResponse(
                result,
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        return JSONResponse(result)

    async def body(self, request: Request, model: type[Any]) -> Any:
        limit = self.max_body
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise ApiError(413, f"the body is over the {limit / 1_000_000:g} MB limit")
        raw = await request.body()
        if len(raw) > limit:
            raise ApiError(413, f"the body is over the {limit / 1_000_000:g} MB limit")
        return parse_body(raw, model)


def create_api(assistant: Assistant) -> FastAPI:
    """The FastAPI app with the JSON and OpenAI-compatible endpoints over `assistant`.

    Raises:
        ConfigError: `Settings.auth` is set but not 'user:password'.
    """
    from assistant.ui import launch_options

    credentials = launch_options(assistant.settings)["auth"]  # the chat's own check
    gate = _Gate(credentials, int(MAX_BODY_MB * 1_000_000))
    handlers = _Handlers(assistant)
    app = FastAPI(title="News assistant API", docs_url=None, redoc_url=None, openapi_url=None)
    _json_routes(app, gate, handlers, assistant)
    _openai_routes(app, gate, handlers)
    return app


def _json_routes(app: FastAPI, gate: _Gate, handlers: _Handlers, assistant: Assistant) -> None:
    @app.post("/api/ask")
    async def api_ask(request: Request) -> Response:
        async def work() -> Any:
            body = await gate.body(request, AskIn)
            return await run_in_threadpool(handlers.ask, body)

        return await gate.run(request, work)

    @app.post("/api/ingest")
    async def api_ingest(request: Request) -> Response:
        async def work() -> Any:
            if request.headers.get("content-type", "").startswith("multipart/form-data"):
                upload_limit = int(assistant.settings.max_upload_mb * 1_000_000)
                form = await request.form(max_part_size=upload_limit)
                files = [
                    (str(f.filename or "upload"), await f.read())
                    for f in form.getlist("files")
                    if not isinstance(f, str)
                ]
                return await run_in_threadpool(handlers.ingest_files, files)
            body = await gate.body(request, IngestIn)
            host = request.client.host if request.client else None
            return await run_in_threadpool(handlers.ingest_json, body, host)

        return await gate.run(request, work)

    @app.get("/api/articles")
    async def api_articles(request: Request) -> Response:
        async def work() -> Any:
            return await run_in_threadpool(handlers.articles)

        return await gate.run(request, work)

    @app.get("/api/articles/{article_id:path}")
    async def api_article(request: Request, article_id: str) -> Response:
        async def work() -> Any:
            return await run_in_threadpool(handlers.article, article_id)

        return await gate.run(request, work)

    @app.post("/api/timeline")
    async def api_timeline(request: Request) -> Response:
        async def work() -> Any:
            body = await gate.body(request, TimelineIn)
            return await run_in_threadpool(handlers.timeline, body)

        return await gate.run(request, work)


def _openai_routes(app: FastAPI, gate: _Gate, handlers: _Handlers) -> None:
    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        async def work() -> Any:
            body = await gate.body(request, ChatIn)
            if body.stream:
                return await run_in_threadpool(handlers.completion_stream, body)
            return await run_in_threadpool(handlers.completion, body)

        return await gate.run(request, work)

    @app.get("/v1/models")
    async def models(request: Request) -> Response:
        async def work() -> Any:
            return handlers.models()

        return await gate.run(request, work)


def build_server(assistant: Assistant) -> FastAPI:
    """The API with the Gradio chat mounted at `/`: the app `assistant serve` runs."""
    import gradio as gr

    from assistant.ui import build_app, launch_options

    api = create_api(assistant)
    options = launch_options(assistant.settings)
    options.pop("quiet", None)
    blocks = build_app(assistant)
    blocks.queue(default_concurrency_limit=4)
    return gr.mount_gradio_app(api, blocks, path="/", **options)


def serve(assistant: Assistant) -> None:
    """Serve the chat and the API on the configured host and port (blocks until stopped).

    Raises:
        ConfigError: the port is taken, or `Settings.auth` is malformed.
    """
    import os
    import socket

    import uvicorn

    from assistant.ui import warm_up, watch_store

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home
    settings = assistant.settings
    with socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET) as probe:
        try:
            probe.bind((settings.host, settings.port))
        except OSError as exc:
            raise ConfigError(
                f"cannot serve on {settings.host}:{settings.port}: {exc.strerror or exc} "
                "(choose another with --port)"
            ) from exc
    app = build_server(assistant)
    threading.Thread(target=warm_up, args=(assistant,), name="warm-up", daemon=True).start()
    # another process's ingest or remove is opened and caught up here, not on the next question
    watch = threading.Thread(
        target=watch_store, args=(assistant, threading.Event()), name="store-watch", daemon=True
    )
    watch.start()
    print(f"* chat on http://{settings.host}:{settings.port}/, API under /api and /v1", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
