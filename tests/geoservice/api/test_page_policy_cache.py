"""The Content-Security-Policy of a page is remembered per page, never shared between two."""

from __future__ import annotations

import base64
import hashlib

from geoservice.api.headers import page_csp


def _digest(code: bytes) -> str:
    return base64.b64encode(hashlib.sha256(code).digest()).decode()


def test_pages_served_in_turn_each_get_the_hashes_of_their_own_scripts():
    first = b"<html><script>draw(1)</script></html>"
    second = b"<html><script>draw(2)</script></html>"
    for _ in range(2):
        assert f"'sha256-{_digest(b'draw(1)')}'" in page_csp(first)
        assert f"'sha256-{_digest(b'draw(2)')}'" not in page_csp(first)
        assert f"'sha256-{_digest(b'draw(2)')}'" in page_csp(second)


def test_a_page_served_again_is_not_searched_again():
    page = b"<html><script>zoom(12)</script>" + b"x" * 20_000 + b"</html>"
    before = page_csp.cache_info()
    policy = page_csp(page)
    assert page_csp(bytes(bytearray(page))) == policy  # equal bytes, another object
    after = page_csp.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)
