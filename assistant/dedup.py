"""Near-duplicate articles: the same wire story published by several outlets.

Each article gets a MinHash signature (datasketch) of its word 5-shingles when it is ingested:
the ingest computes it here, before the store, and the store only persists it in the article's
record (`minhash`), so nothing is recomputed on later runs. `DuplicateIndex` bands the
signatures of every stored article as datasketch's MinHash LSH would (one numpy array, not an
object per article: `near_duplicate_roots`) and joins articles whose estimated Jaccard
similarity reaches `THRESHOLD` into groups (transitively). Retrieval keeps the passages
of one article per group, the best-ranked, and its hits and citations list the other outlets
(`also_in`).

Like the lexical index, the index is derived from the store and rebuilt when the store's
revision changes, so every process sharing a Chroma server agrees on groups; the groups built
at a revision are kept in `<data dir>/dedup/` (a JSON file per revision), so a new process at
that revision reads them instead of every article's signature. Articles stored before
signatures existed get theirs computed from their text on first use.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import re
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.conflicts import contradicts
from assistant.lexical_cache import prune, revision_name
from assistant.memory import trim
from assistant.types import Hit, Outlet

if TYPE_CHECKING:
    from assistant.store import Store

NUM_PERM = 64
SHINGLE = 5  # words per shingle: long enough that unrelated news rarely shares one
THRESHOLD = 0.7  # estimated Jaccard similarity of shingle sets that makes two articles one
SEED = 1
SCHEME = "affine32"  # datasketch >= 2.0: the hash values are 32-bit
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str) -> set[bytes]:
    """The article's lower-cased word `SHINGLE`-grams (the whole text when it is shorter)."""
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + SHINGLE]).encode() for i in range(len(words) - SHINGLE + 1)}


def signature(text: str) -> np.ndarray:
    """The MinHash signature of `text` (`NUM_PERM` unsigned 32-bit values)."""
    from datasketch import MinHash

    mh = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    mh.update_batch(sorted(shingles(text)))
    return np.asarray(mh.hashvalues, dtype=np.uint32)


def encode(sig: np.ndarray) -> str:
    """A signature as text, for the article record's metadata."""
    return base64.b64encode(np.asarray(sig, dtype="<u4").tobytes()).decode("ascii")


def decode(text: str) -> np.ndarray | None:
    """The signature `encode` wrote, or None when `text` is not one."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return None
    if len(raw) != NUM_PERM * 4:
        return None
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    return float(np.mean(a == b))


@functools.cache
def _bands(threshold: float) -> tuple[int, int]:
    """(bands, rows per band) of datasketch's MinHash LSH at `threshold`: the same candidates."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    return int(lsh.b), int(lsh.r)


def near_duplicate_roots(sigs: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """The group of each signature: the smallest row index it is joined to, transitively.

    Candidates are the rows that agree on every value of some band, the banding of
    datasketch's `MinHashLSH` at `threshold` (same bands, same rows), so the pairs checked are
    exactly the ones its queries return; a pair is joined when its estimated similarity
    reaches `threshold`. It works on one array of all signatures (4 bytes per value) instead
    of one Python object and one hash table entry per band and article.

    Args:
        sigs: One signature per row (`NUM_PERM` columns).
        threshold: Least estimated Jaccard similarity of a joined pair.

    Returns:
        For each row, the index of its group's first row.
    """
    n = len(sigs)
    parent = np.arange(n)

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = int(parent[a])
        return a

    bands, rows = _bands(threshold)
    for band in range(bands if n > 1 else 0):
        block = sigs[:, band * rows : (band + 1) * rows]
        order = np.lexsort(block.T[::-1])
        ordered = block[order]
        starts = np.flatnonzero(np.r_[True, np.any(ordered[1:] != ordered[:-1], axis=1)])
        ends = np.r_[starts[1:], n]
        for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1], strict=True):
            bucket = order[start:end]
            for i, a in enumerate(bucket[:-1]):
                others = bucket[i + 1 :]
                close = others[np.mean(sigs[others] == sigs[a], axis=1) >= threshold]
                for b in close:
                    ra, rb = root(int(a)), root(int(b))
                    if ra != rb:
                        parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(a) for a in range(n)], dtype=np.int64)


@dataclass(frozen=True)
class _Member:
    outlet: Outlet
    group: str


class DuplicateIndex:
    """Groups of near-duplicate stored articles, rebuilt when the store's revision changes."""

    def __init__(
        self, store: Store, threshold: float = THRESHOLD, cache_dir: Path | None = None
    ) -> None:
        """`cache_dir`: where to keep the groups per revision (None: in memory only)."""
        self._store = store
        self._threshold = threshold
        self._lock = threading.Lock()
        self._revision: str | None = None
        self._members: dict[str, _Member] = {}
        self._groups: dict[str, list[str]] = {}
        self._single: dict[str, Any] = {}  # loaded: articles without a near-duplicate, raw
        self.cache_dir = cache_dir

    def _refresh(self) -> None:
        rev = self._store.revision()
        if rev == self._revision:
            return
        if self._load(rev):
            return
        self._build(rev)
        self._save(rev)
        trim()  # what reading every article record left in the allocator

    def _cache_file(self, rev: str) -> Path | None:
        name = f"{revision_name(rev)}-{self._threshold}.json"
        return self.cache_dir / name if self.cache_dir else None

    def _load(self, rev: str) -> bool:
        path = self._cache_file(rev)
        if path is None or not path.is_file():
            return False
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            groups: dict[str, list[str]] = data["groups"]
            outlets = data["outlets"]
            members = {
                aid: _Member(Outlet.model_validate(outlets[aid]), group)
                for group, ids in groups.items()
                for aid in ids
            }
            single = dict(data["single"])
        except (OSError, ValueError, KeyError, TypeError):
            return False  # torn or foreign: build it again
        self._members, self._groups, self._single, self._revision = members, groups, single, rev
        return True

    def _save(self, rev: str) -> None:
        """Keep the groups of `rev` (only groups of two or more are spelled out)."""
        path = self._cache_file(rev)
        if path is None:
            return
        multi = {g: ids for g, ids in self._groups.items() if len(ids) > 1}
        data = {
            "groups": multi,
            "outlets": {
                a: self._members[a].outlet.model_dump(mode="json")
                for ids in multi.values()
                for a in ids
            },
            "single": {
                ids[0]: self._members[ids[0]].outlet.model_dump(mode="json")
                for ids in self._groups.values()
                if len(ids) == 1
            },
        }
        tmp = path.with_name(f".tmp-{uuid.uuid4().hex}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            return  # only slower next time
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        prune(path.parent, "rev-*.json")

    def _build(self, rev: str) -> None:
        stored = self._store.article_signatures()
        ids = list(stored)
        outlets = {aid: outlet for aid, (outlet, _) in stored.items()}
        sigs = np.zeros((len(ids), NUM_PERM), dtype=np.uint32)
        has = np.ones(len(ids), dtype=bool)
        for row, (_, text) in enumerate(stored.values()):
            sig = decode(text) if text is not None else None
            if sig is None:
                has[row] = False
            else:
                sigs[row] = sig
        del stored
        if not has.all():  # stored before signatures existed (or with an unreadable one)
            rows = {ids[r]: r for r in np.flatnonzero(~has)}
            for aid, text in self._store.article_texts(list(rows)).items():
                sigs[rows[aid]], has[rows[aid]] = signature(text), True
        ids = [aid for aid, ok in zip(ids, has, strict=True) if ok]
        groups: dict[int, list[str]] = {}
        for aid, root in zip(ids, near_duplicate_roots(sigs[has], self._threshold), strict=True):
            groups.setdefault(int(root), []).append(aid)
        del sigs
        members: dict[str, _Member] = {}
        by_group: dict[str, list[str]] = {}
        for ids in groups.values():
            # the group is named after its first publication (then the smallest id)
            ids.sort(key=lambda a: (_day(outlets[a].published), a))
            for aid in ids:
                members[aid] = _Member(outlets[aid], ids[0])
            by_group[ids[0]] = ids
        self._members, self._groups, self._single, self._revision = members, by_group, {}, rev

    def group(self, article_id: str) -> list[Outlet]:
        """Every stored article in `article_id`'s group (itself included), first published first."""
        with self._lock:
            self._refresh()
            member = self._members.get(article_id)
            if member is None:
                raw = self._single.get(article_id)
                return [Outlet.model_validate(raw)] if raw is not None else []
            return [self._members[a].outlet for a in self._groups[member.group]]

    def groups(self) -> list[list[Outlet]]:
        """Every group of two or more articles."""
        with self._lock:
            self._refresh()
            multi = [ids for ids in self._groups.values() if len(ids) > 1]
            return [[self._members[a].outlet for a in ids] for ids in multi]

    def collapse(self, ranked: Sequence[Hit], *, until: date | None = None) -> list[Hit]:
        """Keep the hits of the best-ranked article of each group; name the others in `also_in`.

        `ranked` is best first. A group's other articles tell the same story in (nearly) the
        same words, so their passages would only repeat the kept ones to the model; but a
        passage that gives other numbers or names than the kept article's passage it most
        resembles is kept too: the outlets disagree, and the reader should see both. Outlets
        published after `until` (the question's as-of date) are not named.
        """
        with self._lock:
            self._refresh()
            members, groups = self._members, self._groups
        chosen: dict[str, str] = {}  # group -> the article whose hits are kept
        kept_hits: dict[str, list[Hit]] = {}
        out: list[Hit] = []
        for hit in ranked:
            aid = hit.chunk.article_id
            member = members.get(aid)
            if member is None or len(groups[member.group]) == 1:
                out.append(hit)
                continue
            kept = chosen.setdefault(member.group, aid)
            if kept != aid:
                if any(contradicts(hit.chunk.text, k.chunk.text) for k in kept_hits.get(kept, [])):
                    out.append(hit)  # the same story with other figures or names: a conflict
                continue
            kept_hits.setdefault(aid, []).append(hit)
            others = [
                members[a].outlet
                for a in groups[member.group]
                if a != aid and not _after(members[a].outlet.published, until)
            ]
            out.append(hit.model_copy(update={"also_in": others}))
        return out


def _after(published: date | None, until: date | None) -> bool:
    return published is not None and until is not None and published > until


def _day(published: date | None) -> date:
    return published or date.max
