"""The BM25 index on disk: saved per revision, loaded back the same, pruned, never trusted torn."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from assistant.lexical_cache import KEEP, Corpus, load_index, load_newest_corpus, save

DOCS = [[0, 1, 2], [2, 3], [], [1, 1, 4]]
VOCAB = {"": 0, "tariff": 1, "china": 2, "rare": 3, "earth": 4}
IDS = ["a:0@v", "a:1@v", "b:0@v", "c:0@v"]


def _index(corpus: Corpus):  # type: ignore[no-untyped-def]
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index(([corpus.doc(i) for i in range(len(corpus.ids))], corpus.vocab), show_progress=False)
    return bm25


def test_corpus_keeps_each_document_s_tokens() -> None:
    corpus = Corpus.from_lists(IDS, DOCS, VOCAB)
    assert [corpus.doc(i) for i in range(len(IDS))] == DOCS
    assert corpus.tokens.dtype == np.int32 and list(corpus.offsets) == [0, 3, 5, 5, 8]


def test_a_saved_index_loads_back_with_the_same_scores(tmp_path: Path) -> None:
    corpus = Corpus.from_lists(IDS, DOCS, VOCAB)
    bm25 = _index(corpus)
    save(tmp_path, "rev1", bm25, corpus)
    loaded = load_index(tmp_path, "rev1")
    assert loaded is not None
    again, ids = loaded
    assert ids == IDS
    for terms in (["tariff"], ["china", "rare"], ["earth", "tariff"]):
        assert np.allclose(again.get_scores(terms), bm25.get_scores(terms))
    assert load_index(tmp_path, "rev2") is None  # another revision: not this index
    rev, back = load_newest_corpus(tmp_path) or ("", None)
    assert rev == "rev1" and back is not None
    assert back.ids == IDS and back.vocab == VOCAB
    assert [back.doc(i) for i in range(len(IDS))] == DOCS


def test_only_the_newest_revisions_are_kept(tmp_path: Path) -> None:
    corpus = Corpus.from_lists(IDS, DOCS, VOCAB)
    bm25 = _index(corpus)
    for n in range(KEEP + 2):
        save(tmp_path, f"rev{n}", bm25, corpus)
        folder = tmp_path / f"rev-rev{n}"
        folder.touch()  # distinct mtimes, in order
        os.utime(folder, (n, n))
    kept = sorted(p.name for p in tmp_path.glob("rev-*"))
    assert len(kept) == KEEP
    assert not list(tmp_path.glob(".tmp-*"))


@pytest.mark.parametrize("damage", ["ids", "corpus", "bm25"])
def test_a_torn_folder_is_ignored_not_trusted(tmp_path: Path, damage: str) -> None:
    corpus = Corpus.from_lists(IDS, DOCS, VOCAB)
    save(tmp_path, "rev1", _index(corpus), corpus)
    folder = tmp_path / "rev-rev1"
    if damage == "ids":
        (folder / "ids.json").write_text("[1, 2", encoding="utf-8")
        assert load_index(tmp_path, "rev1") is None
        assert load_newest_corpus(tmp_path) is None
    elif damage == "corpus":
        (folder / "corpus.npz").write_bytes(b"not a zip")
        assert load_newest_corpus(tmp_path) is None
    else:
        for f in (folder / "bm25").iterdir():
            f.unlink()
        assert load_index(tmp_path, "rev1") is None


def test_an_unwritable_cache_is_only_slower(tmp_path: Path) -> None:
    blocker = tmp_path / "lexical"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    corpus = Corpus.from_lists(IDS, DOCS, VOCAB)
    save(blocker, "rev1", _index(corpus), corpus)  # does not raise
    assert load_index(blocker, "rev1") is None
