"""End to end with real parts: MiniLM, Chroma in tmp_path, the local 0.5B GGUF."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.integration

SEED_ID = "000_0f8c7ba43273ca44"


def test_tariff_question_is_answered_with_a_checkable_citation(seeded) -> None:
    answer = seeded.ask("What tariff did Trump threaten?")
    assert not answer.abstained, answer
    assert "100%" in answer.text or "100 percent" in answer.text
    assert answer.citations, "the answer must cite its source"
    article = seeded.article(SEED_ID)
    for c in answer.citations:
        assert article.text[c.start : c.end] == c.quote
        assert f"[{c.n}]" in answer.text
    assert any("100%" in c.quote for c in answer.citations)
    assert answer.timings["total_ms"] > 0


def test_unanswerable_question_abstains(seeded) -> None:
    answer = seeded.ask("Who won the 2022 World Cup?")
    assert answer.abstained
    assert "do not say" in answer.text.lower()
    assert not answer.citations


def test_stream_yields_pieces_then_the_answer(seeded) -> None:
    from assistant.types import Answer

    items = list(seeded.stream("Which countries will Trump visit on his trip to Asia?"))
    assert isinstance(items[-1], Answer)
    pieces = [p for p in items[:-1] if isinstance(p, str)]
    assert len(pieces) > 1
    assert "first_token_ms" in items[-1].timings


def test_reingest_does_no_embedding_work(seeded) -> None:
    before = seeded.embedder.calls
    report = seeded.ingest([SEEDS])
    assert report.unchanged == [SEED_ID]
    assert report.chunks == 0
    assert seeded.embedder.calls == before


def test_changed_article_replaces_its_chunks(make_assistant, tmp_path: Path) -> None:
    a = make_assistant()
    path = tmp_path / "story.txt"
    path.write_text("Ship sinks\nA cargo ship sank off Lisbon on Monday.\n" * 1, encoding="utf-8")
    a.ingest([path])
    path.write_text("Ship floats\nThe cargo ship was refloated near Porto on Tuesday.\n")
    report = a.ingest([path])
    assert report.updated == ["story"]
    assert a.article("story").title == "Ship floats"
    texts = [h.chunk.text for h in a.retrieve("cargo ship", k=10)]
    assert texts and all("Porto" in t for t in texts)
    assert a.store.count_chunks() == len(texts)


def test_remove_deletes_article_and_chunks(seeded) -> None:
    assert seeded.remove(SEED_ID)
    assert seeded.store.count_chunks() == 0
    assert seeded.articles() == []
    assert not seeded.remove(SEED_ID)
    assert seeded.ask("What tariff did Trump threaten?").abstained


def test_store_refuses_another_embedding_model(seeded, tmp_path: Path) -> None:
    from assistant.errors import StoreError
    from assistant.store import Store

    with pytest.raises(StoreError, match="embedding model"):
        Store(seeded.settings, "some-other-model")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.txt", b""),
        ("binary.txt", b"\x00\x01\x02\xff\xfe" * 200),
        ("latin.txt", None),
    ],
)
def test_bad_input_is_one_clear_line_and_store_keeps_what_it_had(
    seeded, tmp_path: Path, name: str, content: bytes | None
) -> None:
    path = tmp_path / name
    if content is None:  # invalid UTF-8 that is not text in any encoding either
        content = bytes(range(128, 256)) * 40 + b"\x00"
    path.write_bytes(content)
    before = (seeded.store.count_chunks(), [a.id for a in seeded.articles()])
    report = seeded.ingest([path])
    assert len(report.errors) == 1
    line = report.errors[0]
    assert "\n" not in line and name in line
    assert (seeded.store.count_chunks(), [a.id for a in seeded.articles()]) == before


def _cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )


@pytest.mark.slow
def test_cli_ingest_ask_json_remove(tmp_path: Path) -> None:
    data = tmp_path / "cli-store"
    out = _cli("ingest", str(SEEDS), "--json", data_dir=data)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["added"] == [SEED_ID]
    out = _cli("ask", "What tariff did Trump threaten?", "--json", data_dir=data)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert set(got) >= {"question", "answer", "abstained", "citations", "model", "timings"}
    assert "100" in got["answer"] and got["citations"]
    assert set(got["timings"]) == {"retrieve_ms", "generate_ms", "total_ms"}
    out = _cli("articles", "--json", data_dir=data)
    assert [a["id"] for a in json.loads(out.stdout)] == [SEED_ID]
    out = _cli("remove", SEED_ID, data_dir=data)
    assert out.returncode == 0
    out = _cli("remove", SEED_ID, data_dir=data)
    assert out.returncode == 1 and SEED_ID in out.stderr


def test_cli_bad_file_exits_nonzero_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "nothing.txt"
    bad.write_text("   \n\n")
    out = _cli("ingest", str(bad), data_dir=tmp_path / "s")
    assert out.returncode == 1
    assert "nothing.txt" in out.stderr
    assert out.stderr.count("\n") == 1
