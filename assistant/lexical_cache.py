"""The BM25 index on disk, keyed by the store's revision, so a new process need not rebuild it.

Building BM25 means reading and tokenising every chunk in the store: about 20 s at 100k chunks,
paid by every process at its first question. `retrieve.LexicalIndex` keeps what it built in
`<data dir>/lexical/<key>/rev-<revision>/`: the bm25s index (loaded memory-mapped), the store
ids of its documents, and each document's token ids (for the next incremental build). A process
whose store is at a saved revision loads it; one whose store moved on loads the newest saved
state and tokenises only the chunks added since (see `LexicalIndex`).

Writes are atomic (a temporary folder renamed into place), so a reader never sees half an
index; several processes may save the same revision, the first rename wins. Anything unreadable
is ignored and rebuilt: the cache can always be deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import uuid
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

KEEP = 2  # saved revisions kept per store (the newest); older ones are deleted

log = logging.getLogger(__name__)


@dataclass
class Corpus:
    """The documents of a BM25 index: store ids, their token ids, the vocabulary."""

    ids: list[str]
    tokens: np.ndarray  # int32, every document's token ids one after another
    offsets: np.ndarray  # int64, len(ids) + 1: document i is tokens[offsets[i]:offsets[i + 1]]
    vocab: dict[str, int]

    def doc(self, i: int) -> list[int]:
        return self.tokens[self.offsets[i] : self.offsets[i + 1]].tolist()  # type: ignore[no-any-return]

    def in_vocab(self, vocab: dict[str, int]) -> Corpus:
        """This corpus with its token ids in `vocab`'s numbering (new tokens are added)."""
        by_id = sorted(self.vocab.items(), key=lambda item: item[1])
        remap = np.zeros(len(by_id), dtype=np.int32)
        for token, i in by_id:
            remap[i] = vocab.setdefault(token, len(vocab))
        return Corpus(self.ids, remap[self.tokens], self.offsets, vocab)

    def select(self, rows: list[int]) -> Corpus:
        """Documents `rows` in that order (this corpus itself when that is all of them)."""
        n = len(self.ids)
        if len(rows) == n and rows == list(range(n)):
            return self
        lengths = np.diff(self.offsets)[rows] if rows else np.zeros(0, dtype=np.int64)
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        tokens = np.empty(int(offsets[-1]), dtype=np.int32)
        for i, row in enumerate(rows):
            tokens[offsets[i] : offsets[i + 1]] = self.tokens[
                self.offsets[row] : self.offsets[row + 1]
            ]
        return Corpus([self.ids[r] for r in rows], tokens, offsets, self.vocab)

    @classmethod
    def concat(cls, parts: list[Corpus], vocab: dict[str, int]) -> Corpus:
        """The documents of `parts` one after another (all numbered in `vocab`)."""
        if len(parts) == 1:
            return Corpus(parts[0].ids, parts[0].tokens, parts[0].offsets, vocab)
        if not parts:
            return cls([], np.zeros(0, dtype=np.int32), np.zeros(1, dtype=np.int64), vocab)
        tokens = np.concatenate([p.tokens for p in parts]).astype(np.int32, copy=False)
        starts = np.cumsum([0] + [len(p.tokens) for p in parts[:-1]])
        shifted = [p.offsets[1:] + start for p, start in zip(parts, starts, strict=True)]
        offsets = np.concatenate([np.zeros(1, dtype=np.int64), *shifted])
        return cls([i for p in parts for i in p.ids], tokens, offsets, vocab)


class CorpusBuilder:
    """Grows a `Corpus` document by document in flat typed arrays.

    A list of token ids per document costs a Python list and a pointer per token (about
    1.3 kB a chunk at 100k chunks); these arrays cost 4 bytes a token.
    """

    def __init__(self, vocab: dict[str, int]) -> None:
        self.vocab = vocab
        self.ids: list[str] = []
        self._tokens = array("i")
        self._lengths = array("q")

    def add(self, doc_id: str, token_ids: Iterable[int]) -> None:
        """Append one document."""
        before = len(self._tokens)
        self._tokens.extend(token_ids)
        self.ids.append(doc_id)
        self._lengths.append(len(self._tokens) - before)

    def corpus(self) -> Corpus:
        offsets = np.zeros(len(self._lengths) + 1, dtype=np.int64)
        np.cumsum(np.frombuffer(self._lengths, dtype=np.int64), out=offsets[1:])
        tokens = np.frombuffer(self._tokens, dtype=np.int32)  # shares the array, kept alive
        self._tokens, self._lengths = array("i"), array("q")
        return Corpus(self.ids, tokens, offsets, self.vocab)


K1, B = 1.5, 0.75  # bm25s's defaults (its "lucene" method), which `build_bm25` computes
_BLOCK = 1024  # documents counted at once by `build_bm25` (its transient memory: ~8 MB)


def build_bm25(corpus: Corpus) -> Any:
    """The bm25s index of `corpus`, the same as `bm25s.BM25().index((docs, vocab))`.

    bm25s builds from a Python list per document and holds every (document, token) score
    three times over while it sorts them (about 3 kB a chunk at 100k chunks); this counts
    blocks of documents twice in numpy (document frequencies, then scores written straight
    into their column), so the peak is the finished matrix and one block.
    """
    import bm25s

    n_docs, n_vocab = len(corpus.ids), len(corpus.vocab)
    lengths = np.diff(corpus.offsets)
    avg = float(lengths.mean()) if n_docs else 1.0
    df = np.zeros(n_vocab, dtype=np.int64)
    for tok, _, _ in _pairs(corpus):
        df += np.bincount(tok, minlength=n_vocab)
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    data = np.empty(int(indptr[-1]), dtype=np.float32)
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    fill = indptr[:-1].copy()  # the next free slot of each token's column
    for tok, doc, tf in _pairs(corpus):
        # pairs come sorted by token, then document: each token's run goes to its column
        first = np.searchsorted(tok, tok, side="left")
        dest = fill[tok] + (np.arange(len(tok)) - first)
        norm = K1 * ((1 - B) + B * lengths[doc] / avg)
        data[dest] = idf[tok] * tf / (norm + tf)
        indices[dest] = doc
        runs, counts = np.unique(tok, return_counts=True)
        fill[runs] += counts
    bm25 = bm25s.BM25()
    bm25.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}
    vocab = dict(corpus.vocab)
    if "" not in vocab:  # as bm25s adds it (an id past the matrix, never queried)
        vocab[""] = len(vocab)
    bm25.vocab_dict = vocab
    bm25.unique_token_ids_set = set(vocab.values())
    bm25.nonoccurrence_array = None  # the lucene method has none
    return bm25


def _pairs(corpus: Corpus) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(token, document, count) of each distinct token of each document, a block of
    documents at a time, sorted by token then document within a block."""
    n_docs = len(corpus.ids)
    for lo in range(0, n_docs, _BLOCK):
        hi = min(lo + _BLOCK, n_docs)
        span = hi - lo
        start, end = int(corpus.offsets[lo]), int(corpus.offsets[hi])
        docs = np.repeat(np.arange(span, dtype=np.int64), np.diff(corpus.offsets[lo : hi + 1]))
        keys, counts = np.unique(
            corpus.tokens[start:end].astype(np.int64) * span + docs, return_counts=True
        )
        yield keys // span, keys % span + lo, counts.astype(np.float64)


def cache_key(location: str, collection: str, tokenizer: str) -> str:
    """The folder name for one store and one way of tokenising."""
    blob = json.dumps([location, collection, tokenizer])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def revision_name(revision: str) -> str:
    """`rev-<revision>`, safe as a file name whatever the revision holds."""
    return "rev-" + ("".join(c for c in revision if c.isalnum()) or "empty")


def _folder(root: Path, revision: str) -> Path:
    return root / revision_name(revision)


def load_index(root: Path, revision: str) -> tuple[Any, list[str]] | None:
    """The saved (bm25s index, store ids) at `revision`, or None."""
    folder = _folder(root, revision)
    if not (folder / "ids.json").is_file():
        return None
    try:
        import bm25s

        ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
        bm25 = None
        if ids:
            bm25 = bm25s.BM25.load(str(folder / "bm25"), mmap=True, show_progress=False)
        return bm25, ids
    except Exception as exc:  # a torn or foreign folder: rebuild
        log.debug("lexical cache %s unreadable: %s", folder, exc)
        return None


def load_newest_corpus(root: Path) -> tuple[str, Corpus] | None:
    """(revision, corpus) of the newest saved state, or None."""
    folders = sorted(root.glob("rev-*"), key=_mtime, reverse=True)
    for folder in folders:
        try:
            with np.load(folder / "corpus.npz") as data:
                tokens, offsets = data["tokens"], data["offsets"]
            ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
            vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
            if len(offsets) != len(ids) + 1:
                continue
            return folder.name[4:], Corpus(ids, tokens, offsets, vocab)
        except Exception as exc:
            log.debug("lexical cache %s unreadable: %s", folder, exc)
    return None


def save(root: Path, revision: str, bm25: Any, corpus: Corpus) -> None:
    """Save the index built at `revision`; never raises (a cache that cannot be written is
    only slower next time)."""
    target = _folder(root, revision)
    if target.exists():
        return
    tmp = root / f".tmp-{uuid.uuid4().hex}"
    try:
        tmp.mkdir(parents=True)
        (tmp / "ids.json").write_text(json.dumps(corpus.ids), encoding="utf-8")
        (tmp / "vocab.json").write_text(json.dumps(corpus.vocab), encoding="utf-8")
        np.savez(tmp / "corpus.npz", tokens=corpus.tokens, offsets=corpus.offsets)
        if bm25 is not None:
            bm25.save(str(tmp / "bm25"), show_progress=False)
        os.rename(tmp, target)  # atomic; fails if another process saved it first
    except OSError as exc:
        log.debug("lexical cache %s not saved: %s", target, exc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    prune(root)


def prune(root: Path, pattern: str = "rev-*") -> None:
    """Delete all but the KEEP newest entries (folders or files) of `root` matching `pattern`;
    one another process deletes first is no error."""
    for old in sorted(root.glob(pattern), key=_mtime, reverse=True)[KEEP:]:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                old.unlink()


def _mtime(path: Path) -> float:
    with contextlib.suppress(OSError):
        return path.stat().st_mtime
    return 0.0
