"""Unit tests of the retrieval-only eval mode (`run_suite(retrieval_only=True)`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.cli import build_parser
from assistant.config import Settings
from assistant.errors import StoreError
from assistant.evals import METRICS, RETRIEVAL_METRICS, render_summary, run_suite
from assistant.types import Answer, Article, Chunk, Hit, IngestReport


def _hit(article_id: str, rank: int, dense: float = 0.5) -> Hit:
    chunk = Chunk(
        id=f"{article_id}:{rank}", article_id=article_id, index=0, text="x", start=0, end=1
    )
    return Hit(chunk=chunk, score=1.0 / rank, dense=dense)


class FakeRetrievingAssistant:
    """Ranked article ids per question; `ask` must not be called in a retrieval-only run."""

    def __init__(self, settings: Settings, ranked: Mapping[str, list[str] | Exception]) -> None:
        self.settings = settings
        self.ranked = ranked
        self.retrieved: list[tuple[str, int | None, date | None]] = []

    def derive(self, **overrides: Any) -> FakeRetrievingAssistant:
        child = FakeRetrievingAssistant(self.settings.model_copy(update=overrides), self.ranked)
        child.retrieved = self.retrieved
        return child

    def ingest(self, paths: Iterable[str | Path], *, progress: bool = False) -> IngestReport:
        return IngestReport(added=[Path(p).stem for p in paths], chunks=1)

    def ask(self, question: str, *args: Any, **kwargs: Any) -> Answer:
        raise AssertionError("a retrieval-only run must not ask")

    def retrieve(
        self, question: str, *, k: int | None = None, as_of: date | None = None
    ) -> list[Hit]:
        self.retrieved.append((question, k, as_of))
        found = self.ranked.get(question, [])
        if isinstance(found, Exception):
            raise found
        return [_hit(a, i + 1, dense=0.9 - 0.01 * i) for i, a in enumerate(found[: k or 5])]

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), 4)) / 2.0

    def article(self, article_id: str) -> Article:
        return Article(id=article_id, title="t", text="text")


def _suite(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "gold.txt").write_text("Some text.", encoding="utf-8")
    rows = [
        {"id": "first", "question": "Q first?", "answers": ["a"], "article_ids": ["gold"]},
        {
            "id": "seventh",
            "question": "Q seventh?",
            "answers": ["a"],
            "article_ids": ["gold"],
            "question_date": "2022-06-16",
        },
        {"id": "deep", "question": "Q deep?", "answers": ["a"], "article_ids": ["gold"]},
        {"id": "missed", "question": "Q missed?", "answers": ["a"], "article_ids": ["gold"]},
        {"id": "none", "question": "Q none?", "answers": [], "answerable": False},
    ]
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: r\ncorpus: corpus\ncases_file: cases.jsonl\n", encoding="utf-8")
    return suite


def _ranked() -> dict[str, list[str] | Exception]:
    other = [f"o{i}" for i in range(30)]
    return {
        "Q first?": ["gold", *other],
        "Q seventh?": [*other[:6], "gold", *other],
        "Q deep?": [*other[:15], "gold", *other],
        "Q missed?": other,
        "Q none?": other,
    }


def test_retrieval_only_scores_recall_at_k_10_20_and_mrr(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "store", evaldata_dir=tmp_path / "evaldata")
    fake = FakeRetrievingAssistant(settings, _ranked())
    report = run_suite(
        _suite(tmp_path), assistant=fake, cache_dir=tmp_path / "cache", retrieval_only=True
    )
    m = report.metrics
    assert report.retrieval_only and set(m) == set(METRICS)
    assert m["retrieval_recall_at_k"] == pytest.approx(1 / 4)
    assert m["mrr"] == pytest.approx(1 / 4)
    assert m["retrieval_recall_at_10"] == pytest.approx(2 / 4)
    assert m["retrieval_recall_at_20"] == pytest.approx(3 / 4)
    assert report.counts["retrieval_recall_at_20"] == 4
    # nothing but retrieval is scored: no answer, citation or abstention metric
    for name in METRICS:
        if name not in RETRIEVAL_METRICS and not name.startswith(("latency", "retrieve_ms")):
            assert m[name] is None, name
    assert m["retrieve_ms_p50"] is not None and report.abstention_tradeoff == []
    by_id = {c.id: c for c in report.cases}
    assert by_id["first"].correct and not by_id["seventh"].correct
    assert by_id["seventh"].retrieved[6] == "gold" and len(by_id["seventh"].retrieved) == 20
    assert by_id["first"].relevance == pytest.approx(0.9)
    # each case is retrieved at k and at the deepest depth, as of its question date
    assert ("Q seventh?", settings.top_k, date(2022, 6, 16)) in fake.retrieved
    assert ("Q seventh?", 20, date(2022, 6, 16)) in fake.retrieved
    assert ("Q first?", settings.top_k, None) in fake.retrieved
    summary = render_summary(report)
    assert "retrieval_recall_at_20" in summary and "answer_f1" not in summary


def test_retrieval_only_records_a_failing_case(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "store", evaldata_dir=tmp_path / "evaldata")
    ranked = {**_ranked(), "Q deep?": StoreError("index unavailable")}
    report = run_suite(
        _suite(tmp_path),
        assistant=FakeRetrievingAssistant(settings, ranked),
        cache_dir=tmp_path / "cache",
        retrieval_only=True,
    )
    deep = next(c for c in report.cases if c.id == "deep")
    assert deep.error and "index unavailable" in deep.error and report.errors == 1
    assert deep.scores["retrieval_recall_at_20"] == 0.0


def test_cli_has_retrieval_only_flag() -> None:
    args = build_parser().parse_args(["eval", "evals/seeds.yaml", "--retrieval-only"])
    assert args.retrieval_only is True
    assert build_parser().parse_args(["eval", "x.yaml"]).retrieval_only is False
