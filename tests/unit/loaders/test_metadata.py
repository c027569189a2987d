"""Unit tests for assistant.loaders.metadata: dates and slugs."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.loaders import (
    parse_date,
    slugify,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022/09/14", date(2022, 9, 14)),
        ("2022-09-14", date(2022, 9, 14)),
        ("2022-09-14T10:31:00Z", date(2022, 9, 14)),
        ("2022-09-14T10:31:00.123+02:00", date(2022, 9, 14)),
        ("2022-09-14 10:31", date(2022, 9, 14)),
        ("Sept. 14, 2022", date(2022, 9, 14)),
        ("Sep 14, 2022", date(2022, 9, 14)),
        ("October 24, 2025", date(2025, 10, 24)),
        ("Oct. 24, 2025 10:00 a.m. ET", date(2025, 10, 24)),
        ("Friday, October 24, 2025", date(2025, 10, 24)),
        ("24 October 2025", date(2025, 10, 24)),
        ("3rd March 2021", date(2021, 3, 3)),
        ("Fri, 24 Oct 2025 10:00:00 GMT", date(2025, 10, 24)),
        ("20251024", date(2025, 10, 24)),
        (None, None),
        ("", None),
        ("yesterday", None),
        ("2022-13-45", None),
        ("October 24, 2025 was the day everything changed", None),
        ("2022-09-14 The market fell", None),
    ],
)
def test_parse_date(value: str | None, expected: date | None) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Trump aims to sign mineral deals in Asia", "trump-aims-to-sign-mineral-deals-in-asia"),
        ("  Café déjà vu!  ", "cafe-deja-vu"),
        ("100% tariff: what's next?", "100-tariff-what-s-next"),
        ("東京", ""),
    ],
)
def test_slugify(text: str, expected: str) -> None:
    assert slugify(text) == expected


def test_slugify_caps_length_at_a_word() -> None:
    slug = slugify("word " * 40)
    assert len(slug) <= 80
    assert not slug.endswith("-")
    assert slug.endswith("word")
