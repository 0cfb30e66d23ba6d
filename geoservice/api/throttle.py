"""Rate limit of failed sign-ins and failed tokens, per client address.

A request that presents a token (bearer, HTTP Basic password, sign-in cookie or the sign-in
form) which is unknown, revoked or expired counts as one failure of its client address.
After ``GEOSERVICE_AUTH_FAILURES`` failures in ``GEOSERVICE_AUTH_WINDOW_S`` seconds (a fixed
window that starts at the address's first failure), every request of that address that needs
a token is refused with 429 and ``Retry-After`` until the window ends, whatever the token: a
guess that happens to be right must not be told apart from a wrong one. Requests that succeed
are not counted, and a request without any token is not a guess and is not counted either.

The first failure of an address in each window is written to the audit log
(``access.failed``), not every try. Counts live in memory (the ``limits`` package's
fixed-window limiter), per service process: a restart forgets them.
"""

from __future__ import annotations

import math
import threading
import time

from fastapi import Request
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from geoservice.base.errors import AuthenticationError, TooManyAttemptsError, message
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace

__all__ = ["FailureThrottle", "check_address", "record_failure", "throttle_of"]

_CREATE = threading.Lock()
# Refusals that are not a guess at a token.
NOT_A_GUESS = ("access.no_token",)


class FailureThrottle:
    """Failures per client address in a fixed window.

    Parameters
    ----------
    failures : int
        Failures an address may have in one window; the next request is refused.
    window_s : int
        Length of the window in seconds, counted from the address's first failure.
    """

    def __init__(self, failures: int, window_s: int) -> None:
        self.failures = failures
        self.window_s = window_s
        self._item = RateLimitItemPerSecond(failures, window_s)
        self._limiter = FixedWindowRateLimiter(MemoryStorage())
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int | None:
        """Whole seconds until ``address`` may try again; None when it is not refused."""
        if self._limiter.test(self._item, address):
            return None
        reset, _ = self._limiter.get_window_stats(self._item, address)
        return max(1, math.ceil(reset - time.time()))

    def fail(self, address: str) -> bool:
        """Count one failure of ``address``; True when it is the first of its window."""
        with self._lock:
            stats = self._limiter.get_window_stats(self._item, address)
            self._limiter.hit(self._item, address)
        return stats.remaining == self.failures


def throttle_of(request: Request) -> FailureThrottle:
    """The app's throttle, made from its settings on first use."""
    state = request.app.state
    found: FailureThrottle | None = getattr(state, "auth_throttle", None)
    if found is None:
        with _CREATE:
            found = getattr(state, "auth_throttle", None)
            if found is None:
                settings: Settings = state.settings
                found = FailureThrottle(settings.auth_failures, settings.auth_window_s)
                state.auth_throttle = found
    return found


def check_address(request: Request, address: str) -> None:
    """TooManyAttemptsError (429) while ``address`` has used up its failures."""
    throttle = throttle_of(request)
    wait = throttle.retry_after(address)
    if wait is None:
        return
    raise TooManyAttemptsError(
        message(
            "access.too_many_failures",
            f"来自 {address} 的登录或令牌在 {throttle.window_s} 秒内已失败 "
            f"{throttle.failures} 次，暂停受理；请在 {wait} 秒后重试，并核对令牌是否抄写完整。",
            f"{throttle.failures} sign-ins or tokens from {address} failed within "
            f"{throttle.window_s} s, so its requests are refused for now; try again in "
            f"{wait} s, and check the token was copied whole.",
        ),
        retry_after=wait,
    )


def record_failure(request: Request, ws: Workspace, address: str, exc: AuthenticationError) -> None:
    """Count a refused token of ``address``; audit the first of its window."""
    if exc.code in NOT_A_GUESS:
        return
    throttle = throttle_of(request)
    if throttle.fail(address):
        detail = {
            "from": address,
            "method": request.method,
            "path": request.url.path,
            "window_s": throttle.window_s,
            "failures_allowed": throttle.failures,
        }
        ws.log("anonymous", "access.failed", exc.code, detail)
