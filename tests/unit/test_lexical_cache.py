"""The BM25 index on disk: saved per revision, loaded back the same, pruned, never trusted torn."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from assistant import lexical_cache
from assistant.lexical_cache import (
    KEEP,
    Corpus,
    CorpusBuilder,
    build_bm25,
    load_index,
    load_newest_corpus,
    save,
)

DOCS = [[0, 1, 2], [2, 3], [], [1, 1, 4]]
VOCAB = {"": 0, "tariff": 1, "china": 2, "rare": 3, "earth": 4}
IDS = ["a:0@v", "a:1@v", "b:0@v", "c:0@v"]


def _corpus(ids: list[str], docs: list[list[int]], vocab: dict[str, int]) -> Corpus:
    builder = CorpusBuilder(vocab)
    for doc_id, doc in zip(ids, docs, strict=True):
        builder.add(doc_id, doc)
    return builder.corpus()


def _index(corpus: Corpus):  # type: ignore[no-untyped-def]
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index(([corpus.doc(i) for i in range(len(corpus.ids))], corpus.vocab), show_progress=False)
    return bm25


def test_corpus_keeps_each_document_s_tokens() -> None:
    corpus = _corpus(IDS, DOCS, VOCAB)
    assert [corpus.doc(i) for i in range(len(IDS))] == DOCS
    assert corpus.tokens.dtype == np.int32 and list(corpus.offsets) == [0, 3, 5, 5, 8]


def test_a_saved_index_loads_back_with_the_same_scores(tmp_path: Path) -> None:
    corpus = _corpus(IDS, DOCS, VOCAB)
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
    corpus = _corpus(IDS, DOCS, VOCAB)
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
    corpus = _corpus(IDS, DOCS, VOCAB)
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
    corpus = _corpus(IDS, DOCS, VOCAB)
    save(blocker, "rev1", _index(corpus), corpus)  # does not raise
    assert load_index(blocker, "rev1") is None


def _random_corpus(n_docs: int, n_vocab: int, seed: int) -> Corpus:
    rng = np.random.default_rng(seed)
    docs = [
        [int(t) % n_vocab for t in rng.zipf(1.3, size=int(rng.integers(0, 120)))]
        for _ in range(n_docs)
    ]
    vocab = {f"w{i}": i for i in range(n_vocab)}
    return _corpus([f"d{i}" for i in range(n_docs)], docs, vocab)


@pytest.mark.parametrize("block", [7, 1024])
def test_build_bm25_gives_bm25s_own_index(block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # several blocks (7 documents each) and one block must both give bm25s's matrix
    monkeypatch.setattr(lexical_cache, "_BLOCK", block)
    corpus = _random_corpus(300, 500, seed=block)
    ours, theirs = build_bm25(corpus), _index(corpus)
    assert np.array_equal(ours.scores["indptr"], theirs.scores["indptr"])
    assert np.array_equal(ours.scores["indices"], theirs.scores["indices"])
    assert np.allclose(ours.scores["data"], theirs.scores["data"], rtol=1e-5, atol=0)
    assert ours.scores["num_docs"] == theirs.scores["num_docs"] == 300
    assert ours.vocab_dict == theirs.vocab_dict
    for terms in (["w1"], ["w2", "w40"], ["w499", "w3", "w1"]):
        assert np.allclose(ours.get_scores(terms), theirs.get_scores(terms), rtol=1e-5)


def test_a_built_index_saves_and_loads_like_bm25s_own(tmp_path: Path) -> None:
    corpus = _corpus(IDS, DOCS, VOCAB)
    save(tmp_path, "rev1", build_bm25(corpus), corpus)
    loaded = load_index(tmp_path, "rev1")
    assert loaded is not None
    assert np.allclose(loaded[0].get_scores(["china"]), _index(corpus).get_scores(["china"]))


def test_a_corpus_selects_and_concatenates_documents_in_any_order() -> None:
    old = _corpus(IDS, DOCS, VOCAB)
    assert old.select([0, 1, 2, 3]) is old  # all of it, in order: no copy
    for rows in ([0, 1, 2], [3, 0], [1, 3], []):
        builder = CorpusBuilder(VOCAB)
        builder.add("new", [4, 4, 2])
        built = Corpus.concat([old.select(rows), builder.corpus()], VOCAB)
        assert built.ids == [IDS[r] for r in rows] + ["new"]
        want = [DOCS[r] for r in rows] + [[4, 4, 2]]
        assert [built.doc(i) for i in range(len(built.ids))] == want
        assert built.tokens.dtype == np.int32 and list(built.offsets[:1]) == [0]


def test_a_corpus_renumbered_into_another_vocabulary_keeps_its_words() -> None:
    other = {"zebra": 0, "china": 1}
    moved = _corpus(IDS, DOCS, VOCAB).in_vocab(other)
    words = {i: w for w, i in other.items()}
    back = {i: w for w, i in VOCAB.items()}
    for i, doc in enumerate(DOCS):
        assert [words[t] for t in moved.doc(i)] == [back[t] for t in doc]
