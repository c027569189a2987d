"""Evidence selection, the answer check and conflicting sources with the real parts.

Real MiniLM, a real Chroma store in tmp_path and the local GGUF model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _write(folder: Path, records: list[dict[str, str]]) -> Path:
    folder.mkdir()
    path = folder / "news.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_the_model_sees_selected_sentences_with_exact_offsets_and_a_shorter_prompt(
    seeded,
) -> None:
    question = "What tariff did Trump threaten?"
    answer = seeded.ask(question)
    assert not answer.abstained, answer
    assert answer.evidence, answer
    for hit in answer.evidence:
        article = seeded.article(hit.chunk.article_id)
        assert article.text[hit.chunk.start : hit.chunk.end] == hit.chunk.text
    assert sum(len(h.chunk.text) for h in answer.evidence) < sum(
        len(h.chunk.text) for h in answer.hits
    )
    for c in answer.citations:
        assert seeded.article(c.article_id).text[c.start : c.end] == c.quote
    whole = seeded.derive(evidence=False).ask(question)
    assert answer.timings["prompt_tokens"] < whole.timings["prompt_tokens"]


def test_sources_that_disagree_are_both_cited(make_assistant, tmp_path: Path) -> None:
    records = [
        {
            "id": "gazette-flood",
            "title": "Flooding hits river towns",
            "source": "Valley Gazette",
            "published": "2024-05-02",
            "text": "Heavy rain swelled the Arden river on Wednesday. The flood in Millbrook "
            "destroyed 40 homes, the mayor said. Schools stayed closed on Thursday while crews "
            "cleared the roads and volunteers handed out food at the town hall.",
        },
        {
            "id": "courier-flood",
            "title": "Millbrook counts the cost",
            "source": "County Courier",
            "published": "2024-05-03",
            "text": "Residents returned to mud-filled streets after the weekend. The flood in "
            "Millbrook destroyed 65 homes, the mayor said. Insurers sent assessors and the "
            "state promised emergency grants for families who lost everything.",
        },
    ]
    a = make_assistant()
    assert a.ingest([_write(tmp_path / "news", records)]).ok
    answer = a.ask("How many homes did the flood in Millbrook destroy?")
    assert not answer.abstained, answer
    assert "40" in answer.text and "65" in answer.text, answer.text
    assert {c.article_id for c in answer.citations} == {"gazette-flood", "courier-flood"}
    for c in answer.citations:
        assert a.article(c.article_id).text[c.start : c.end] == c.quote


def test_a_related_passage_that_does_not_answer_gets_an_abstention(
    make_assistant, tmp_path: Path
) -> None:
    records = [
        {
            "id": "founders",
            "title": "The story of a messaging app",
            "source": "Tech Weekly",
            "published": "2019-02-24",
            "text": "WhatsApp was founded in 2009 by Jan Koum and Brian Acton, two former "
            "Yahoo employees. The app grew quickly in Europe and India. By 2013 it had more "
            "than 200 million monthly users, and its founders refused to run advertising.",
        }
    ]
    a = make_assistant()
    assert a.ingest([_write(tmp_path / "news", records)]).ok
    answer = a.ask("Which company bought WhatsApp in 2014, and for how much?")
    assert answer.abstained, answer
    assert answer.text.startswith("The articles do not say")
