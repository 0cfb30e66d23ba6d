"""The batch runtime switch: garbage collector off and arrow on the system pool, restored after."""

import gc

import pyarrow as pa

from geoservice.analysis.pause import analysis_runtime


def test_gc_is_paused_inside_and_restored_after_nested_blocks():
    assert gc.isenabled()
    with analysis_runtime():
        with analysis_runtime():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_arrow_allocates_from_the_system_pool_inside_and_the_default_comes_back_after():
    before = pa.default_memory_pool().backend_name
    with analysis_runtime():
        with analysis_runtime():
            assert pa.default_memory_pool().backend_name == "system"
        assert pa.default_memory_pool().backend_name == "system"
    assert pa.default_memory_pool().backend_name == before


def test_gc_left_off_when_it_was_off_before():
    gc.disable()
    try:
        with analysis_runtime():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
