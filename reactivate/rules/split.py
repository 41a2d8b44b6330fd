"""The split of dormant clients over advisors, and the control-group draw: pure data in and out.

How `split` places clients, in order:

1. **Draw order.** Candidates are put in a canonical order (by client id) and shuffled with
   `random.Random(seed)`. Every "which ones" choice below takes the first ones in this draw
   order, so choices are random but repeatable, and never depend on the input's order or on
   hashing.
2. **Kept owners** (`keep_owner`). A client whose previous advisor is among the seats stays
   with them, up to that advisor's room (`capacity - held`), whatever either's branch; when an
   owner has more of their own clients than room, the first ones in draw order stay and the
   rest join the pool.
3. **Branch first.** Each branch's pool is dealt to that branch's seats with room. When the
   pool is larger than the room, the first ones in draw order are placed; the rest spill over.
4. **Spill-over** (`cross_branch`). Spilled clients, clients of branches without seats and
   clients of unknown branch are dealt over every seat still with room, by the same method.
   Without `cross_branch` they stay unassigned.

Dealing a group of clients over a group of seats has two steps:

- **Counts: water-filling.** Each seat's load is `held` plus what this run already gave it.
  Clients go one at a time to the seat whose fill ratio after taking one, `(load + 1) /
  capacity`, is lowest (the D'Hondt rule; ties broken by a seeded rank). Seats of equal capacity
  end within one of each other whenever their existing loads allow it, and larger seats take
  proportionally more. The bulk of the levelling is found by bisection on the fill ratio, so
  only the last few clients go through a heap.
- **Assets: snake draft.** The clients are sorted by assets, richest first, and the seats pick
  in turn. A seat that takes `n` clients picks at the evenly spaced ranks `(j + 1/2) / n` of the
  list; seats with equal counts pick in rounds whose direction alternates (1, 2, 3, 3, 2, 1,
  ...), the classic snake draft. The seat with the least assets per unit of capacity so far
  (`held_assets` and kept clients included) picks first. So each advisor's book spans the whole
  asset range and no one gets all the high-asset clients.

A later (incremental) run passes only the new candidates and each seat's `held` and
`held_assets`: it cannot move anyone, since it only returns new placements, and the levelling
starts from `held`, so late clients go to the advisors who hold fewer.
"""

from __future__ import annotations

import heapq
import random
import statistics
from array import array
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from operator import attrgetter
from typing import Final

#: Bisection steps on the fill ratio; 2**-60 is far below the gap 1/capacity**2 between
#: distinct ratios, so the heap finishes at most one client per seat.
_BISECTION_STEPS: Final = 60


@dataclass(frozen=True, slots=True)
class Candidate:
    """A client to place."""

    client_id: str
    #: The client's branch (canonical name), or None when unknown.
    branch: str | None
    #: Total assets; 0.0 when unknown.
    assets: float
    #: The previous advisor's code when that advisor is active in the roster, else None.
    owner: str | None


@dataclass(frozen=True, slots=True)
class Seat:
    """An active advisor who can take clients."""

    code: str
    branch: str
    #: Most clients this advisor may hold in the campaign (already min(roster, max_per_advisor)).
    capacity: int
    #: Clients already assigned to them in this campaign by earlier runs.
    held: int = 0
    #: Total assets of those clients.
    held_assets: float = 0.0


@dataclass(frozen=True)
class SplitRules:
    """How to split: keep previous owners, let clients cross branches, seed of the tie-breaks."""

    keep_owner: bool = True
    cross_branch: bool = False
    seed: int = 0


@dataclass(frozen=True)
class Split:
    """The placements of one run.

    `assignments` holds every client placed by this run, kept ones included; `kept` is the
    subset placed with their previous owner. Every candidate is in exactly one of
    `assignments` and `unassigned`.
    """

    #: client id -> advisor code, for the clients placed by this run (kept ones included).
    assignments: dict[str, str]
    #: Ids of the clients placed with their previous owner (a subset of `assignments`).
    kept: frozenset[str]
    #: Ids of the clients nobody could take, sorted.
    unassigned: tuple[str, ...]


@dataclass(frozen=True)
class AdvisorLoad:
    """One advisor's share of a split: how many clients and how much in assets."""

    code: str
    clients: int
    #: Total assets of their clients (clients missing from the assets mapping count as 0).
    assets: float
    #: Median assets of their clients with known assets; None when none is known.
    median_assets: float | None


class _Seats:
    """Seats by index, with the loads this run builds up on top of `held`."""

    def __init__(self, seats: Sequence[Seat], rng: random.Random) -> None:
        ordered = sorted(seats, key=attrgetter("code"))
        codes = [seat.code for seat in ordered]
        if len(set(codes)) != len(codes):
            raise ValueError("seat codes must be unique")
        self.codes = codes
        self.branches = [seat.branch for seat in ordered]
        self.capacity = [max(seat.capacity, 0) for seat in ordered]
        self.load = [seat.held for seat in ordered]
        self.assets = [seat.held_assets for seat in ordered]
        self.index = {code: i for i, code in enumerate(codes)}
        # A seeded permutation of the seats breaks every tie between them.
        rank = list(range(len(ordered)))
        rng.shuffle(rank)
        self.rank = rank

    def room(self, i: int) -> int:
        return max(self.capacity[i] - self.load[i], 0)


@dataclass(frozen=True)
class CandidateColumns:
    """The candidates as columns, one entry per client in client id order (Python's string
    order, ids unique): what a campaign of millions is split from without an object per
    client. `branch` and `owner` index `branches` and `owners` (-1: unknown, none)."""

    branches: Sequence[str]
    branch: array[int]
    owners: Sequence[str]
    owner: array[int]
    assets: array[float]

    def __len__(self) -> int:
        return len(self.assets)

    @classmethod
    def of(cls, ordered: Sequence[Candidate]) -> CandidateColumns:
        """Columns of `ordered` (already in client id order)."""
        branch_index: dict[str, int] = {}
        owner_index: dict[str, int] = {}
        branch, owner = array("i"), array("i")
        for candidate in ordered:
            name = candidate.branch
            branch.append(-1 if name is None else branch_index.setdefault(name, len(branch_index)))
            code = candidate.owner
            owner.append(owner_index.setdefault(code, len(owner_index)) if code else -1)
        return cls(
            list(branch_index),
            branch,
            list(owner_index),
            owner,
            array("d", (candidate.assets for candidate in ordered)),
        )


@dataclass(frozen=True)
class ColumnSplit:
    """The placements of one run over `CandidateColumns`, by position in them."""

    #: Seat codes; `placed[k]` indexes them, -1 for a client nobody could take.
    codes: Sequence[str]
    placed: array[int]
    #: 1 where the client was placed with their previous owner.
    kept: bytearray


def split(candidates: Sequence[Candidate], seats: Sequence[Seat], rules: SplitRules) -> Split:
    """Place `candidates` on `seats`: kept owners, then branch first, then spill-over.

    See the module docstring for the method. Raises ValueError on duplicate client ids or
    seat codes. Same input and `rules.seed` give the same result, whatever the input order.
    """
    ordered = sorted(candidates, key=attrgetter("client_id"))
    if len({candidate.client_id for candidate in ordered}) != len(ordered):
        raise ValueError("client ids must be unique")
    result = split_columns(CandidateColumns.of(ordered), seats, rules)
    codes, kept = result.codes, result.kept
    return Split(
        assignments={ordered[k].client_id: codes[i] for k, i in enumerate(result.placed) if i >= 0},
        kept=frozenset(ordered[k].client_id for k in range(len(ordered)) if kept[k]),
        unassigned=tuple(ordered[k].client_id for k, i in enumerate(result.placed) if i < 0),
    )


def split_columns(
    columns: CandidateColumns, seats: Sequence[Seat], rules: SplitRules
) -> ColumnSplit:
    """`split` over columns: the same placements for the same clients and seed, a branch's
    pool dealt at a time, with a few machine words per client (no object per client)."""
    draw_rng = random.Random(f"reactivate.split.clients:{rules.seed}")
    seat_rng = random.Random(f"reactivate.split.seats:{rules.seed}")
    board = _Seats(seats, seat_rng)
    count = len(columns)
    # The draw order as positions in the columns: shuffling them takes the very swaps that
    # shuffling the clients sorted by id would (they depend only on the length).
    drawn = array("i", range(count))
    draw_rng.shuffle(drawn)

    placed = array("i", [-1]) * count
    kept = bytearray(count)
    owner_seat = [board.index.get(code, -1) if code else -1 for code in columns.owners]
    if not rules.keep_owner:
        owner_seat = [-1] * len(owner_seat)
    owner_seat.append(-1)  # owner -1 (none) indexes this last entry
    branch_of, owner_of, assets = columns.branch, columns.owner, columns.assets
    load, capacity, held_assets = board.load, board.capacity, board.assets
    pools: defaultdict[int, array[int]] = defaultdict(lambda: array("i"))
    # Clients of unknown branch can only spill over.
    spill = array("i")
    for k in drawn:
        owner = owner_seat[owner_of[k]]
        if owner >= 0 and load[owner] < capacity[owner]:
            load[owner] += 1
            held_assets[owner] += assets[k]
            placed[k] = owner
            kept[k] = 1
        elif branch_of[k] < 0:
            spill.append(k)
        else:
            pools[branch_of[k]].append(k)

    seats_by_branch: defaultdict[str, list[int]] = defaultdict(list)
    for i, branch in enumerate(board.branches):
        seats_by_branch[branch].append(i)

    names = columns.branches
    for b in sorted(pools, key=names.__getitem__):
        pool = pools.pop(b)  # dealt pools are let go
        open_seats = [i for i in seats_by_branch.get(names[b], []) if board.room(i) > 0]
        room = sum(board.room(i) for i in open_seats)
        _deal(pool[:room], open_seats, board, assets, placed)
        spill.extend(pool[room:])

    if rules.cross_branch and spill:
        # The spill list is grouped by branch; reshuffle so that, when there is not room for
        # all, the ones left out are a random draw rather than the last branches' clients.
        draw_rng.shuffle(spill)
        open_seats = [i for i in range(len(board.codes)) if board.room(i) > 0]
        room = sum(board.room(i) for i in open_seats)
        _deal(spill[:room], open_seats, board, assets, placed)
    return ColumnSplit(codes=board.codes, placed=placed, kept=kept)


def _deal(
    clients: array[int],
    open_seats: list[int],
    board: _Seats,
    assets: array[float],
    placed: array[int],
) -> None:
    """Deal `clients` (positions; no more than the seats' room) over `open_seats`: counts,
    then assets."""
    if not clients:
        return
    counts = _level(len(clients), open_seats, board)
    # Snake order: the seat with the least assets per unit of capacity picks first.
    pickers = sorted(
        (i for i in open_seats if counts[i]),
        key=lambda i: (board.assets[i] / board.capacity[i], board.rank[i]),
    )
    picks: list[tuple[float, int, int]] = []
    for order, i in enumerate(pickers):
        count = counts[i]
        # Rounds alternate direction so that, among seats with equal counts, the first pick
        # of one round is the last of the next: the snake draft.
        picks.extend(((j + 0.5) / count, order if j % 2 == 0 else -order, i) for j in range(count))
    picks.sort()
    # stable: clients of equal assets keep their draw order
    richest_first = sorted(clients, key=assets.__getitem__, reverse=True)
    seat_assets = board.assets
    for k, (_, _, i) in zip(richest_first, picks, strict=True):
        placed[k] = i
        seat_assets[i] += assets[k]
    for i in pickers:
        board.load[i] += counts[i]


def _level(total: int, open_seats: list[int], board: _Seats) -> dict[int, int]:
    """How many of `total` clients each seat takes: water-filling by the D'Hondt rule.

    Giving clients one by one to the seat with the lowest `(load + 1) / capacity` amounts to
    taking the `total` smallest of all the seats' ratios `(x + 1) / capacity` for `x` from
    load to capacity - 1. Bisection finds the ratio below which fewer than `total` lie; the
    heap then hands out the rest (at most one per seat) in the exact order, ties by rank.
    """
    load, capacity = board.load, board.capacity

    def taken_below(ratio: float) -> dict[int, int]:
        return {
            i: min(max(int(ratio * capacity[i]) - load[i], 0), capacity[i] - load[i])
            for i in open_seats
        }

    low, high = 0.0, 1.0
    for _ in range(_BISECTION_STEPS):
        middle = (low + high) / 2
        if sum(taken_below(middle).values()) <= total:
            low = middle
        else:
            high = middle
    counts = taken_below(low)
    left = total - sum(counts.values())
    heap = [
        ((load[i] + counts[i] + 1) / capacity[i], board.rank[i], i)
        for i in open_seats
        if load[i] + counts[i] < capacity[i]
    ]
    heapq.heapify(heap)
    for _ in range(left):
        _, rank, i = heapq.heappop(heap)
        counts[i] += 1
        if load[i] + counts[i] < capacity[i]:
            heapq.heappush(heap, ((load[i] + counts[i] + 1) / capacity[i], rank, i))
    return counts


def draw_holdout(members: Sequence[tuple[str, str]], share: float, seed: int) -> frozenset[str]:
    """Draw a stratified random control group of `round(share * n)` clients.

    `members` are `(client_id, stratum)` pairs, the stratum being e.g. `"branch|asset band"`.
    Each stratum gets `share` of its size, rounded down; the clients still owed to reach the
    exact total go one each to the strata with the largest fractional remainders (the largest
    remainder method; ties by the seeded RNG). So every stratum is within one of its share.
    Within a stratum the clients are a seeded random sample. Arithmetic is exact (fractions),
    so the total is `round(share * n)` computed without floating-point error.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"holdout share must be between 0 and 1, got {share}")
    by_stratum: defaultdict[str, list[str]] = defaultdict(list)
    seen: set[str] = set()
    for client_id, stratum in members:
        if client_id in seen:
            raise ValueError(f"client {client_id!r} appears twice in the holdout members")
        seen.add(client_id)
        by_stratum[stratum].append(client_id)

    rng = random.Random(f"reactivate.holdout:{seed}")
    exact_share = Fraction(share)
    total = round(exact_share * len(seen))
    strata = sorted(by_stratum)
    quotas = {stratum: exact_share * len(by_stratum[stratum]) for stratum in strata}
    sizes = {stratum: int(quota) for stratum, quota in quotas.items()}
    tie_break = list(range(len(strata)))
    rng.shuffle(tie_break)
    by_remainder = sorted(
        range(len(strata)),
        key=lambda s: (-(quotas[strata[s]] - sizes[strata[s]]), tie_break[s]),
    )
    for s in by_remainder[: total - sum(sizes.values())]:
        sizes[strata[s]] += 1

    drawn: list[str] = []
    for stratum in strata:
        drawn.extend(rng.sample(sorted(by_stratum[stratum]), sizes[stratum]))
    return frozenset(drawn)


def loads(assignments: Mapping[str, str], assets: Mapping[str, float]) -> list[AdvisorLoad]:
    """Each advisor's count, total and median assets in `assignments`, sorted by code."""
    books: defaultdict[str, list[str]] = defaultdict(list)
    for client_id, code in assignments.items():
        books[code].append(client_id)
    result = []
    for code in sorted(books):
        known = [assets[client_id] for client_id in books[code] if client_id in assets]
        result.append(
            AdvisorLoad(
                code=code,
                clients=len(books[code]),
                assets=float(sum(known)),
                median_assets=float(statistics.median(known)) if known else None,
            )
        )
    return result
