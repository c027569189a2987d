"""Wiring of the answer step: verification over the evidence, the answer check, conflicts.

Uses a fake embedder (named as such); no model is called: the raw answer is given.
"""

from __future__ import annotations

import re
import tempfile
import time
import zlib
from typing import Any

import numpy as np

from assistant.chain import Assistant
from assistant.config import Settings
from assistant.types import Chunk, Hit

TRUE = "The game was played on February 7, 2021, at Raymond James Stadium in Tampa, Florida."
FAKE = "The game was played on February 7, 2021, at Raymond James Stadium in Glendale, Arizona."
FOUNDERS = "WhatsApp was founded in 2009 by Jan Koum and Brian Acton, two former Yahoo employees."


class FakeEmbedder:
    """Bag-of-words vectors in place of MiniLM."""

    model_id = "fake"

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 256))
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[i, zlib.crc32(word.encode()) % 256] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def _hit(article_id: str, text: str) -> Hit:
    chunk = Chunk(
        id=f"{article_id}:0", article_id=article_id, index=0, text=text, start=0, end=len(text)
    )
    return Hit(chunk=chunk, score=1.0, dense=0.8, title=f"Story {article_id}")


def _finish(question: str, raw: str, evidence: list[Hit], **settings: Any) -> Any:
    # an empty store of its own: the answer check reads the cited articles whole from the
    # store, and these hits are not stored, so it reads their passages
    settings.setdefault("data_dir", tempfile.mkdtemp(prefix="finish-"))
    a = Assistant(Settings(**settings), embedder=FakeEmbedder())  # type: ignore[arg-type]
    state = {
        "question": question,
        "standalone": question,
        "hits": evidence,
        "evidence": evidence,
        "relevant": True,
        "raw": raw,
        "timings": {},
        "started": time.perf_counter(),
    }
    return a._finish(state)


def test_a_conflicting_source_is_named_and_cited() -> None:
    evidence = [_hit("a", TRUE), _hit("b", FAKE)]
    answer = _finish(
        "Where was Super Bowl 2021 played?",
        "The game was played at Raymond James Stadium in Tampa, Florida [1].",
        evidence,
    )
    assert not answer.abstained
    assert "Tampa, Florida" in answer.text and "Glendale, Arizona" in answer.text
    assert [c.article_id for c in answer.citations] == ["a", "b"]
    assert answer.citations[1].quote == FAKE
    assert answer.evidence == evidence


def test_conflicts_off_picks_the_cited_one_only() -> None:
    evidence = [_hit("a", TRUE), _hit("b", FAKE)]
    answer = _finish(
        "Where was Super Bowl 2021 played?",
        "The game was played at Raymond James Stadium in Tampa, Florida [1].",
        evidence,
        conflicts=False,
    )
    assert "Glendale" not in answer.text
    assert len(answer.citations) == 1


def test_a_supported_sentence_that_does_not_answer_abstains_and_says_what_is_there() -> None:
    evidence = [_hit("a", FOUNDERS)]
    raw = "WhatsApp was founded in 2009 by Jan Koum and Brian Acton [1]."
    answer = _finish("Which company acquired WhatsApp in 2014?", raw, evidence)
    assert answer.abstained
    assert answer.text.startswith("The articles do not say.")
    assert "Jan Koum" in answer.text
    assert answer.citations and answer.citations[0].quote in FOUNDERS
    kept = _finish("Which company acquired WhatsApp in 2014?", raw, evidence, answer_check=False)
    assert not kept.abstained


def test_the_answer_check_reads_the_cited_article_whole(tmp_path: Any) -> None:
    """A quiz question paraphrases the whole story; the passage that answers it holds few of its
    words, the article holds them. Read only the passages, the same answer is off point."""
    from assistant.config import Settings as S
    from assistant.review import review_answer

    question = (
        "Which island nation plunged into chaos in recent days, prompting its leader to flee?"
    )
    passage = "Sri Lanka has plunged into chaos and its president has fled to Singapore."
    story = (
        f"{passage} The island nation of 22 million has been in crisis for months; protests "
        "prompted the leader to flee the capital in recent days."
    )
    hits = [_hit("lk", passage)]
    raw = "Sri Lanka plunged into chaos and its president fled [1]."
    embed = FakeEmbedder().embed

    def review(scope: str) -> Any:
        return review_answer(
            raw,
            question=question,
            hits=hits,
            evidence=hits,
            relevant=True,
            settings=S(data_dir=tmp_path, answer_check_scope=scope),  # type: ignore[arg-type]
            embed=embed,
            article_text={"lk": story}.__getitem__,
        )

    whole = review("articles")
    assert whole.reason is None and "Sri Lanka" in whole.text
    assert [c.article_id for c in whole.citations] == ["lk"]
    assert review("passages").reason == "off_point"
