"""Chat models behind LangChain's `BaseChatModel`: local llama.cpp, OpenAI-compatible, Ollama.

`make_chat_model(settings)` is the only constructor the rest of the assistant uses, so a backend
is chosen by settings alone. The local backend is a small adapter of our own (`ChatLlamaCpp`)
rather than langchain-community's, which is being retired.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr, SecretStr

from assistant.config import Settings
from assistant.errors import ConfigError, ModelError
from assistant.models import ensure, resolve_filename

_TIMEOUT_NAMES = frozenset(
    {"APITimeoutError", "TimeoutException", "ConnectTimeout", "ReadTimeout", "TimeoutError"}
)
_CONNECTION_NAMES = frozenset({"APIConnectionError", "ConnectError", "ConnectionError"})
_CONTEXT_OVERFLOW = re.compile(r"Requested tokens \((\d+)\) exceed context window of (\d+)")


class ChatLlamaCpp(BaseChatModel):
    """A local GGUF model run in-process by llama.cpp (llama-cpp-python).

    The `llama_cpp.Llama` object is created on first use and kept for the life of the instance.
    llama.cpp contexts are not thread-safe, so every call (a whole stream included) holds the
    instance's lock; concurrent callers wait their turn.

    Example:
        ```python
        model = ChatLlamaCpp(model="default")
        model.invoke("What is 2+2?").content
        ```
    """

    model: str = Field(
        default="default",
        description="Registry name ('default', 'fast', 'quality') or a .gguf path.",
    )
    cache_dir: Path | None = Field(default=None, description="Folder of assembled models.")
    n_ctx: int = Field(default=4096, ge=512, description="Context window in tokens.")
    n_threads: int | None = Field(default=None, description="CPU threads; None means all cores.")
    temperature: float = Field(default=0.0, ge=0.0, description="Sampling temperature.")
    max_tokens: int = Field(default=200, ge=1, description="Most tokens in one answer.")
    stop: list[str] | None = Field(default=None, description="Stop sequences added to every call.")
    seed: int = Field(default=0, description="Sampling seed, so equal inputs give equal answers.")
    n_batch: int = Field(default=512, ge=8, description="Prompt tokens processed per batch.")
    prompt_lookup: int = Field(
        default=0,
        ge=0,
        description="Draft tokens per step of prompt-lookup decoding (0: off). Answers copy "
        "words from their sources, so drafting them from the prompt can save decoding steps.",
    )
    client: Any = Field(
        default=None, exclude=True, description="A ready `llama_cpp.Llama` (or a fake in tests)."
    )

    # A plain Lock, not an RLock: astream runs each step of _stream in whatever executor
    # thread is free, so the thread releasing the lock may not be the one that took it.
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _llama: Any = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "n_ctx": self.n_ctx,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }

    @property
    def display_name(self) -> str:
        """The model's name for people, e.g. `qwen2.5-coder-0.5b-instruct-q4_k_m (local)`."""
        return _local_display_name(self.model)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        params = self._call_params(stop, kwargs)
        with self._lock:
            response = self._client().create_chat_completion(
                messages=_chat_dicts(messages), stream=False, **params
            )
        choice = response["choices"][0]
        text = choice["message"].get("content") or ""
        finish = choice.get("finish_reason")
        usage = _usage(response.get("usage"))
        metadata: dict[str, Any] = {"model_name": self.display_name, "finish_reason": finish}
        message = AIMessage(content=text, response_metadata=metadata, usage_metadata=usage)
        generation = ChatGeneration(message=message, generation_info={"finish_reason": finish})
        llm_output: dict[str, Any] = {"model_name": self.display_name}
        if usage is not None:
            llm_output["token_usage"] = dict(usage)
        return ChatResult(generations=[generation], llm_output=llm_output)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        params = self._call_params(stop, kwargs)
        with self._lock:
            stream = self._client().create_chat_completion(
                messages=_chat_dicts(messages), stream=True, **params
            )
            for part in stream:
                choice = part["choices"][0]
                text = choice.get("delta", {}).get("content") or ""
                finish = choice.get("finish_reason")
                if not text and finish is None:
                    continue  # the opening chunk only announces the assistant role
                metadata: dict[str, Any] = {}
                info: dict[str, Any] | None = None
                if finish is not None:
                    metadata = {"model_name": self.display_name, "finish_reason": finish}
                    info = {"finish_reason": finish}
                usage = _usage(part.get("usage"))
                chunk = ChatGenerationChunk(
                    message=AIMessageChunk(
                        content=text, response_metadata=metadata, usage_metadata=usage
                    ),
                    generation_info=info,
                )
                # No run_manager.on_llm_new_token here: langchain-core 1.x reports every
                # chunk _stream yields to the callbacks itself.
                yield chunk

    def _call_params(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        stops = [*(self.stop or []), *(stop or [])]
        params: dict[str, Any] = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "stop": stops or None,
        }
        # LangChain passes its own bookkeeping (ls_*) through kwargs; llama.cpp rejects it.
        params.update({k: v for k, v in kwargs.items() if not k.startswith("ls_")})
        return params

    def _client(self) -> Any:
        """The Llama object, created on first use; the caller holds `self._lock`."""
        if self._llama is None:
            self._llama = self.client if self.client is not None else self._load()
        return self._llama

    def _load(self) -> Any:
        path = ensure(self.model, cache_dir=self.cache_dir)
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelError(
                "llama-cpp-python is not installed: pip install llama-cpp-python, "
                "or choose another backend with ASSISTANT_LLM=openai or ollama"
            ) from exc
        threads = self.n_threads or os.cpu_count() or 1
        draft = None
        if self.prompt_lookup:
            from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

            draft = LlamaPromptLookupDecoding(num_pred_tokens=self.prompt_lookup)
        try:
            return Llama(
                model_path=str(path),
                n_ctx=self.n_ctx,
                n_batch=self.n_batch,
                n_threads=threads,
                n_threads_batch=threads,
                seed=self.seed,
                draft_model=draft,
                logits_all=draft is not None,  # the draft check reads every position's logits
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(
                f"llama.cpp could not load {path} (ASSISTANT_LLM_MODEL): {_first_line(exc)}"
            ) from exc


def _chat_dicts(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """Turn LangChain messages into OpenAI-style `{"role", "content"}` dicts for llama.cpp.

    Args:
        messages: System, human, AI or generic chat messages.

    Returns:
        One dict per message, in order.

    Raises:
        ModelError: A message type the local model cannot take (tool or function results).
    """
    roles: list[tuple[type[BaseMessage], str]] = [
        (SystemMessage, "system"),
        (HumanMessage, "user"),
        (AIMessage, "assistant"),
    ]
    out: list[dict[str, str]] = []
    for message in messages:
        if isinstance(message, ChatMessage):
            role = message.role
        else:
            role = next((r for cls, r in roles if isinstance(message, cls)), "")
        if not role:
            raise ModelError(
                f"the local model cannot take a {type(message).__name__} "
                "(only system, human and AI messages)"
            )
        out.append({"role": role, "content": str(message.text)})
    return out


def make_chat_model(settings: Settings) -> BaseChatModel:
    """Build the chat model the settings ask for.

    Nothing is loaded or contacted here: the local model is assembled and loaded on its first
    call, and servers are first reached on the first call too.

    Args:
        settings: `llm` picks the backend; `llm_model`, `temperature`, `max_tokens` and the
            backend's URL and limits configure it.

    Returns:
        A LangChain chat model supporting `invoke` and `stream`.

    Raises:
        ConfigError: A setting the backend needs is missing.
        ModelError: The local model name is unknown or its file does not exist.
    """
    if settings.llm == "local":
        resolve_filename(settings.llm_model)  # fail now on a typo, not at the first question
        return ChatLlamaCpp(
            model=settings.llm_model,
            cache_dir=settings.model_cache_dir,
            n_ctx=settings.n_ctx,
            n_threads=settings.n_threads,
            n_batch=settings.n_batch,
            prompt_lookup=settings.prompt_lookup,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
        )
    if settings.llm == "openai":
        return _openai_chat_model(settings)
    if settings.llm == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(
            model=settings.llm_model,
            base_url=settings.ollama_url,
            temperature=settings.temperature,
            num_predict=settings.max_tokens,
            num_ctx=settings.n_ctx,
            seed=0,
            client_kwargs={"timeout": settings.request_timeout},
        )
    raise ConfigError(f"unknown LLM backend {settings.llm!r} (ASSISTANT_LLM)")


def _openai_chat_model(settings: Settings) -> BaseChatModel:
    """`ChatOpenAI` for an OpenAI-compatible server (see `make_chat_model`)."""
    if not settings.openai_base_url:
        raise ConfigError(
            "ASSISTANT_OPENAI_BASE_URL is not set; ASSISTANT_LLM=openai needs the server's "
            "base URL, e.g. http://127.0.0.1:8000/v1"
        )
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.openai_base_url,
        # Local servers (vLLM, llama.cpp, LM Studio) ignore the key but the client wants one.
        api_key=settings.openai_api_key or SecretStr("not-needed"),
        temperature=settings.temperature,
        max_completion_tokens=settings.max_tokens,  # the field's alias; sent as such
        # llama_cpp.server and other OpenAI-compatible servers only know the older
        # `max_tokens` and ignore `max_completion_tokens`; OpenAI itself refuses both at once
        extra_body=None
        if _is_openai(settings.openai_base_url)
        else {"max_tokens": settings.max_tokens},
        timeout=settings.request_timeout,
        max_retries=settings.max_retries,
    )


def describe_model(settings: Settings) -> str:
    """The chat model's name for people and reports, e.g. `llama3.2 (ollama)`.

    Args:
        settings: The settings `make_chat_model` would use.

    Returns:
        The model name and its backend.
    """
    if settings.llm == "local":
        return _local_display_name(settings.llm_model)
    return f"{settings.llm_model} ({settings.llm})"


def explain_llm_error(exc: Exception, settings: Settings) -> ModelError:
    """Turn an exception from a chat model call into a one-line `ModelError` for people.

    Recognises connection refused, timeouts, unknown models (HTTP 404) and rejected keys from
    openai, ollama and httpx, plus llama.cpp's context overflow, and names the setting to fix.

    Args:
        exc: What the chat model raised.
        settings: The settings the model was built from (for URLs and setting names).

    Returns:
        A `ModelError` whose `__cause__` is `exc` (or `exc` itself if it already is one).
    """
    if isinstance(exc, ModelError):
        return exc
    chain = _exception_chain(exc)
    names = {cls.__name__ for error in chain for cls in type(error).__mro__}
    status = next((s for e in chain if isinstance(s := getattr(e, "status_code", None), int)), None)
    model = settings.llm_model
    if settings.llm == "local":
        where = f"local model {model!r}"
        overflow = next((m for e in chain if (m := _CONTEXT_OVERFLOW.search(str(e)))), None)
        if overflow:
            message = (
                f"the prompt has {overflow[1]} tokens, more than the context window of "
                f"{overflow[2]} (ASSISTANT_N_CTX); lower ASSISTANT_TOP_K or ASSISTANT_CHUNK_SIZE"
            )
        else:
            message = f"{where} failed: {type(exc).__name__}: {_first_line(exc)}"
        return _caused(ModelError(message), exc)
    if settings.llm == "openai":
        url, url_setting = settings.openai_base_url or "(unset)", "ASSISTANT_OPENAI_BASE_URL"
    else:
        url, url_setting = settings.ollama_url, "ASSISTANT_OLLAMA_URL"
    server = f"LLM server at {url}"
    if names & _TIMEOUT_NAMES:
        message = (
            f"{server} did not answer within {settings.request_timeout:g}s "
            f"(ASSISTANT_REQUEST_TIMEOUT)"
        )
    elif names & _CONNECTION_NAMES:
        message = f"{server} is unreachable ({url_setting}): {_connection_reason(chain)}"
    elif status == 404:
        if settings.llm == "ollama":
            message = (
                f"{server} has no model {model!r} (ASSISTANT_LLM_MODEL); run `ollama pull {model}`"
            )
        else:
            message = (
                f"{server} has no model {model!r} (ASSISTANT_LLM_MODEL), or the URL is wrong "
                f"({url_setting}, usually ending in /v1)"
            )
    elif status in (401, 403):
        message = f"{server} rejected the API key (ASSISTANT_OPENAI_API_KEY): HTTP {status}"
    elif status is not None:
        message = f"{server} answered HTTP {status}: {_first_line(exc)}"
    else:
        message = f"{server} call failed: {type(exc).__name__}: {_first_line(exc)}"
    return _caused(ModelError(message), exc)


def _local_display_name(name: str) -> str:
    try:
        return f"{Path(resolve_filename(name)).stem} (local)"
    except ModelError:  # a file deleted after loading still deserves a name
        return f"{Path(name).stem} (local)"


def _usage(raw: Any) -> UsageMetadata | None:
    if not isinstance(raw, dict) or "prompt_tokens" not in raw:
        return None
    prompt = int(raw.get("prompt_tokens") or 0)
    completion = int(raw.get("completion_tokens") or 0)
    total = int(raw.get("total_tokens") or prompt + completion)
    return UsageMetadata(input_tokens=prompt, output_tokens=completion, total_tokens=total)


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """`exc` and its causes/contexts, outermost first (loops cut)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _connection_reason(chain: list[BaseException]) -> str:
    text = " ".join(str(error) for error in chain).lower()
    if any(isinstance(error, ConnectionRefusedError) for error in chain) or "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    return _first_line(chain[-1])


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


def _caused(error: ModelError, cause: Exception) -> ModelError:
    error.__cause__ = cause
    return error


def _is_openai(base_url: str) -> bool:
    """Whether `base_url` is OpenAI's own API (not a compatible server)."""
    from urllib.parse import urlparse

    host = (urlparse(base_url).hostname or "").lower()
    return host == "api.openai.com" or host.endswith(".openai.azure.com")
