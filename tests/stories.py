"""A small dated corpus written for the timeline tests: one story told over six months.

Five articles follow "rare earth export controls"; one is the same wire report republished by a
second outlet (a near-duplicate), one is undated background and one is off the story.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STORY = "rare earth export controls"

WIRE = (
    "China adds seven rare earths to export control list\n"
    "BEIJING — On April 4, China's Commerce Ministry added seven rare earth elements to its "
    "export control list, requiring exporters to apply for licences before shipping them abroad. "
    "The move followed new U.S. tariffs on Chinese goods and was seen as a warning to Washington. "
    "Samarium, gadolinium and terbium are among the metals named in the notice. "
    "Traders in Shanghai said shipments had already slowed while companies waited for guidance. "
    "The ministry said the controls were meant to safeguard national security."
)

ARTICLES: list[dict[str, Any]] = [
    {
        "id": "wire-reuters",
        "title": "China adds seven rare earths to export control list",
        "source": "Reuters",
        "published": "2025-04-05",
        "text": WIRE,
    },
    {
        "id": "wire-ap",
        "title": "China adds seven rare earths to export control list",
        "source": "AP",
        "published": "2025-04-06",
        "text": WIRE.replace("BEIJING —", "BEIJING (AP) —"),
    },
    {
        "id": "magnets",
        "title": "European carmakers warn of magnet shortages",
        "source": "Automotive News",
        "published": "2025-06-04",
        "text": (
            "European carmakers warn of magnet shortages\n"
            "European carmakers said on Tuesday that shortages of rare earth magnets caused by "
            "China's export controls had forced several parts plants to halt production lines. "
            "The industry group asked the European Commission to press Beijing for faster "
            "export licences. "
            "Dealers reported steady demand for electric cars in the spring."
        ),
    },
    {
        "id": "widened",
        "title": "China widens rare earth export controls to technology",
        "source": "Financial Times",
        "published": "2025-10-09",
        "text": (
            "China widens rare earth export controls to technology\n"
            "China on Thursday expanded its rare earth export controls to cover processing "
            "technology and products made abroad with Chinese rare earths. "
            "The new rules take effect on Dec. 1, the Commerce Ministry said. "
            "Analysts called it the broadest use of export controls by Beijing so far."
        ),
    },
    {
        "id": "tariff",
        "title": "Trump threatens tariffs over rare earth curbs",
        "source": "Bloomberg",
        "published": "2025-10-11",
        "text": (
            "Trump threatens tariffs over rare earth curbs\n"
            "President Donald Trump said on Oct. 10 that he would impose an additional 100% tariff "
            "on Chinese goods by Nov. 1 in response to China's rare earth export controls. "
            "Stocks fell sharply after the announcement. "
            "The White House did not say which products would be exempt."
        ),
    },
    {
        "id": "explainer",
        "title": "What are rare earths?",
        "source": "Explainer",
        "text": (
            "What are rare earths?\n"
            "Rare earth elements are a group of seventeen metals used in magnets, motors and "
            "electronics, and export controls on them can ripple through many industries. "
            "Most of the world's supply is mined and processed in China."
        ),
    },
    {
        "id": "bikes",
        "title": "City council approves new bike lanes",
        "source": "Local Gazette",
        "published": "2025-05-02",
        "text": (
            "City council approves new bike lanes\n"
            "The city council on Thursday approved twelve miles of protected bike lanes downtown. "
            "Construction will start in the summer and last two years."
        ),
    },
]


def write_jsonl(path: Path) -> Path:
    """The corpus as a JSONL file the loaders read."""
    path.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    return path
