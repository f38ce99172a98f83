"""The scorer's ledger of handed-out ids: exact answers across merges, about 8 bytes per id."""

from __future__ import annotations

from pipeline.id_ledger import RECENT_LIMIT, IdLedger, fingerprint


def test_fingerprints_are_stable_across_processes() -> None:
    # blake2b, not hash(): a spawned worker or a later run must agree with this value
    assert fingerprint("a00001") == fingerprint("a00001") == 0xC05701CE6BC94F47
    assert fingerprint("a00001") != fingerprint("a00002")


def test_every_added_id_is_known_and_others_are_new_across_merges() -> None:
    ledger = IdLedger()
    added = [f"art-{n:07d}" for n in range(3 * RECENT_LIMIT + 123)]
    for start in range(0, len(added), 1000):
        ledger.add(added[start : start + 1000])
    ledger.add(added[:10])  # adding again changes nothing
    others = [f"other-{n}" for n in range(20_000)]
    assert ledger.is_new(added) == [False] * len(added)
    assert ledger.is_new(others) == [True] * len(others)
    assert ledger.is_new([]) == []
    assert added[-1] in ledger and "other-1" not in ledger and 5 not in ledger
    # the sorted arrays hold what left the recent set: 8 bytes per id, nothing more
    assert (len(added) - RECENT_LIMIT) * 8 <= ledger.nbytes() <= len(added) * 8
    assert len(ledger._blocks) <= 2  # merged as they grew (3 freezes: one double, one single)
