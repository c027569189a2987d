"""The assistant: question answering over news articles with citations a reader can check.

Heavy dependencies load lazily, so `import assistant` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.types import Answer, Article, Chunk, Citation, Hit, IngestReport

if TYPE_CHECKING:
    from assistant.chain import Assistant
    from assistant.retriever import AssistantRetriever

__all__ = [
    "Answer",
    "Article",
    "Assistant",
    "AssistantRetriever",
    "Chunk",
    "Citation",
    "Hit",
    "IngestReport",
    "Settings",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Assistant":
        from assistant.chain import Assistant

        return Assistant
    if name == "AssistantRetriever":
        from assistant.retriever import AssistantRetriever

        return AssistantRetriever
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
