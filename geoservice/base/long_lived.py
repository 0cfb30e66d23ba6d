"""What a service worker keeps for its life, taken out of the cyclic collector's walks.

A worker of ``geoservice serve`` keeps its workspace's parcels, villages and complaint
index for the complaint intake (:mod:`geoservice.intake.warm`) and the kept village
status: about 440,000 objects the cyclic garbage collector tracks at county scale (every
shapely geometry is one), which it walks on each full collection. In a county worker
under the 50-client load (``bench/service_load.py``) a full collection took 115-236 ms
and freed nothing; the collector holds the interpreter meanwhile, so every request of the
worker waited that long.

:func:`keep_out_of_collections` moves every object tracked at that moment into the
collector's permanent generation (:func:`gc.freeze`), which collections skip. A frozen
object is still freed by reference counting as soon as nothing refers to it (the layers
of an earlier import, once read again); only garbage in reference cycles among frozen
objects would stay until the worker ends. So the young generations are collected first
(what the warm-up left in cycles is freed, not frozen), and the call is made only after a
worker has read what it keeps: when it starts, and when the intake has read the layers
again after an import.

The collector itself stays on: objects made later (requests, kept tiles, status texts) are
collected as before.
"""

from __future__ import annotations

import gc
import threading

__all__ = ["keep_out_of_collections"]

_LOCK = threading.Lock()


def keep_out_of_collections() -> int:
    """Collect the two young generations, then freeze every object still tracked; returns
    how many objects the permanent generation holds after it (:func:`gc.get_freeze_count`)."""
    with _LOCK:
        gc.collect(1)
        gc.freeze()
        return gc.get_freeze_count()
