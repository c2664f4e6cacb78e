"""Is a new message about the same issue as a ticket? Pure: vectors in, a decision out (docs/tickets.md,
"Repeat contacts").

Each candidate ticket has one or more texts (its subject + description, and the first customer message of
the conversation it came from). Both sides are embedded as e5 *queries* (a symmetric comparison), so the
cosine of two L2-normalised vectors is their dot product. A ticket's score is its best text's; the ticket
with the highest score at or above `THRESHOLD` wins; ties go to the candidate listed first (the most
recently updated). The threshold was chosen on the examples in docs/tickets.md with the bundled
multilingual-e5-small: same-issue pairs scored 0.915–0.981, different issues 0.798–0.886."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

THRESHOLD = 0.90


@dataclass(frozen=True)
class Match:
    ticket_id: int
    similarity: float


def best_match(
    message: np.ndarray, candidates: Sequence[tuple[int, np.ndarray]], threshold: float = THRESHOLD
) -> Match | None:
    """`candidates`: (ticket id, a matrix of that ticket's text vectors), most recently updated first."""
    best: tuple[int, float] | None = None
    for ticket_id, vectors in candidates:
        if len(vectors) == 0:
            continue
        score = float(np.max(vectors @ message))
        if score >= threshold and (best is None or score > best[1]):
            best = (ticket_id, score)
    return None if best is None else Match(best[0], round(best[1], 4))
