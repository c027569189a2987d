"""Near-duplicate grouping: signatures, the LSH index over a fake store, and collapsing hits."""

from __future__ import annotations

from datetime import date

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
    """A stand-in for Store with the three calls DuplicateIndex makes (unit test of wiring)."""

    def __init__(self, articles: dict[str, tuple[str, str, date | None, bool]]) -> None:
        # id -> (text, source, published, has stored signature)
        self.articles = articles
        self.rev = "1"
        self.text_reads: list[str] = []

    def revision(self) -> str:
        return self.rev

    def article_signatures(self) -> dict[str, tuple[Outlet, str | None]]:
        return {
            aid: (
                Outlet(article_id=aid, title=aid.upper(), source=src, published=pub),
                encode(signature(text)) if stored else None,
            )
            for aid, (text, src, pub, stored) in self.articles.items()
        }

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
