"""The eval runner end to end: real MiniLM, Chroma and the local 0.5B model over seeds/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED_ID = "000_0f8c7ba43273ca44"
KEY_METRICS = (
    "answer_contains_gold",
    "answer_f1",
    "citation_precision",
    "citation_recall",
    "retrieval_recall_at_k",
    "mrr",
    "abstention_rate",
    "false_abstention_rate",
    "latency_ms_p50",
    "latency_ms_p95",
)


def _suite(tmp_path: Path) -> Path:
    cases = [
        {
            "id": "tariff",
            "question": "What tariff did Trump threaten?",
            "answers": ["100%", "100 percent"],
            "article_ids": [SEED_ID],
            "tags": ["numbers"],
        },
        {
            "id": "leader",
            "question": "Which Chinese leader will Trump meet?",
            "answers": ["Xi Jinping", "Xi"],
            "article_ids": [SEED_ID],
            "tags": ["people"],
        },
        {
            "id": "worldcup",
            "question": "Who won the 2022 World Cup?",
            "answers": [],
            "answerable": False,
            "tags": ["unanswerable"],
        },
    ]
    (tmp_path / "mini.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    suite = tmp_path / "mini.yaml"
    suite.write_text(f"name: mini\ncorpus: {SEEDS}\ncases_file: mini.jsonl\n")
    return suite


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def test_three_case_suite_end_to_end(make_assistant, tmp_path: Path) -> None:
    from assistant.evals import check_fail_under, run_suite, write_reports

    assistant = make_assistant(data_dir=tmp_path / "user-store")
    suite = _suite(tmp_path)
    cache = tmp_path / "evalstores"
    report = run_suite(suite, assistant=assistant, cache_dir=cache)

    assert [c.id for c in report.cases] == ["tariff", "leader", "worldcup"]
    assert report.errors == 0
    assert report.ingest["reused"] is False and report.ingest["articles"] == 1
    assert Path(report.ingest["store"]).parent == cache
    assert not (tmp_path / "user-store").exists()  # the user's store is never touched
    # one article in the corpus: every retrieved passage is from the gold article
    assert report.metrics["retrieval_recall_at_k"] == 1.0
    assert report.metrics["mrr"] == 1.0
    by_id = {c.id: c for c in report.cases}
    assert by_id["tariff"].correct, by_id["tariff"].answer
    assert by_id["worldcup"].abstained
    for case in report.cases:
        assert case.timings["total_ms"] > 0
        for citation in case.citations:
            article = assistant.derive(data_dir=Path(report.ingest["store"]) / "data").article(
                citation["article_id"]
            )
            assert article.text[citation["start"] : citation["end"]] == citation["quote"]

    paths = write_reports(report, tmp_path / "report")
    data = json.loads(paths[0].read_text())
    assert set(KEY_METRICS) <= set(data["metrics"])
    assert len(data["cases"]) == 3
    assert "## Worst cases" in paths[1].read_text()
    parser = _Tags()
    parser.feed(paths[2].read_text())
    assert parser.tags.count("details") == 3 and "svg" in parser.tags
    assert check_fail_under(report, ["retrieval_recall_at_k=1.0"]) == []

    again = run_suite(suite, assistant=assistant, cache_dir=cache, limit=1)
    assert again.ingest["reused"] is True
    assert again.ingest["store"] == report.ingest["store"]


def test_cli_eval_writes_reports_and_gates(tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),  # evalstores go here, not in ~/.cache
        "ASSISTANT_DATA_DIR": str(tmp_path / "user-store"),
    }
    cmd = [sys.executable, "-m", "assistant", "eval", str(suite), "--limit", "1"]
    done = subprocess.run(
        [*cmd, "--report", str(tmp_path / "out"), "--json", "--fail-under", "mrr=1.0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(KEY_METRICS) <= set(data["metrics"])
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "report.json",
        "report.md",
        "report.html",
    }
    assert any((tmp_path / "cache" / "assistant" / "evalstores").iterdir())

    failed = subprocess.run(
        [*cmd, "--fail-under", "false_abstention_rate=-1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert failed.returncode == 1
    assert "false_abstention_rate" in failed.stderr
