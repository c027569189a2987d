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
import itertools
import json
import logging
import os
import shutil
import uuid
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

    @classmethod
    def from_lists(cls, ids: list[str], docs: list[list[int]], vocab: dict[str, int]) -> Corpus:
        offsets = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum([len(d) for d in docs], out=offsets[1:])
        flat = np.fromiter(itertools.chain.from_iterable(docs), np.int32, count=int(offsets[-1]))
        return cls(ids, flat, offsets, vocab)

    def doc(self, i: int) -> list[int]:
        return self.tokens[self.offsets[i] : self.offsets[i + 1]].tolist()  # type: ignore[no-any-return]


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
