"""The domain model: Article, Chunk, Hit, Citation, Answer, IngestReport. Stdlib + pydantic only."""

from __future__ import annotations

import hashlib
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def text_sha256(text: str) -> str:
    """Hex sha256 of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Article(_Frozen):
    """One news article: clean body text plus metadata."""

    id: str
    title: str
    text: str
    source: str | None = None
    url: str | None = None
    published: date | None = None
    author: str | None = None
    path: str | None = Field(None, description="File it was loaded from, if any.")
    sha256: str = ""

    @model_validator(mode="after")
    def _fill_hash(self) -> Article:
        if not self.sha256:
            object.__setattr__(self, "sha256", text_sha256(self.text))
        return self


class Chunk(_Frozen):
    """A passage of an article; `text == article.text[start:end]`."""

    id: str
    article_id: str
    index: int
    text: str
    start: int
    end: int


class Outlet(_Frozen):
    """Another article telling the same story (a near-duplicate, e.g. the same wire report)."""

    article_id: str
    title: str
    source: str | None = None
    url: str | None = None
    published: date | None = None


class Hit(_Frozen):
    """A retrieved chunk with its scores and the metadata of its article."""

    chunk: Chunk
    score: float = Field(description="Fused ranking score (higher is better).")
    dense: float | None = Field(None, description="Cosine similarity to the question.")
    lexical: float | None = Field(None, description="BM25 score.")
    title: str = ""
    source: str | None = None
    published: date | None = None
    url: str | None = None
    also_in: list[Outlet] = Field(
        default_factory=list, description="Near-duplicate articles left out in favour of this one."
    )


class Citation(_Frozen):
    """A numbered source backing part of an answer; `quote == article.text[start:end]`."""

    n: int
    article_id: str
    title: str
    source: str | None = None
    published: date | None = None
    url: str | None = None
    chunk_id: str
    quote: str
    start: int
    end: int
    score: float = Field(0.0, description="How well the quote supports the cited sentence.")
    also_in: list[Outlet] = Field(
        default_factory=list, description="Other outlets that published the same story."
    )


class Answer(_Frozen):
    """The assistant's reply to one question."""

    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    abstained: bool = False
    abstain_reason: str | None = Field(
        None,
        description="Why it abstained: no_passages (nothing relevant retrieved), model (the "
        "model said the articles do not say), unsupported (no cited sentence is backed by its "
        "passage), off_point (cited, but not an answer to the question); None for an answer.",
    )
    standalone_question: str | None = None
    hits: list[Hit] = Field(default_factory=list)
    evidence: list[Hit] = Field(
        default_factory=list,
        description="What the model was shown, numbered [1]..: the sentences of `hits` selected "
        "for the question (or the whole passages when evidence selection is off).",
    )
    model: str = ""
    timings: dict[str, float] = Field(default_factory=dict)
    settings_hash: str = ""
    unsupported: list[str] = Field(
        default_factory=list,
        description="Answer sentences no retrieved passage supports (kept, but marked).",
    )
    uncovered: list[str] = Field(
        default_factory=list,
        description="Parts of the question the sources do not answer (said in the text).",
    )


class IngestReport(_Frozen):
    """What one ingest did."""

    added: list[str] = Field(default_factory=list, description="New article ids.")
    updated: list[str] = Field(default_factory=list, description="Changed article ids.")
    unchanged: list[str] = Field(default_factory=list, description="Skipped, already stored.")
    errors: list[str] = Field(default_factory=list, description="One line per rejected input.")
    chunks: int = Field(0, description="Chunks embedded and stored.")
    duplicates: dict[str, list[str]] = Field(
        default_factory=dict,
        description="New or changed article id -> the stored articles it near-duplicates.",
    )
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors
