"""Work lanes: jobs shared between a worker thread and the caller, and the inline lane."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from geoservice.analysis.lanes import Inline, Shared


def test_shared_jobs_come_back_in_order_and_unstarted_ones_run_in_the_caller():
    gate = threading.Event()
    ran_in = {}

    def job(k):
        if k == 0:
            gate.wait(5)
        ran_in[k] = threading.current_thread().name
        return k * k

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lane") as lane:
        work = Shared(lane, job, list(range(6)))
        # the lane is held on job 0, so the caller takes back and runs jobs 5 to 1
        threading.Timer(0.2, gate.set).start()
        assert work.results() == [0, 1, 4, 9, 16, 25]
    assert ran_in[0].startswith("lane")
    assert all(ran_in[k] == threading.current_thread().name for k in range(1, 6))


def test_inline_jobs_run_in_the_caller_when_submitted_and_keep_their_error():
    ran_in = []
    with Inline() as lane:
        job = lane.submit(lambda: ran_in.append(threading.current_thread().name) or 3)
        assert ran_in == [threading.current_thread().name]
        assert job.result() == 3
        failed = lane.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        failed.result()


def test_shared_jobs_on_an_inline_lane_come_back_in_order():
    assert Shared(Inline(), lambda k: k * k, [1, 2, 3]).results() == [1, 4, 9]
