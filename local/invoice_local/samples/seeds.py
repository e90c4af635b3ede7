"""Which generated seeds tune the engine and which only measure it.

`make eval` reports the local engine on three sets side by side: the shared labelled set, the TUNING seeds and
the HELD-OUT seeds of the varied generator (varied.py). Rules are developed while looking at the tuning seeds'
failures only; the held-out seeds are never looked at document by document while changing the engine, so their
figures say how the engine does on layouts it was not fitted to. Keep the two ranges disjoint and do not move
them to make a figure look better."""

from __future__ import annotations

TUNING = range(0, 200)
HELD_OUT = range(10_000, 10_200)
SEED_SETS: dict[str, range] = {"tuning": TUNING, "held_out": HELD_OUT}
