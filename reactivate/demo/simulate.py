"""A seeded simulation of advisors' work, for the demo, tests and benchmarks.

Each assigned client is called one or more times, maybe reached, maybe added on WeCom,
pushed a suitable product and converted, at rates chosen so the campaign lands near its
targets (the source's 49% reached, 14% on WeCom, 6.4% converted of assigned). Times fall
inside the campaign, after the client was assigned, in working hours (`WORKING_HOURS`, on
the campaign's clock: `until`'s zone). Pure: plain data in and out.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from reactivate.rules import funnel

#: Shares of assigned clients at each stage when the campaign sets no target.
DEFAULT_RATES: Mapping[str, float] = {
    funnel.CALLED: 0.92,
    funnel.REACHED: 0.49,
    funnel.WECOM_ADDED: 0.14,
    funnel.PUSHED: 0.11,
    funnel.CONVERTED: 0.064,
}


@dataclass(frozen=True)
class ClientToWork:
    client_id: str
    assigned_at: dt.datetime  # aware
    suitable_products: tuple[str, ...]


@dataclass(frozen=True)
class Call:
    at: dt.datetime  # aware
    disposition: str


@dataclass(frozen=True)
class WorkResult:
    """What an advisor would write in one client's row."""

    client_id: str
    calls: tuple[Call, ...]
    callback_at: dt.datetime | None = None
    wecom_added_at: dt.datetime | None = None
    product: str | None = None
    pushed_at: dt.datetime | None = None
    converted_at: dt.datetime | None = None

    @property
    def last_call(self) -> Call | None:
        return self.calls[-1] if self.calls else None


def rates_for(targets: Mapping[str, float]) -> dict[str, float]:
    """Stage rates (shares of assigned) from a campaign's targets, defaults elsewhere, monotone."""
    rates = {stage: targets.get(stage, DEFAULT_RATES[stage]) for stage in funnel.STAGES}
    if funnel.PUSHED not in targets:  # between WeCom and converted
        rates[funnel.PUSHED] = (rates[funnel.WECOM_ADDED] + rates[funnel.CONVERTED]) / 2
    ceiling = 1.0
    for stage in funnel.STAGES:
        rates[stage] = min(rates[stage], ceiling)
        ceiling = rates[stage]
    return rates


def simulate(
    clients: Sequence[ClientToWork],
    rates: Mapping[str, float],
    until: dt.datetime,
    seed: int = 0,
    max_attempts: int = 3,
) -> list[WorkResult]:
    """One result per client that was called (uncalled clients are left out)."""
    rng = random.Random(f"reactivate.demo.simulate:{seed}")
    stage_rates = [rates[s] for s in funnel.STAGES]
    results = []
    for client in sorted(clients, key=lambda c: c.client_id):
        draw = rng.random()
        depth = sum(1 for rate in stage_rates if draw < rate)  # 0 = never called ... 5 = converted
        if depth == 0:
            continue
        results.append(_work(client, depth, rng, until, max_attempts))
    return results


def _work(
    client: ClientToWork, depth: int, rng: random.Random, until: dt.datetime, max_attempts: int
) -> WorkResult:
    reached = depth >= 2
    attempts = rng.randint(1, max_attempts)
    moment = client.assigned_at + dt.timedelta(hours=rng.uniform(2, 72))
    calls = []
    for attempt in range(1, attempts + 1):
        last = attempt == attempts
        if reached and last:
            disposition = (
                rng.choices(
                    [funnel.CONNECTED, funnel.CALLBACK, funnel.REFUSED, funnel.DO_NOT_CALL],
                    [80, 10, 7, 3],
                )[0]
                if depth == 2
                else funnel.CONNECTED
            )
        elif last and rng.random() < 0.1:
            disposition = funnel.WRONG_NUMBER
        else:
            disposition = rng.choice([funnel.NO_ANSWER, funnel.NO_ANSWER, funnel.BUSY])
        calls.append(Call(_bounded(moment, until), disposition))
        if disposition in (funnel.WRONG_NUMBER, funnel.DO_NOT_CALL):
            break
        # from the call as made (moved into working hours), so the next one is later
        moment = calls[-1].at + dt.timedelta(hours=rng.uniform(5, 48))
    reached_at = calls[-1].at
    callback_at = (
        reached_at + dt.timedelta(days=2) if calls[-1].disposition == funnel.CALLBACK else None
    )
    wecom = (
        _bounded(reached_at + dt.timedelta(minutes=rng.uniform(5, 600)), until)
        if depth >= 3
        else None
    )
    product = (
        rng.choice(client.suitable_products) if depth >= 4 and client.suitable_products else None
    )
    pushed = (
        _bounded((wecom or reached_at) + dt.timedelta(hours=rng.uniform(1, 96)), until)
        if product
        else None
    )
    converted = (
        _bounded((pushed or reached_at) + dt.timedelta(days=rng.uniform(1, 14)), until)
        if depth >= 5 and product
        else None
    )
    return WorkResult(
        client.client_id, tuple(calls), callback_at, wecom, product, pushed, converted
    )


def _bounded(moment: dt.datetime, until: dt.datetime) -> dt.datetime:
    """Keep simulated times inside the campaign and its working hours, on whole minutes (as
    people write them). A time out of hours moves forward, to the next morning: what
    follows it is drawn after it, so the order of a client's calls and steps stays."""
    return min(_working(moment, until.tzinfo), until).replace(second=0, microsecond=0)


#: When advisors call and work (start and end hour on the campaign's clock).
WORKING_HOURS: Final = (9, 21)


def _working(moment: dt.datetime, zone: dt.tzinfo | None) -> dt.datetime:
    """`moment`, or where it falls outside working hours, the next start of work plus a
    quarter of the time it was into the night (a night's times spread over the morning)."""
    start, end = WORKING_HOURS
    wall = moment.astimezone(zone)
    if start <= wall.hour < end:
        return moment
    opened = wall.replace(hour=start, minute=0, second=0, microsecond=0)
    if wall.hour >= end:
        opened += dt.timedelta(days=1)
    closed = opened - dt.timedelta(hours=24 - (end - start))
    return opened + (wall - closed) / 4


#: Chance that a client trades again during the campaign: a base rate any dormant client
#: has (the control group's), and a higher one once the outreach converted them.
BASE_REACTIVATION = 0.03
CONVERTED_REACTIVATION = 0.7
REACHED_REACTIVATION = 0.06


def simulate_activity(
    members: Sequence[tuple[str, str]],
    start: dt.date,
    end: dt.date,
    seed: int = 0,
) -> list[tuple[str, dt.date]]:
    """A later core-system export: (client id, last trade date) for the clients who traded.

    `members` are (client id, how far the outreach got: 'control', 'untouched', 'reached'
    or 'converted'); converted clients mostly trade, reached ones a little more than the
    base rate, everyone else (the control group included) at the base rate.
    """
    rng = random.Random(f"reactivate.activity:{seed}")
    chance = {"converted": CONVERTED_REACTIVATION, "reached": REACHED_REACTIVATION}
    days = (end - start).days
    traded = []
    for client_id, reach in sorted(members):
        if rng.random() < chance.get(reach, BASE_REACTIVATION):
            traded.append((client_id, start + dt.timedelta(days=rng.randint(0, days))))
    return traded
