"""Remember which article ids a long scoring run has handed out, in about 8 bytes per id.

``BackgroundScorer`` tries each article once per run; on a million-article backlog a ``set`` of
the id strings grew to about 100 MB. The ledger keeps a 64-bit fingerprint per id instead: recent
ones in a small set, older ones in sorted numpy arrays merged as they grow (each fingerprint is
re-sorted O(log n) times in all). Two different ids share a fingerprint with odds of about
n²/2⁶⁵ (3 in 100 million for a million ids); the cost of that is one article left for the next
pass or run, never a wrong score. Measured for a million ids (bench/bench_ledger.py): 8.8 MB
against 114.6 MB, at about 3 µs more CPU per id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np

RECENT_LIMIT = 65_536  # fingerprints kept in the set before they move to a sorted array


def fingerprint(article_id: str) -> int:
    """A stable 64-bit fingerprint (the same in every process, unlike ``hash()``)."""
    digest = hashlib.blake2b(article_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


class IdLedger:
    """A set of article ids that only grows."""

    def __init__(self) -> None:
        self._recent: set[int] = set()
        self._blocks: list[np.ndarray] = []  # each sorted; sizes shrink from first to last

    def add(self, article_ids: Iterable[str]) -> None:
        """Remember these ids."""
        self._recent.update(fingerprint(article_id) for article_id in article_ids)
        if len(self._recent) >= RECENT_LIMIT:
            self._freeze()

    def is_new(self, article_ids: Sequence[str]) -> list[bool]:
        """For each id, True when it was never added."""
        marks = [fingerprint(article_id) for article_id in article_ids]
        seen = np.fromiter((m in self._recent for m in marks), dtype=bool, count=len(marks))
        keys = np.array(marks, dtype=np.uint64)
        for block in self._blocks:
            at = np.minimum(np.searchsorted(block, keys), len(block) - 1)
            seen |= block[at] == keys
        return [not hit for hit in seen.tolist()]

    def __contains__(self, article_id: object) -> bool:
        return isinstance(article_id, str) and not self.is_new([article_id])[0]

    def nbytes(self) -> int:
        """Bytes held by the sorted arrays (the recent set adds at most RECENT_LIMIT ints)."""
        return sum(block.nbytes for block in self._blocks)

    def _freeze(self) -> None:
        block = np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent))
        block.sort()
        self._recent = set()
        # Merge while the last block is no bigger than the new one: O(log n) blocks remain.
        while self._blocks and len(self._blocks[-1]) <= len(block):
            block = np.concatenate([self._blocks.pop(), block])
            block.sort()
        self._blocks.append(block)
