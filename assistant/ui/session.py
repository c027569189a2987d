"""Per-browser-session state and the pool of assistants the sessions ask.

A session's history and answers live in `gr.State`, never shared between sessions; the only
thing sessions share is the pool of loaded models.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.errors import ConfigError
from assistant.types import Answer

if TYPE_CHECKING:
    from assistant.chain import Assistant
    from assistant.config import Settings

MAX_TURNS_KEPT = 50  # answers a session keeps for its citation links; older links go stale
MAX_MODELS_LOADED = 3  # distinct (model, temperature) assistants kept; each may hold a model


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
