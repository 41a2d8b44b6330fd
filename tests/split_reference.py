"""The split as it was before it ran over columns (`reactivate.rules.split`): one pass over
every candidate as an object, kept here unchanged as the reference the columns must equal
(tests/test_assign.py, tests/test_assignment.py). Seats, levelling and rules are shared."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from operator import attrgetter

from reactivate.rules.split import Candidate, Seat, Split, SplitRules, _level, _Seats


def split(candidates: Sequence[Candidate], seats: Sequence[Seat], rules: SplitRules) -> Split:
    """Place `candidates` on `seats`: kept owners, then branch first, then spill-over.

    See the module docstring for the method. Raises ValueError on duplicate client ids or
    seat codes. Same input and `rules.seed` give the same result, whatever the input order.
    """
    draw_rng = random.Random(f"reactivate.split.clients:{rules.seed}")
    seat_rng = random.Random(f"reactivate.split.seats:{rules.seed}")
    board = _Seats(seats, seat_rng)

    drawn = sorted(candidates, key=attrgetter("client_id"))
    if len({candidate.client_id for candidate in drawn}) != len(drawn):
        raise ValueError("client ids must be unique")
    draw_rng.shuffle(drawn)

    assignments: dict[str, str] = {}
    kept: list[str] = []
    pools: defaultdict[str, list[Candidate]] = defaultdict(list)
    # Clients of unknown branch can only spill over.
    spill: list[Candidate] = []
    for candidate in drawn:
        owner = board.index.get(candidate.owner) if rules.keep_owner and candidate.owner else None
        if owner is not None and board.load[owner] < board.capacity[owner]:
            board.load[owner] += 1
            board.assets[owner] += candidate.assets
            assignments[candidate.client_id] = board.codes[owner]
            kept.append(candidate.client_id)
        elif candidate.branch is None:
            spill.append(candidate)
        else:
            pools[candidate.branch].append(candidate)

    seats_by_branch: defaultdict[str, list[int]] = defaultdict(list)
    for i, branch in enumerate(board.branches):
        seats_by_branch[branch].append(i)

    for branch in sorted(pools):
        pool = pools[branch]
        open_seats = [i for i in seats_by_branch.get(branch, []) if board.room(i) > 0]
        room = sum(board.room(i) for i in open_seats)
        _deal(pool[:room], open_seats, board, assignments)
        spill.extend(pool[room:])

    unassigned: list[Candidate] = spill
    if rules.cross_branch and spill:
        # The spill list is grouped by branch; reshuffle so that, when there is not room for
        # all, the ones left out are a random draw rather than the last branches' clients.
        draw_rng.shuffle(spill)
        open_seats = [i for i in range(len(board.codes)) if board.room(i) > 0]
        room = sum(board.room(i) for i in open_seats)
        _deal(spill[:room], open_seats, board, assignments)
        unassigned = spill[room:]

    return Split(
        assignments=assignments,
        kept=frozenset(kept),
        unassigned=tuple(sorted(candidate.client_id for candidate in unassigned)),
    )


def _deal(
    clients: list[Candidate], open_seats: list[int], board: _Seats, assignments: dict[str, str]
) -> None:
    """Deal `clients` (no more than the seats' room) over `open_seats`: counts, then assets."""
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
    richest_first = sorted(clients, key=attrgetter("assets"), reverse=True)
    codes = board.codes
    for candidate, (_, _, i) in zip(richest_first, picks, strict=True):
        assignments[candidate.client_id] = codes[i]
        board.assets[i] += candidate.assets
    for i in pickers:
        board.load[i] += counts[i]
