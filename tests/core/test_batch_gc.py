"""`fewer_collections` raises the collector's threshold meanwhile and always restores it."""

from __future__ import annotations

import gc
import threading

import pytest

from wbadmin.core.batch_gc import BATCH_GEN0, fewer_collections


def test_the_threshold_is_raised_meanwhile_and_restored_even_on_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        assert gc.get_threshold()[0] == max(BATCH_GEN0, before[0])
        assert gc.get_threshold()[1:] == before[1:]
        raise RuntimeError("a refresh failed")
    assert gc.get_threshold() == before


def test_overlapping_batches_restore_only_when_the_last_ends() -> None:
    before = gc.get_threshold()
    first_in, second_done = threading.Event(), threading.Event()
    seen: list[tuple[int, int, int]] = []

    def other() -> None:
        first_in.wait()
        with fewer_collections():
            pass
        seen.append(gc.get_threshold())  # the first batch is still running
        second_done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with fewer_collections():
        first_in.set()
        second_done.wait(5)
    thread.join()
    assert seen and seen[0][0] == max(BATCH_GEN0, before[0])
    assert gc.get_threshold() == before
