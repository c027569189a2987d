"""Citations: number sources, parse markers, align and verify quotes (pure text functions).

The chain numbers the retrieved passages [1]..[k], asks the model to end each sentence with the
number of its source, and hands the raw reply to `verify_citations`. A small local model is
sloppy: it forgets markers, cites the wrong number, writes `[1,2]`, `[1][2]`, `(1)`,
`[Source 1]` or `【1】`, or appends a sources list. So every marker is checked: a citation is kept
only when a sentence (or two adjacent sentences) of the cited passage supports the claim, and a
claim whose marker is wrong is re-cited to the passage that does support it, if any.

Support is lexical (share of the claim's content words found in the passage span; numbers must
match), optionally blended with embedding cosine when an `Embed` callable is given:

    combined = (LEXICAL_WEIGHT * word_share + EMBED_WEIGHT * max(cosine, 0)) * penalty

where `penalty = NUMBER_PENALTY ** (numbers of the claim missing from the span)
* NAME_PENALTY ** (capitalised names of the claim missing from it)`, so a wrong figure or a
wrong country sinks a claim however similar it sounds.

One concern per module, each importing only the ones before it:

- `markers`: the numbered sources block; parse, strip and renumber `[n]` markers.
- `support`: how well a passage span supports a sentence (`support_score`).
- `align`: the span of a passage that best supports a claim (`align_quote`), with offsets.
- `abstention`: sentences and answers that say the articles do not answer.
- `verify`: the pipeline step, `verify_citations`, and the citations it builds.

The words, stems and numbers support counts come from `assistant.text`; the names re-exported
below from there (`content_words`, `stem`, ...) are kept for the callers that import them here.
"""

from __future__ import annotations

from assistant.citations.abstention import (
    ABSTENTION_PHRASES,
    ABSTENTION_TEXT,
    abstention_text,
    is_abstention,
    says_unanswered,
)
from assistant.citations.align import (
    EMBED_WEIGHT,
    LEXICAL_WEIGHT,
    PAIR_PENALTY,
    Embed,
    align_quote,
)
from assistant.citations.markers import (
    _MARKER_RE as _MARKER_RE,  # the marker pattern, for property tests
)
from assistant.citations.markers import (
    BARE_PAREN_MAX,
    MAX_MARKER,
    Claim,
    number_sources,
    parse_markers,
    strip_markers,
)
from assistant.citations.support import (
    MIN_CONTENT_WORDS,
    NAME_PENALTY,
    NUMBER_PENALTY,
    support_score,
)
from assistant.citations.verify import (
    JOINT_MIN_SHARE,
    RECITE_THRESHOLD,
    SUPPORT_THRESHOLD,
    Verified,
    cite,
    under_headline,
    unverified_citations,
    verify_citations,
)
from assistant.text import content_words, name_words, number_keys, word_found
from assistant.text import light_stem as stem

__all__ = [
    "ABSTENTION_PHRASES",
    "ABSTENTION_TEXT",
    "BARE_PAREN_MAX",
    "EMBED_WEIGHT",
    "JOINT_MIN_SHARE",
    "LEXICAL_WEIGHT",
    "MAX_MARKER",
    "MIN_CONTENT_WORDS",
    "NAME_PENALTY",
    "NUMBER_PENALTY",
    "PAIR_PENALTY",
    "RECITE_THRESHOLD",
    "SUPPORT_THRESHOLD",
    "Claim",
    "Embed",
    "Verified",
    "abstention_text",
    "align_quote",
    "cite",
    "content_words",
    "is_abstention",
    "name_words",
    "number_keys",
    "number_sources",
    "parse_markers",
    "says_unanswered",
    "stem",
    "strip_markers",
    "support_score",
    "under_headline",
    "unverified_citations",
    "verify_citations",
    "word_found",
]
