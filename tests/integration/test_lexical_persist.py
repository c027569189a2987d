"""The BM25 index kept on disk: a new process loads it, or catches up on what changed since.

Real MiniLM and Chroma. A fresh `LexicalIndex` stands for a new process; each catch-up must
score every query exactly as an index built from scratch over the same store does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.retrieve import LexicalIndex
from tests.conftest import SEEDS

pytestmark = pytest.mark.integration

QUERIES = [
    "What tariff did Trump threaten?",
    "rare earth export controls",
    "harbour ferry timetable",
    "council budget vote",
    "storm damage at the river bridge",
]


def _write(path: Path, name: str, n: int) -> Path:
    topics = ["harbour ferry", "council budget", "river bridge storm", "school library"]
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            topic = topics[i % len(topics)]
            text = (
                f"The {topic} story number {i} from {name}. Officials said the {topic} plan "
                f"would cost {i + 3} million dollars. Residents asked about item {i * 11}."
            )
            out.write(json.dumps({"id": f"{name}-{i}", "title": f"{name} {topic}", "text": text}))
            out.write("\n")
    return path


def _scores(index: LexicalIndex) -> list[dict[str, float]]:
    return [{cid: round(s, 4) for cid, s in index.search(q, 50)} for q in QUERIES]


def _fresh(assistant) -> LexicalIndex:  # type: ignore[no-untyped-def]
    return LexicalIndex(assistant.store, assistant.retriever.lexical.cache_dir)


def test_a_new_process_loads_the_saved_index_or_catches_up_exactly(
    make_assistant, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    a = make_assistant()
    assert a.ingest([SEEDS, _write(tmp_path / "first.jsonl", "first", 20)]).ok
    scratch = LexicalIndex(a.store)  # no cache: built from every chunk in Chroma
    built = _scores(scratch)
    assert scratch.built == "built"
    assert any(built)  # the queries find something

    again = _fresh(a)  # the ingest saved its index: a new process loads it
    assert _scores(again) == built
    assert again.built == "loaded"  # not read from Chroma again

    assert a.ingest([_write(tmp_path / "second.jsonl", "second", 12)]).ok
    assert a.remove("first-3") and a.remove("first-7")
    caught_up = _fresh(a)
    after = _scores(caught_up)
    assert caught_up.built == "caught up"
    scratch = LexicalIndex(a.store)  # no cache: built from every chunk in Chroma
    assert after == _scores(scratch)
    assert scratch.built == "built"
    found = {cid for scores in after for cid in scores}
    assert any(cid.startswith("second-") for cid in found)
    assert not any(cid.startswith(("first-3#", "first-7#")) for cid in found)
    assert len(list(caught_up.cache_dir.glob("rev-*"))) <= 2  # type: ignore[union-attr]


def test_a_deleted_or_torn_cache_is_rebuilt(make_assistant) -> None:  # type: ignore[no-untyped-def]
    a = make_assistant()
    assert a.ingest([SEEDS]).ok
    first = _fresh(a)
    built = _scores(first)
    assert first.built == "loaded"
    for folder in first.cache_dir.glob("rev-*"):  # type: ignore[union-attr]
        (folder / "ids.json").write_text("[", encoding="utf-8")
    torn = _fresh(a)
    assert _scores(torn) == built
    assert torn.built == "built"


def test_a_new_process_reads_the_saved_near_duplicate_groups(
    make_assistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from assistant.dedup import DuplicateIndex

    story = (
        "The harbour council approved a night ferry to Marlow Island on Monday, after a vote of "
        "seven to two. The ferry will run every hour from nine in the evening until two in the "
        "morning, starting in March, and tickets will cost four dollars for adults."
    )
    path = tmp_path / "wire.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for aid, source in (("wire-ap", "AP"), ("wire-nbc", "NBC")):
            out.write(
                json.dumps({"id": aid, "title": "Night ferry", "source": source, "text": story})
            )
            out.write("\n")
    a = make_assistant()
    assert a.ingest([SEEDS, path]).ok
    built = DuplicateIndex(a.store)  # no cache: from every article's signature
    want = ([o.article_id for o in built.group("wire-nbc")], built.groups())
    assert want[0] == ["wire-ap", "wire-nbc"] and len(want[1]) == 1
    seed_id = next(i.id for i in a.articles() if not i.id.startswith("wire-"))
    cache_dir = a.retriever.duplicates.cache_dir
    assert cache_dir is not None and list(cache_dir.glob("rev-*.json"))  # the ingest saved them

    by_id = a.store.article_signatures
    asked: list[str] = []

    def no_signatures(ids: list[str] | None = None, **kwargs: object) -> object:
        if ids is None:
            raise AssertionError("read every article's signature instead of the saved groups")
        asked.extend(ids)
        return by_id(ids)

    monkeypatch.setattr(a.store, "article_signatures", no_signatures)
    loaded = DuplicateIndex(a.store, cache_dir=cache_dir)
    assert ([o.article_id for o in loaded.group("wire-nbc")], loaded.groups()) == want
    assert asked == []
    assert loaded.group(seed_id) == built.group(seed_id)  # an article alone in its group
    assert set(asked) == {seed_id}  # its outlet, looked up when asked for
    assert loaded.group("missing") == []
