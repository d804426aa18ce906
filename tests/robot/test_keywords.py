"""The suites' keywords that decide what a target can measure, on fake stream records: the
branches a target without a work counter takes (a Renode before 1.16.0) run nowhere else here."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pedal_keywords import PedalKeywords


def overload_record(unit: str, load_max_ppm: int, period_counts: int) -> dict:
    stats = {"load_max_ppm": load_max_ppm, "load_avg_ppm": load_max_ppm // 4, "period_counts": period_counts}
    return {"stream": SimpleNamespace(unit=unit), "stats": stats}


def test_a_counted_overload_must_exceed_the_block_period() -> None:
    keywords = PedalKeywords()
    assert keywords.load_should_show_the_overload(overload_record("instructions", 1_730_000, 4500)) == "173.0 %"
    with pytest.raises(AssertionError, match=r"maximum load 90\.0 % .* expected over 100 %"):
        keywords.load_should_show_the_overload(overload_record("cycles", 900_000, 4500))


def test_without_a_counter_the_load_is_not_measured_and_must_not_be_invented() -> None:
    keywords = PedalKeywords()
    assert keywords.load_should_show_the_overload(overload_record("none", 0, 0)) == "not measured"
    with pytest.raises(AssertionError, match="a load was reported without a work counter"):
        keywords.load_should_show_the_overload(overload_record("none", 1_500_000, 0))
