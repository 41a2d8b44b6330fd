"""The funnel's vocabulary: stages, call dispositions and what each means.

Stages run in order assigned -> called -> reached -> wecom_added -> pushed -> converted.
A client counts at a stage when they have evidence for it or for any later stage
(cumulative counting), so no rate exceeds 100% and the funnel never widens.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Final

ASSIGNED: Final = "assigned"
CALLED: Final = "called"
REACHED: Final = "reached"
WECOM_ADDED: Final = "wecom_added"
PUSHED: Final = "pushed"
CONVERTED: Final = "converted"

#: The funnel's stages after assignment, in order.
STAGES: Final[tuple[str, ...]] = (CALLED, REACHED, WECOM_ADDED, PUSHED, CONVERTED)

CONNECTED: Final = "connected"
NO_ANSWER: Final = "no_answer"
BUSY: Final = "busy"
WRONG_NUMBER: Final = "wrong_number"
REFUSED: Final = "refused"
DO_NOT_CALL: Final = "do_not_call"
CALLBACK: Final = "callback"

#: Call dispositions, in the order a workbook's dropdown lists them.
DISPOSITIONS: Final[tuple[str, ...]] = (
    CONNECTED,
    NO_ANSWER,
    BUSY,
    WRONG_NUMBER,
    REFUSED,
    DO_NOT_CALL,
    CALLBACK,
)

# Event kinds (the `event.stage` column). Evidence for the funnel's stages:
EVENT_ASSIGNED: Final = "assigned"  # value: advisor code
EVENT_CONTROL: Final = "control"  # drawn into the control group
EVENT_CALL: Final = "call"  # one call; value: disposition; occurred_at: call time
EVENT_ATTEMPTS: Final = "attempts"  # value: attempts the advisor reported
EVENT_CALLBACK: Final = "callback"  # value: the call-back time asked for (ISO, UTC)
EVENT_WECOM: Final = "wecom_added"  # source 'upload' (self-reported) or 'wecom' (confirmed)
EVENT_WECOM_PREEXISTING: Final = "wecom_preexisting"  # on WeCom before assignment (sync)
EVENT_WECOM_LOST: Final = "wecom_lost"  # the WeCom relation disappeared (sync)
EVENT_PUSHED: Final = "pushed"  # value: product code
EVENT_CONVERTED: Final = "converted"  # value: product code when known
EVENT_NOTE: Final = "note"
EVENT_REACTIVATED: Final = "reactivated"  # value: the trade date the core system shows
EVENT_VOID: Final = "void"  # cancels the event named by voids_event_id

#: Dispositions where the client answered the phone: evidence for `reached`.
REACHED_DISPOSITIONS: Final = frozenset({CONNECTED, REFUSED, DO_NOT_CALL, CALLBACK})

#: Chinese labels advisors see and type; the first label is the one a workbook offers.
DISPOSITION_LABELS: Final[dict[str, tuple[str, ...]]] = {
    CONNECTED: ("接通", "已接通"),
    NO_ANSWER: ("无人接听", "未接", "未接通"),
    BUSY: ("忙线", "占线"),
    WRONG_NUMBER: ("空号/错号", "空号", "错号", "号码错误"),
    REFUSED: ("拒绝",),
    DO_NOT_CALL: ("勿扰", "勿扰(不再拨打)"),
    CALLBACK: ("预约回电", "稍后回电"),
}

#: Asset bands use these default edges (yuan) unless the campaign sets its own.
DEFAULT_ASSET_EDGES: Final[tuple[float, ...]] = (10_000, 50_000, 100_000, 500_000)


def asset_band(assets: float | None, edges: tuple[float, ...] = DEFAULT_ASSET_EDGES) -> str:
    """A readable band label for `assets`: '<10k', '10k-50k', ..., '500k+'."""
    return asset_bands(edges)(assets)


def asset_bands(
    edges: tuple[float, ...] = DEFAULT_ASSET_EDGES, *, chinese: bool = False
) -> Callable[[float | None], str]:
    """A function labelling amounts with the bands `edges` make (labels built once).

    The labels are keys (`<10k`, `10k-50k`, `500k+`: the report's groups and the holdout's
    strata); with `chinese` they read as Chinese sheets write amounts, in 万 (`<1万`,
    `1万-5万`, `50万以上`), for people only.
    """
    short = [_short_wan(e) if chinese else _short(e) for e in edges]
    labels = [f"<{short[0]}"] + [f"{a}-{b}" for a, b in zip(short, short[1:], strict=False)]
    labels.append(f"{short[-1]}以上" if chinese else f"{short[-1]}+")
    unknown = "未知" if chinese else "unknown"

    def band(assets: float | None) -> str:
        if assets is None:
            return unknown
        return labels[bisect.bisect_right(edges, assets)]

    return band


def _short_wan(amount: float) -> str:
    return f"{amount / 10_000:g}万"


def _short(amount: float) -> str:
    if amount >= 1_000_000 and amount % 1_000_000 == 0:
        return f"{int(amount // 1_000_000)}m"
    if amount >= 1_000 and amount % 1_000 == 0:
        return f"{int(amount // 1_000)}k"
    return f"{amount:g}"
