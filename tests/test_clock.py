"""`clock.offset_spans`: a zone's offsets as the database is told them, against zoneinfo."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactivate.clock import SPAN_YEARS, offset_spans

ZONES = ("Asia/Shanghai", "Europe/London", "America/Sao_Paulo", "Africa/Casablanca")


@pytest.mark.parametrize("zone", ZONES)
@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(dt.datetime(SPAN_YEARS[0], 1, 1), dt.datetime(SPAN_YEARS[1] - 1, 12, 31))
)
def test_the_offset_of_a_time_is_its_spans(zone: str, moment: dt.datetime) -> None:
    """Each UTC time falls in the span whose offset zoneinfo gives it, summer times and
    Shanghai's mean time (+08:05:43, before 1901) included."""
    tz = ZoneInfo(zone)
    spans = offset_spans(tz)
    assert spans[0][0] is None
    starts = [start for start, _offset in spans[1:]]
    assert starts == sorted(starts)
    offset = [o for start, o in spans if start is None or start <= moment][-1]
    assert offset == moment.replace(tzinfo=dt.UTC).astimezone(tz).utcoffset()
