"""Campaign files: the shipped one validates; every bad key is named in the error."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CAMPAIGN_FILE

from reactivate.errors import ConfigError
from reactivate.rules.campaign import from_toml, read_file


def test_shipped_campaign_matches_the_source_case() -> None:
    campaign = from_toml(read_file(CAMPAIGN_FILE), str(CAMPAIGN_FILE))
    assert campaign.slug == "2020h2-dormant"
    assert str(campaign.start) == "2020-07-01"
    assert str(campaign.dormancy.as_of) == "2020-06-30" and campaign.dormancy.min_days == 180
    assert campaign.targets == {"reached": 0.49, "wecom_added": 0.14, "converted": 0.064}
    assert [p.risk for p in campaign.products][0] == 1 and max(
        p.risk for p in campaign.products
    ) == 4
    assert campaign.timezone == "Asia/Shanghai"
    assert campaign.asset_edges == (10_000, 50_000, 100_000, 500_000)
    assert campaign.product("mmf01") is campaign.products[0]
    assert campaign.product("现金宝货币基金") is campaign.products[0]


def _replace(old: str, new: str) -> str:
    text = CAMPAIGN_FILE.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ('slug = "2020h2-dormant"', 'slug = "Bad Slug"', "slug", "lower-case"),
        ("end = 2020-12-31", "end = 2020-01-01", "end", "before start"),
        (
            'timezone = "Asia/Shanghai"',
            'timezone = "Mars/Olympus"',
            "timezone",
            "unknown time zone",
        ),
        ("min_days = 180", 'min_days = "many"', "dormancy.min_days", "whole number"),
        ("reached = 0.49", "reached = 49", "targets.reached", "between 0"),
        ("reached = 0.49", "bogus = 0.49", "targets.bogus", "not a stage"),
        ('risk = "R1"', 'risk = "R9"', "products[0].risk", "R1-R5"),
        ('"called", "reached"', '"reached", "called"', "funnel.stages", "order"),
        ("holdout = 0.0", "holdout = 1.0", "assignment.holdout", "below 1"),
        ("as_of = 2020-06-30\n", "", "dormancy.as_of", "missing"),
    ],
)
def test_errors_name_the_key(old: str, new: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_toml(_replace(old, new), "c.toml")
    message = str(caught.value)
    assert f"'{key}'" in message and problem in message and "c.toml" in message


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        from_toml("slug = ", "c.toml")
    with pytest.raises(ConfigError, match="no such file"):
        read_file(tmp_path / "missing.toml")
