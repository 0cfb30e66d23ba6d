"""Answers of 1,000 bytes or more are gzip-compressed for clients that accept it."""

from __future__ import annotations

import gzip
import json

import pytest


def _raw(town, url, encoding):  # type: ignore[no-untyped-def]
    headers = {**town.headers("office"), "Accept-Encoding": encoding}
    with town.client.stream("GET", url, headers=headers) as res:
        return res, b"".join(res.iter_raw())


@pytest.mark.slow
def test_a_problem_list_is_sent_compressed_and_reads_the_same(town):
    plain_res, plain = _raw(town, "/problems", "identity")
    packed_res, packed = _raw(town, "/problems", "gzip")
    assert "content-encoding" not in plain_res.headers
    assert packed_res.headers["content-encoding"] == "gzip"
    assert len(packed) < len(plain) / 2
    assert json.loads(gzip.decompress(packed)) == json.loads(plain)


def test_a_small_answer_is_sent_as_it_is(town):
    res, body = _raw(town, "/health", "gzip")
    assert len(body) < 1000
    assert "content-encoding" not in res.headers
    assert json.loads(body)["status"] == "ok"
