"""Near-duplicate articles: the same wire story published by several outlets.

Each article gets a MinHash signature (datasketch) of its word 5-shingles when it is ingested:
the ingest computes it here, before the store, and the store only persists it in the article's
record (`minhash`), so nothing is recomputed on later runs. `DuplicateIndex` bands the
signatures of every stored article as datasketch's MinHash LSH would (one numpy array, not an
object per article: `near_duplicate_roots`) and joins articles whose estimated Jaccard
similarity reaches `THRESHOLD` into groups (transitively). Retrieval keeps the passages
of one article per group, the best-ranked, and its hits and citations list the other outlets
(`also_in`).

Like the lexical index, the index is derived from the store and follows the store's revision,
so every process sharing a Chroma server agrees on groups. It is kept per revision in
`<data dir>/dedup/`: the signatures as one .npy matrix (memory-mapped when read back) and a
small JSON of the ids and the multi-member groups only; a lone article holds no group state.
It is caught up incrementally, never rebuilt per process: this process's own writes are noted
with their signatures (no store read), another process's are read by their `written` stamp
since the saved state, and removals by the store's ids. A full read of every signature happens
only when nothing is saved. Articles stored before signatures existed get theirs computed from
their text on first use.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.conflicts import contradicts
from assistant.lexical_cache import prune, revision_name
from assistant.loaders.metadata import url_words
from assistant.memory import trim
from assistant.text import bm25_tokens
from assistant.types import Hit, Outlet

if TYPE_CHECKING:
    from assistant.store import Store

NUM_PERM = 64
SHINGLE = 5  # words per shingle: long enough that unrelated news rarely shares one
THRESHOLD = 0.7  # estimated Jaccard similarity of shingle sets that makes two articles one
SEED = 1
SCHEME = "affine32"  # datasketch >= 2.0: the hash values are 32-bit
GROUPING = "g2"  # bump when what joins two articles changes (saved states are then unused)
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
                    _join(parent, int(a), int(b))
    return np.array([_root(parent, a) for a in range(n)], dtype=np.int64)


def _root(parent: Any, a: int) -> int:
    """The root of `a` in the union-find forest `parent` (halving the path on the way)."""
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = int(parent[a])
    return a


def _join(parent: Any, a: int, b: int) -> None:
    """Join the trees of `a` and `b`; the smaller root becomes the root of both."""
    ra, rb = _root(parent, a), _root(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)


_HEADLINE_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


def headline_words(outlet: Outlet) -> frozenset[str]:
    """What an article's headline is about: the words of its URL slug (a news URL's short
    headline, written by its editors), else of its title; function words dropped."""
    words = " ".join(url_words(outlet.url)) or outlet.title
    return frozenset(t for t in bm25_tokens(words) if _HEADLINE_WORD.fullmatch(t))


def same_story(outlets: Sequence[Outlet]) -> list[list[str]]:
    """The ids of `outlets` (near-duplicate texts) split into the stories their headlines tell.

    Near-identical text is not always one story: a page whose text could not be extracted
    holds the site's boilerplate (a video page's ad survey), the same on every such page,
    under headlines that have nothing in common ("ford-recall", "sprite-green-bottle"). Two
    articles stay together when their headlines share a word (copies of one wire story do),
    or when neither has a headline word at all.
    """
    words = [headline_words(o) for o in outlets]
    parent = list(range(len(outlets)))
    for i in range(len(outlets)):
        for j in range(i + 1, len(outlets)):
            if words[i] & words[j] or not (words[i] or words[j]):
                _join(parent, i, j)
    parts: dict[int, list[str]] = {}
    for i, outlet in enumerate(outlets):
        parts.setdefault(_root(parent, i), []).append(outlet.article_id)
    return [ids for ids in parts.values() if len(ids) > 1]


@dataclass(frozen=True)
class _Member:
    outlet: Outlet
    group: str


@dataclass
class _State:
    """What the index knows at one store revision: every article's signature, one array."""

    revision: str
    ids: list[str]  # article ids, the rows of `sigs`
    sigs: np.ndarray  # (len(ids), NUM_PERM) uint32
    as_of: float  # every article record written before this time (seconds) is in `ids`
    members: dict[str, _Member]  # the articles of groups of two or more, and their group
    groups: dict[str, list[str]]  # group name -> its article ids, first published first

    @classmethod
    def empty(cls, revision: str = "") -> _State:
        return cls(revision, [], np.zeros((0, NUM_PERM), dtype=np.uint32), 0.0, {}, {})


@dataclass
class _Write:
    """Articles this process stored in one `Store.put`: (revision before, after) and sigs."""

    before: str
    after: str
    ids: list[str]
    sigs: np.ndarray


class DuplicateIndex:
    """Groups of near-duplicate stored articles, brought up to date when the store's revision
    changes.

    It holds every article's signature in one array and the groups of two or more; an article
    alone in its group is looked up in the store when asked for. To catch up it reads only what
    changed: when the store's revision moved only by this process's own writes (`note`), it
    reads nothing but the outlets of grouped articles; otherwise the ids of the stored articles
    and the records written since its state was built (`Store.article_signatures(since=...)`).
    Every article's signature is read only when there is no state to start from at all.
    """

    def __init__(
        self, store: Store, threshold: float = THRESHOLD, cache_dir: Path | None = None
    ) -> None:
        """`cache_dir`: where to keep the state per revision (None: in memory only)."""
        self._store = store
        self._threshold = threshold
        self._lock = threading.Lock()
        self._state: _State | None = None
        self._rows: dict[str, int] = {}  # article id -> its row of the state's signatures
        self._writes: list[_Write] = []  # this process's writes since the state (see `note`)
        self.cache_dir = cache_dir
        self.built = ""  # how the state came to be: "loaded", "noted", "caught up" or "built"

    def note(self, signatures: Mapping[str, str], write: tuple[str, str] | None) -> None:
        """Remember the signatures of articles this process has just stored, and the store's
        revision before and after that write (`Store.last_write`; None when another process
        may have written meanwhile): the next catch-up then need not read them back."""
        ids = list(signatures)
        sigs = np.zeros((len(ids), NUM_PERM), dtype=np.uint32)
        for row, aid in enumerate(ids):
            sig = decode(signatures[aid])
            if sig is None:
                write = None
                break
            sigs[row] = sig
        with self._lock:
            if write is None or (self._writes and self._writes[-1].after != write[0]):
                self._writes = []  # a gap: somebody else wrote in between
            if write is not None:
                self._writes.append(_Write(write[0], write[1], ids, sigs))

    def _refresh(self) -> None:
        rev = self._store.revision()
        if self._state is not None and self._state.revision == rev:
            return
        state = self._load(rev)
        if state is not None:
            self.built = "loaded"
            # what this process wrote since is still to come; what it wrote before is in it
            starts = [i for i, w in enumerate(self._writes) if w.before == rev]
            self._writes = self._writes[starts[0] :] if starts else []
        else:
            state = self._catch_up(rev)
            self._save(state)
            trim()  # what reading article records left in the allocator
        self._set(state)

    def _set(self, state: _State) -> None:
        self._state = state
        self._rows = {aid: row for row, aid in enumerate(state.ids)}

    def _catch_up(self, rev: str) -> _State:
        started = time.time() - self._margin()
        writes, self._writes = self._writes, []
        if writes and writes[-1].after == rev:  # only this process wrote since writes[0]
            base = self._at(writes[0].before)
            if base is not None:
                self.built = "noted"
                ids, parts = list(base.ids), [base.sigs]
                for write in writes:
                    ids += write.ids
                    parts.append(write.sigs)
                state = _State(rev, ids, np.concatenate(parts), base.as_of, {}, {})
                return self._grouped(_last_rows(state))
        base = self._state or self._newest()
        if base is None:
            self.built = "built"
            return self._grouped(self._read(rev, None, started))
        self.built = "caught up"
        fresh = self._read(rev, base.as_of, started)  # written since the base: new or changed
        current = self._store.article_ids()
        keep = set(current) - set(fresh.ids)
        rows = [row for row, aid in enumerate(base.ids) if aid in keep]
        known = {base.ids[row] for row in rows} | set(fresh.ids)
        rest = self._read(rev, None, started, [aid for aid in current if aid not in known])
        ids = [base.ids[row] for row in rows] + fresh.ids + rest.ids
        sigs = np.concatenate([base.sigs[rows], fresh.sigs, rest.sigs])
        return self._grouped(_State(rev, ids, sigs, started, {}, {}))

    def _margin(self) -> float:
        """Seconds a record's `written` may trail this clock: none on one machine (but the
        whole seconds it is rounded to); a Chroma server's other clients keep their own."""
        return 300.0 if self._store.settings.chroma_url else 2.0

    def _at(self, revision: str) -> _State | None:
        """The state at `revision` (this one, a saved one, or nothing stored at all)."""
        if self._state is not None and self._state.revision == revision:
            return self._state
        if not revision:
            return _State.empty()
        return self._load(revision)

    def _read(
        self, rev: str, since: float | None, started: float, ids: list[str] | None = None
    ) -> _State:
        """The signatures of the articles stored (`ids`; or those written `since`; or all),
        computed from their text for those stored without one."""
        if ids is not None and not ids:
            return _State.empty(rev)
        stored = self._store.article_signatures(ids, since=since)
        order = list(stored)
        sigs = np.zeros((len(order), NUM_PERM), dtype=np.uint32)
        missing: dict[str, int] = {}
        for row, (_, text) in enumerate(stored.values()):
            sig = decode(text) if text is not None else None
            if sig is None:
                missing[order[row]] = row
            else:
                sigs[row] = sig
        del stored
        if missing:  # stored before signatures existed (or with an unreadable one)
            for aid, text in self._store.article_texts(list(missing)).items():
                sigs[missing[aid]] = signature(text)
        return _State(rev, order, sigs, started, {}, {})

    def _grouped(self, state: _State) -> _State:
        """`state` with its groups of two or more (their outlets read from the store)."""
        roots: Any = near_duplicate_roots(state.sigs, self._threshold) if state.ids else []
        by_root: dict[int, list[str]] = {}
        for aid, root in zip(state.ids, roots, strict=True):
            by_root.setdefault(int(root), []).append(aid)
        multi = [ids for ids in by_root.values() if len(ids) > 1]
        outlets = self._outlets([aid for ids in multi for aid in ids])
        multi = [
            part
            for ids in multi
            for part in same_story([outlets[a] for a in ids if a in outlets])  # (one removed)
        ]
        for ids in multi:
            # the group is named after its first publication (then the smallest id)
            ids.sort(key=lambda a: (_day(outlets[a].published), a))
            if len(ids) > 1:
                state.groups[ids[0]] = ids
                state.members.update({aid: _Member(outlets[aid], ids[0]) for aid in ids})
        return state

    def _outlets(self, ids: list[str]) -> dict[str, Outlet]:
        if not ids:
            return {}
        return {aid: o for aid, (o, _) in self._store.article_signatures(ids).items()}

    def _files(self, rev: str) -> tuple[Path, Path] | None:
        if self.cache_dir is None:
            return None
        name = f"{revision_name(rev)}-{self._threshold}-{GROUPING}"
        return self.cache_dir / f"{name}.json", self.cache_dir / f"{name}.npy"

    def _load(self, rev: str) -> _State | None:
        files = self._files(rev)
        if files is None or not files[0].is_file():
            return None
        try:
            data = json.loads(files[0].read_text(encoding="utf-8"))
            sigs = np.load(files[1], mmap_mode="r")
            ids: list[str] = data["ids"]
            if data["revision"] != rev or sigs.shape != (len(ids), NUM_PERM):
                return None
            groups: dict[str, list[str]] = data["groups"]
            outlets = data["outlets"]
            members = {
                aid: _Member(Outlet.model_validate(outlets[aid]), group)
                for group, group_ids in groups.items()
                for aid in group_ids
            }
            return _State(rev, ids, sigs, float(data["as_of"]), members, groups)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # torn or foreign: catch up again

    def _newest(self) -> _State | None:
        """The newest saved state (of whatever revision), to catch up from."""
        if self.cache_dir is None:
            return None
        saved = sorted(self.cache_dir.glob("rev-*.json"), key=_mtime, reverse=True)
        for path in saved:
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                state = self._load(str(json.loads(path.read_text(encoding="utf-8"))["revision"]))
                if state is not None:
                    return state
        return None

    def _save(self, state: _State) -> None:
        """Keep `state` (the signatures first: the JSON file is what marks it complete)."""
        files = self._files(state.revision)
        if files is None:
            return
        data = {
            "revision": state.revision,
            "ids": state.ids,
            "as_of": state.as_of,
            "groups": state.groups,
            "outlets": {a: m.outlet.model_dump(mode="json") for a, m in state.members.items()},
        }
        for path, write in (
            (files[1], lambda out: np.save(out, np.asarray(state.sigs), allow_pickle=False)),
            (files[0], lambda out: out.write(json.dumps(data).encode("utf-8"))),
        ):
            tmp = path.with_name(f".tmp-{uuid.uuid4().hex}")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with tmp.open("wb") as out:
                    write(out)
                os.replace(tmp, path)
            except OSError:
                return  # only slower next time
            finally:
                with contextlib.suppress(OSError):
                    tmp.unlink()
        prune(files[0].parent, "rev-*.json")
        prune(files[0].parent, "rev-*.npy")

    def group(self, article_id: str) -> list[Outlet]:
        """Every stored article in `article_id`'s group (itself included), first published first."""
        with self._lock:
            self._refresh()
            state = self._state
            assert state is not None
            member = state.members.get(article_id)
            if member is not None:
                return [state.members[a].outlet for a in state.groups[member.group]]
            alone = article_id in self._rows
        return list(self._outlets([article_id]).values()) if alone else []

    def others(self, article_ids: Sequence[str]) -> dict[str, list[str]]:
        """Article id -> the other stored articles of its group, for those in a group."""
        with self._lock:
            self._refresh()
            assert self._state is not None
            members, groups = self._state.members, self._state.groups
        return {
            aid: [a for a in groups[members[aid].group] if a != aid]
            for aid in dict.fromkeys(article_ids)
            if aid in members
        }

    def groups(self) -> list[list[Outlet]]:
        """Every group of two or more articles."""
        with self._lock:
            self._refresh()
            state = self._state
            assert state is not None
            return [[state.members[a].outlet for a in ids] for ids in state.groups.values()]

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
            assert self._state is not None
            members, groups = self._state.members, self._state.groups
        chosen: dict[str, str] = {}  # group -> the article whose hits are kept
        kept_hits: dict[str, list[Hit]] = {}
        out: list[Hit] = []
        for hit in ranked:
            aid = hit.chunk.article_id
            member = members.get(aid)
            if member is None:
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


def _last_rows(state: _State) -> _State:
    """`state` with one row per article, its last (a later write of it replaces the earlier)."""
    last = {aid: row for row, aid in enumerate(state.ids)}
    if len(last) == len(state.ids):
        return state
    rows = sorted(last.values())
    ids = [state.ids[row] for row in rows]
    return _State(state.revision, ids, state.sigs[rows], state.as_of, {}, {})


def _mtime(path: Path) -> float:
    with contextlib.suppress(OSError):
        return path.stat().st_mtime
    return 0.0
