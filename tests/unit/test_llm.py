"""Chat model construction, the llama.cpp adapter over a fake Llama, and error explanations."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import ollama
import openai
import pytest
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from pydantic import SecretStr

from assistant import llm
from assistant.config import Settings
from assistant.errors import ConfigError, ModelError
from assistant.llm import ChatLlamaCpp, describe_model, explain_llm_error, make_chat_model


class FakeLlama:
    """Answers like `llama_cpp.Llama.create_chat_completion`, recording every call."""

    def __init__(self, pieces: tuple[str, ...] = ("Hel", "lo", "!"), delay: float = 0.0) -> None:
        self.pieces = pieces
        self.delay = delay
        self.calls: list[dict[str, Any]] = []
        self.active = 0
        self.most_active = 0

    def create_chat_completion(self, *, messages: list[dict[str, str]], **params: Any) -> Any:
        self.calls.append({"messages": messages, **params})
        if params["stream"]:
            return self._stream()
        self._enter()
        try:
            return {
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(self.pieces)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
            }
        finally:
            self._leave()

    def _stream(self) -> Iterator[dict[str, Any]]:
        self._enter()
        try:
            yield _delta({"role": "assistant"}, None)
            for piece in self.pieces:
                yield _delta({"content": piece}, None)
            yield _delta({}, "length")
        finally:
            self._leave()

    def _enter(self) -> None:
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        time.sleep(self.delay)

    def _leave(self) -> None:
        self.active -= 1


def _delta(delta: dict[str, str], finish: str | None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _settings(**overrides: Any) -> Settings:
    return Settings(**overrides)


# --- ChatLlamaCpp -------------------------------------------------------------------------


def test_messages_map_to_chat_roles() -> None:
    fake = FakeLlama()
    model = ChatLlamaCpp(client=fake)

    model.invoke(
        [
            SystemMessage("Be brief."),
            HumanMessage("Hi"),
            AIMessage("Hello."),
            ChatMessage(role="user", content="Again"),
            HumanMessage(content=[{"type": "text", "text": "block"}]),
        ]
    )

    assert fake.calls[0]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Again"},
        {"role": "user", "content": "block"},
    ]


def test_tool_messages_are_refused() -> None:
    model = ChatLlamaCpp(client=FakeLlama())

    with pytest.raises(ModelError, match="ToolMessage"):
        model.invoke([HumanMessage("Hi"), ToolMessage("42", tool_call_id="t1")])


def test_invoke_returns_text_usage_and_metadata() -> None:
    fake = FakeLlama()
    model = ChatLlamaCpp(client=fake, temperature=0.3, max_tokens=64, stop=["\n\n"], seed=7)

    reply = model.invoke("Hi", stop=["END"])

    assert reply.content == "Hello!"
    assert reply.usage_metadata == {"input_tokens": 12, "output_tokens": 3, "total_tokens": 15}
    assert reply.response_metadata["finish_reason"] == "stop"
    call = fake.calls[0]
    assert call["stream"] is False
    assert (call["temperature"], call["max_tokens"], call["seed"]) == (0.3, 64, 7)
    assert call["stop"] == ["\n\n", "END"]


def test_call_kwargs_override_defaults() -> None:
    fake = FakeLlama()
    model = ChatLlamaCpp(client=fake)

    model.invoke("Hi", max_tokens=5)

    assert fake.calls[0]["max_tokens"] == 5
    assert fake.calls[0]["stop"] is None


def test_stream_yields_one_chunk_per_token() -> None:
    fake = FakeLlama()
    model = ChatLlamaCpp(client=fake)

    chunks = list(model.stream("Hi"))

    texts = [chunk.content for chunk in chunks if chunk.content]
    assert texts == ["Hel", "lo", "!"]
    assert fake.calls[0]["stream"] is True
    finish = [c.response_metadata.get("finish_reason") for c in chunks]
    assert "length" in finish
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole += chunk
    assert whole.content == "Hello!"


def test_stream_reports_each_token_once_to_callbacks() -> None:
    from langchain_core.callbacks import BaseCallbackHandler

    class FakeHandler(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: Any, **kwargs: Any) -> None:
            self.tokens.append(token)

    handler = FakeHandler()
    model = ChatLlamaCpp(client=FakeLlama())

    list(model.stream("Hi", config={"callbacks": [handler]}))

    assert [token for token in handler.tokens if token] == ["Hel", "lo", "!"]


def test_async_stream_releases_the_lock_across_executor_threads() -> None:
    model = ChatLlamaCpp(client=FakeLlama())

    async def collect() -> list[str]:
        texts = [str(chunk.content) async for chunk in model.astream("Hi")]
        reply = await model.ainvoke("Again")  # would hang if the stream kept the lock
        return [*texts, str(reply.content)]

    texts = asyncio.run(asyncio.wait_for(collect(), timeout=10))

    assert [t for t in texts if t] == ["Hel", "lo", "!", "Hello!"]


def test_llama_is_loaded_lazily_and_once(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []

    def fake_load(self: ChatLlamaCpp) -> FakeLlama:
        loads.append(self.model)
        return FakeLlama()

    monkeypatch.setattr(ChatLlamaCpp, "_load", fake_load)
    model = ChatLlamaCpp(model="default")
    assert loads == []

    model.invoke("one")
    list(model.stream("two"))
    assert loads == ["default"]


def test_load_ensures_the_model_file_from_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    asked: list[tuple[str, Path | None]] = []

    def fake_ensure(name: str, *, cache_dir: Path | None = None) -> Path:
        asked.append((name, cache_dir))
        raise ModelError("stop here")

    monkeypatch.setattr(llm, "ensure", fake_ensure)
    model = ChatLlamaCpp(model="quality", cache_dir=tmp_path)

    with pytest.raises(ModelError, match="stop here"):
        model.invoke("Hi")
    assert asked == [("quality", tmp_path)]


def test_calls_from_threads_never_overlap() -> None:
    fake = FakeLlama(delay=0.05)
    model = ChatLlamaCpp(client=fake)

    def ask() -> None:
        model.invoke("Hi")
        list(model.stream("Hi"))

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(fake.calls) == 6
    assert fake.most_active == 1


def test_display_name_names_the_file() -> None:
    assert ChatLlamaCpp(client=FakeLlama()).display_name == (
        "qwen2.5-coder-1.5b-instruct-q4_k_m (local)"
    )


# --- make_chat_model / describe_model -----------------------------------------------------


def test_local_backend_is_the_llama_adapter(tmp_path: Path) -> None:
    settings = _settings(
        llm="local", llm_model="quality", model_cache_dir=tmp_path, n_ctx=2048, max_tokens=99
    )

    model = make_chat_model(settings)

    assert isinstance(model, ChatLlamaCpp)
    assert (model.model, model.cache_dir, model.n_ctx, model.max_tokens) == (
        "quality",
        tmp_path,
        2048,
        99,
    )
    assert describe_model(settings) == "qwen2.5-coder-1.5b-instruct-q4_k_m (local)"


def test_unknown_local_model_fails_at_construction() -> None:
    with pytest.raises(ModelError, match="ASSISTANT_LLM_MODEL"):
        make_chat_model(_settings(llm="local", llm_model="huge"))


def test_openai_backend_needs_a_base_url() -> None:
    with pytest.raises(ConfigError, match="ASSISTANT_OPENAI_BASE_URL"):
        make_chat_model(_settings(llm="openai", openai_base_url=None))


def test_openai_backend_is_configured_from_settings() -> None:
    from langchain_openai import ChatOpenAI

    settings = _settings(
        llm="openai",
        openai_base_url="http://127.0.0.1:8000/v1",
        llm_model="qwen",
        temperature=0.2,
        max_tokens=123,
        request_timeout=9.0,
        max_retries=1,
    )

    model = make_chat_model(settings)

    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "qwen"
    assert model.openai_api_base == "http://127.0.0.1:8000/v1"
    assert isinstance(model.openai_api_key, SecretStr)
    assert model.openai_api_key.get_secret_value() == "not-needed"
    assert (model.temperature, model.max_tokens) == (0.2, 123)
    assert (model.request_timeout, model.max_retries) == (9.0, 1)
    assert model.extra_body == {"max_tokens": 123}  # llama_cpp.server ignores the new name
    assert describe_model(settings) == "qwen (openai)"
    real = make_chat_model(
        settings.model_copy(update={"openai_base_url": "https://api.openai.com/v1"})
    )
    assert real.extra_body is None  # type: ignore[union-attr]


def test_openai_api_key_is_passed_through() -> None:
    from langchain_openai import ChatOpenAI

    settings = _settings(
        llm="openai", openai_base_url="http://h/v1", llm_model="m", openai_api_key="sk-test"
    )

    model = make_chat_model(settings)

    assert isinstance(model, ChatOpenAI)
    assert isinstance(model.openai_api_key, SecretStr)
    assert model.openai_api_key.get_secret_value() == "sk-test"


def test_ollama_backend_is_configured_from_settings() -> None:
    from langchain_ollama import ChatOllama

    settings = _settings(
        llm="ollama", ollama_url="http://127.0.0.1:11434", llm_model="llama3.2", max_tokens=77
    )

    model = make_chat_model(settings)

    assert isinstance(model, ChatOllama)
    assert (model.model, model.base_url, model.num_predict) == (
        "llama3.2",
        "http://127.0.0.1:11434",
        77,
    )
    assert describe_model(settings) == "llama3.2 (ollama)"


# --- explain_llm_error --------------------------------------------------------------------

OPENAI = {"llm": "openai", "openai_base_url": "http://127.0.0.1:8000/v1", "llm_model": "m"}
OLLAMA = {"llm": "ollama", "ollama_url": "http://127.0.0.1:11434", "llm_model": "llama3.2"}


def _request() -> httpx2.Request:
    return httpx2.Request("POST", "http://127.0.0.1:8000/v1/chat/completions")


def test_openai_connection_refused() -> None:
    error = openai.APIConnectionError(request=_request())
    error.__cause__ = httpx2.ConnectError("[Errno 111] Connection refused")

    message = str(explain_llm_error(error, _settings(**OPENAI)))

    assert message == (
        "LLM server at http://127.0.0.1:8000/v1 is unreachable "
        "(ASSISTANT_OPENAI_BASE_URL): connection refused"
    )


def test_openai_timeout_names_the_timeout_setting() -> None:
    error = openai.APITimeoutError(request=_request())

    message = str(explain_llm_error(error, _settings(**OPENAI, request_timeout=30)))

    assert "did not answer within 30s (ASSISTANT_REQUEST_TIMEOUT)" in message


def test_openai_unknown_model() -> None:
    response = httpx2.Response(404, request=_request())
    error = openai.NotFoundError("The model `m` does not exist.", response=response, body=None)

    message = str(explain_llm_error(error, _settings(**OPENAI)))

    assert "has no model 'm' (ASSISTANT_LLM_MODEL)" in message
    assert "ASSISTANT_OPENAI_BASE_URL" in message


def test_openai_rejected_key() -> None:
    response = httpx2.Response(401, request=_request())
    error = openai.AuthenticationError("bad key", response=response, body=None)

    message = str(explain_llm_error(error, _settings(**OPENAI)))

    assert "rejected the API key (ASSISTANT_OPENAI_API_KEY)" in message


def test_ollama_unreachable() -> None:
    # The ollama client raises a bare ConnectionError with its own advice text.
    error = ConnectionError("Failed to connect to Ollama. Please check that Ollama is running.")

    message = str(explain_llm_error(error, _settings(**OLLAMA)))

    assert message.startswith(
        "LLM server at http://127.0.0.1:11434 is unreachable (ASSISTANT_OLLAMA_URL)"
    )


def test_ollama_httpx_connect_error_is_refused() -> None:
    error = httpx.ConnectError("[Errno 111] Connection refused")

    message = str(explain_llm_error(error, _settings(**OLLAMA)))

    assert message.endswith("(ASSISTANT_OLLAMA_URL): connection refused")


def test_ollama_missing_model_suggests_pull() -> None:
    error = ollama.ResponseError("model 'llama3.2' not found", status_code=404)

    message = str(explain_llm_error(error, _settings(**OLLAMA)))

    assert "has no model 'llama3.2'" in message
    assert "ollama pull llama3.2" in message


def test_httpx_read_timeout() -> None:
    error = httpx.ReadTimeout("timed out")

    message = str(explain_llm_error(error, _settings(**OLLAMA)))

    assert "did not answer within 120s" in message


def test_local_context_overflow_names_n_ctx() -> None:
    error = ValueError("Requested tokens (5000) exceed context window of 4096")

    message = str(explain_llm_error(error, _settings(llm="local")))

    assert "5000 tokens" in message
    assert "ASSISTANT_N_CTX" in message


def test_unrecognised_errors_keep_type_and_cause() -> None:
    error = RuntimeError("something odd\nwith a traceback-ish second line")

    explained = explain_llm_error(error, _settings(**OPENAI))

    assert str(explained) == (
        "LLM server at http://127.0.0.1:8000/v1 call failed: RuntimeError: something odd"
    )
    assert explained.__cause__ is error


def test_model_errors_pass_through_unchanged() -> None:
    error = ModelError("already clear")

    assert explain_llm_error(error, _settings(**OPENAI)) is error
