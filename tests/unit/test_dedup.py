"""Near-duplicate grouping: signatures, the LSH index over a fake store, and collapsing hits."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from assistant import dedup
from assistant.dedup import DuplicateIndex, decode, encode, signature, similarity
from assistant.types import Chunk, Hit, Outlet

WIRE = (
    "WASHINGTON (AP) — The Senate passed a bill on Tuesday that would expand health care for "
    "veterans exposed to toxic burn pits during their military service, sending the measure to "
    "President Joe Biden, who is expected to sign it. The vote was 86-11. The legislation would "
    "add 23 illnesses to a list of conditions presumed to be linked to the exposure. Supporters "
    "said it was the largest expansion of veterans' benefits in decades. The bill had stalled "
    "last week when Republicans blocked it over a budget dispute, prompting protests outside the "
    "Capitol by veterans and their families, who slept on the steps for several nights."
)
EDITED = WIRE.replace("WASHINGTON (AP) — ", "").replace("86-11", "86 to 11") + " Read more."
OTHER = (
    "Apple said on Thursday that its quarterly revenue rose 2% to $83 billion, helped by strong "
    "sales of the iPhone 13 in China and a rebound in its services business, while it warned "
    "that supply constraints in the current quarter would cost it up to $8 billion in sales."
)


def test_signature_roundtrip_and_similarity() -> None:
    a, b, c = signature(WIRE), signature(EDITED), signature(OTHER)
    assert a.shape == (dedup.NUM_PERM,)
    assert np.array_equal(decode(encode(a)), a)  # type: ignore[arg-type]
    assert similarity(a, b) >= dedup.THRESHOLD
    assert similarity(a, c) < 0.2
    assert decode("not base64 !") is None
    assert decode(encode(a)[:-8]) is None


def test_short_and_empty_texts_have_signatures() -> None:
    assert signature("").shape == (dedup.NUM_PERM,)
    assert similarity(signature("Rain today"), signature("Rain today")) == 1.0


class FakeStore:
    """A stand-in for Store with the calls DuplicateIndex makes (unit test of wiring)."""

    def __init__(self, articles: dict[str, tuple[str, str, date | None, bool]]) -> None:
        # id -> (text, source, published, has stored signature)
        self.articles = articles
        self.rev = "1"
        self.text_reads: list[str] = []
        self.signature_reads: list[str] = []
        self.calls: list[tuple[str, list[str]]] = []  # how article_signatures was asked
        self.written: dict[str, float] = {}
        self.settings = SimpleNamespace(chroma_url=None)

    def revision(self) -> str:
        return self.rev

    def article_ids(self) -> list[str]:
        return list(self.articles)

    def article_signatures(
        self, ids: list[str] | None = None, *, since: float | None = None
    ) -> dict[str, tuple[Outlet, str | None]]:
        chosen = [
            aid
            for aid in (ids if ids is not None else self.articles)
            if aid in self.articles and (since is None or self.written.get(aid, 0) >= since)
        ]
        self.signature_reads += chosen
        self.calls.append(("ids" if ids is not None else "since" if since else "all", chosen))
        out = {}
        for aid in chosen:
            text, src, pub, stored = self.articles[aid]
            title = text.split("— ")[-1][:40]  # the story's lead as its headline
            outlet = Outlet(article_id=aid, title=title, source=src, published=pub)
            out[aid] = (outlet, encode(signature(text)) if stored else None)
        return out

    def article_texts(self, ids: list[str]) -> dict[str, str]:
        self.text_reads += ids
        return {aid: self.articles[aid][0] for aid in ids}


def _hit(aid: str, score: float) -> Hit:
    chunk = Chunk(id=f"{aid}#0", article_id=aid, index=0, text="x", start=0, end=1)
    return Hit(chunk=chunk, score=score, dense=score, title=aid)


def _store() -> FakeStore:
    return FakeStore(
        {
            "ap": (WIRE, "AP", date(2022, 8, 2), True),
            "nbc": (EDITED, "NBC", date(2022, 8, 3), False),  # stored before signatures
            "apple": (OTHER, "Reuters", date(2022, 7, 28), True),
        }
    )


def test_index_groups_near_duplicates_and_computes_missing_signatures() -> None:
    store = _store()
    index = DuplicateIndex(store)  # type: ignore[arg-type]
    groups = index.groups()
    assert [[o.article_id for o in g] for g in groups] == [["ap", "nbc"]]  # first published first
    assert store.text_reads == ["nbc"]
    assert [o.source for o in index.group("nbc")] == ["AP", "NBC"]
    assert [o.article_id for o in index.group("apple")] == ["apple"]
    assert index.group("missing") == []


def test_index_rebuilds_only_when_the_revision_changes() -> None:
    store = _store()
    index = DuplicateIndex(store)  # type: ignore[arg-type]
    index.groups()
    store.articles["apple2"] = (OTHER + " Shares rose.", "CNBC", None, True)
    assert len(index.groups()) == 1  # same revision: the cached groups
    store.rev = "2"
    assert sorted(len(g) for g in index.groups()) == [2, 2]


def test_identical_boilerplate_under_unrelated_headlines_is_not_one_story() -> None:
    def outlet(aid: str, url: str | None, title: str = "Same page text") -> Outlet:
        return Outlet(article_id=aid, title=title, url=url)

    cnn = "https://www.cnn.com/2022/0{}/business/{}/index.html"
    pages = [
        outlet("ford", cnn.format(6, "ford-recall")),
        outlet("sprite", cnn.format(7, "sprite-green-bottle")),
        outlet("ford2", cnn.format(6, "ford-recalls-explorer")),
        outlet("ap", None, "Ford recalls 2.9 million vehicles"),  # no slug: its title
        outlet("bare", None, "2022"),  # no headline word: only with others that have none
        outlet("bare2", None, "2023"),
    ]
    assert dedup.same_story(pages) == [["ford", "ford2", "ap"], ["bare", "bare2"]]
    assert dedup.headline_words(pages[1]) == {"sprite", "green", "bottl"}
    assert dedup.same_story(pages[:2]) == []


def test_collapse_keeps_the_best_ranked_outlet_and_names_the_others() -> None:
    index = DuplicateIndex(_store())  # type: ignore[arg-type]
    ranked = [_hit("nbc", 0.9), _hit("apple", 0.8), _hit("ap", 0.7), _hit("nbc", 0.6)]
    out = index.collapse(ranked)
    assert [h.chunk.article_id for h in out] == ["nbc", "apple", "nbc"]
    assert [o.source for o in out[0].also_in] == ["AP"]
    assert out[1].also_in == []


def test_collapse_does_not_name_outlets_published_after_the_as_of_date() -> None:
    index = DuplicateIndex(_store())  # type: ignore[arg-type]
    out = index.collapse([_hit("ap", 0.9)], until=date(2022, 8, 2))
    assert out[0].also_in == []
    assert len(index.collapse([_hit("ap", 0.9)], until=date(2022, 8, 3))[0].also_in) == 1


def test_collapse_leaves_unknown_articles_alone() -> None:
    index = DuplicateIndex(FakeStore({}))  # type: ignore[arg-type]
    ranked = [_hit("a", 1.0), _hit("b", 0.5)]
    assert index.collapse(ranked) == ranked


def test_collapse_keeps_a_duplicate_passage_that_gives_other_figures() -> None:
    index = DuplicateIndex(_store())  # type: ignore[arg-type]
    said = "The Senate passed the burn pits bill by a vote of 86 to 11 on Tuesday."
    other = "The Senate passed the burn pits bill by a vote of 84 to 14 on Tuesday."

    def hit(aid: str, text: str, score: float) -> Hit:
        chunk = Chunk(id=f"{aid}#0", article_id=aid, index=0, text=text, start=0, end=len(text))
        return Hit(chunk=chunk, score=score, dense=score, title=aid)

    out = index.collapse([hit("ap", said, 0.9), hit("nbc", other, 0.8)])
    assert [h.chunk.article_id for h in out] == ["ap", "nbc"]  # they disagree: both stay
    same = index.collapse([hit("ap", said, 0.9), hit("nbc", said, 0.8)])
    assert [h.chunk.article_id for h in same] == ["ap"]


def test_banding_joins_exactly_the_pairs_datasketch_lsh_finds() -> None:
    # the numpy banding must give the groups a datasketch MinHashLSH query per article gives:
    # a corpus of stories, each edited into several near-copies, plus unrelated ones
    from datasketch import LeanMinHash, MinHashLSH

    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(5000)]
    texts = []
    for _ in range(60):
        story = list(rng.choice(words, size=120))
        texts.append(" ".join(story))
        for _ in range(int(rng.integers(0, 4))):
            copy = list(story)
            for i in rng.choice(len(copy), size=int(rng.integers(1, 12)), replace=False):
                copy[i] = str(rng.choice(words))  # a few edited words per copy
            texts.append(" ".join(copy))
    sigs = np.stack([signature(t) for t in texts])
    roots = dedup.near_duplicate_roots(sigs)

    lsh = MinHashLSH(threshold=dedup.THRESHOLD, num_perm=dedup.NUM_PERM)
    hashes = [LeanMinHash(seed=dedup.SEED, hashvalues=s, scheme=dedup.SCHEME) for s in sigs]
    for i, mh in enumerate(hashes):
        lsh.insert(i, mh)
    parent = list(range(len(texts)))

    def find(a: int) -> int:
        while parent[a] != a:
            a = parent[a]
        return a

    for i, mh in enumerate(hashes):
        for j in lsh.query(mh):
            if j != i and similarity(sigs[i], sigs[j]) >= dedup.THRESHOLD:
                ra, rb = find(i), find(j)
                parent[max(ra, rb)] = min(ra, rb)
    expected = [find(i) for i in range(len(texts))]
    assert roots.tolist() == expected
    assert len(set(expected)) < len(texts) - 20  # the corpus does have near-duplicates
    assert dedup.near_duplicate_roots(sigs[:1]).tolist() == [0]
    assert dedup.near_duplicate_roots(sigs[:0]).tolist() == []


def _put(store: FakeStore, index: DuplicateIndex, new: dict[str, str], *, noted: bool) -> None:
    """Store `new` (id -> text) as one write, as `Store.put` does, and tell the index."""
    before = store.rev
    for aid, text in new.items():
        store.articles[aid] = (text, aid.upper(), date(2022, 8, 2), True)
        store.written[aid] = time.time()
    store.rev = str(int(store.rev) + 1)
    if noted:
        index.note({aid: encode(signature(t)) for aid, t in new.items()}, (before, store.rev))


def test_catching_up_with_its_own_writes_reads_only_the_grouped_outlets() -> None:
    store = FakeStore({})
    store.rev = ""  # nothing stored yet
    index = DuplicateIndex(store)  # type: ignore[arg-type]
    store.rev = "0"
    index.note({}, ("", "0"))
    _put(store, index, {"ap": WIRE, "apple": OTHER}, noted=True)
    _put(store, index, {"nbc": EDITED}, noted=True)
    assert [[o.article_id for o in g] for g in index.groups()] == [["ap", "nbc"]]
    assert index.built == "noted"
    assert store.calls == [("ids", ["ap", "nbc"])]  # the grouped articles' outlets, nothing else


def test_a_write_by_another_process_is_read_from_what_was_written_since() -> None:
    store = _store()
    index = DuplicateIndex(store)  # type: ignore[arg-type]
    index.groups()
    store.calls.clear()
    _put(store, index, {"apple2": OTHER + " Shares rose."}, noted=False)  # another process
    assert sorted(len(g) for g in index.groups()) == [2, 2]
    assert index.built == "caught up"
    since, outlets = store.calls  # what was written since, then the grouped articles' outlets
    assert since == ("since", ["apple2"])
    assert outlets[0] == "ids" and sorted(outlets[1]) == ["ap", "apple", "apple2", "nbc"]


def test_changed_and_removed_articles_leave_their_groups() -> None:
    store = _store()
    index = DuplicateIndex(store)  # type: ignore[arg-type]
    assert len(index.groups()) == 1
    store.articles["nbc"] = (OTHER + " Shares fell.", "NBC", date(2022, 8, 3), True)
    store.written["nbc"] = time.time()
    store.rev = "2"
    assert [[o.article_id for o in g] for g in index.groups()] == [["apple", "nbc"]]
    del store.articles["apple"]
    store.rev = "3"
    assert index.groups() == []
    assert index.group("apple") == [] and [o.source for o in index.group("ap")] == ["AP"]


def test_the_state_is_saved_per_revision_and_loaded_by_a_new_index(tmp_path: Path) -> None:
    store = _store()
    first = DuplicateIndex(store, cache_dir=tmp_path)  # type: ignore[arg-type]
    want = first.groups()
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".npy"]
    store.signature_reads.clear()
    second = DuplicateIndex(store, cache_dir=tmp_path)  # type: ignore[arg-type]
    assert second.groups() == want and second.built == "loaded"
    assert store.signature_reads == []
    assert second.others(["nbc", "apple"]) == {"nbc": ["ap"]}
    next(tmp_path.glob("*.npy")).write_bytes(b"torn")
    third = DuplicateIndex(store, cache_dir=tmp_path)  # type: ignore[arg-type]
    assert third.groups() == want and third.built == "built"
