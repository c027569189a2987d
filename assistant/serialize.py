"""JSON shapes of answers and articles, shared by the CLI (`--json`) and the HTTP API. Pure."""

from __future__ import annotations

from typing import Any

from assistant.records import ArticleInfo
from assistant.types import Answer


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """An answer with its citations (offsets into the article text), evidence and timings."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "abstain_reason": answer.abstain_reason,
        "standalone_question": answer.standalone_question,
        "citations": [c.model_dump(mode="json") for c in answer.citations],
        "unsupported": answer.unsupported,
        "uncovered": answer.uncovered,
        "model": answer.model,
        "evidence": [
            {
                "article_id": h.chunk.article_id,
                "start": h.chunk.start,
                "end": h.chunk.end,
                "text": h.chunk.text,
            }
            for h in answer.evidence
        ],
        "timings": {
            k: round(answer.timings.get(k, 0.0), 1)
            for k in ("retrieve_ms", "generate_ms", "total_ms")
        },
        "tokens": {
            k: int(answer.timings[k])
            for k in ("prompt_tokens", "completion_tokens")
            if k in answer.timings
        },
    }


def article_to_json(info: ArticleInfo) -> dict[str, Any]:
    """A stored article as listed (without its text)."""
    return {
        "id": info.id,
        "title": info.title,
        "source": info.source,
        "published": info.published.isoformat() if info.published else None,
        "url": info.url,
        "chunks": info.chunks,
    }
