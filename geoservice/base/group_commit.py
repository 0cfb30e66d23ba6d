"""Work of concurrent threads written in shared transactions (group commit).

The threads of a process that write to the same workspace at the same time can share one
transaction: the first thread to arrive when no batch is being written writes every item
queued so far (its own included); threads arriving meanwhile queue their items and wait,
and the first of them to wake writes the next batch. No thread waits for a timer: alone,
an item is written at once in a transaction of its own; under load, one transaction (one
lock, one ``BEGIN``, one ``COMMIT`` and its ``fsync``) serves every item that arrived
while the previous one was written.

The writer returns one outcome per item, in order: a result, or :class:`Failed` with the
error of that item alone (the item's own changes undone, the others kept). An error that
escapes the writer fails every item of the batch. A thread returns only once its batch is
written, with its own result, or raises its own error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypeVar

__all__ = ["Failed", "GroupCommit", "Outcome", "Writer"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Failed:
    """The outcome of an item whose own work raised ``error``."""

    error: BaseException


Outcome: TypeAlias = "R | Failed"
Writer: TypeAlias = "Callable[[Sequence[T]], Sequence[Outcome[R]]]"


class GroupCommit(Generic[T, R]):
    """Items of one process's threads, written a batch at a time by one of them."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: list[T] = []
        self._collecting = 0  # number of the batch now collecting items
        self._written = -1  # number of the last batch written (or failed)
        self._writing = False
        self._outcomes: dict[int, list[Outcome[R]]] = {}
        self._unread: dict[int, int] = {}  # outcomes of a batch not yet taken by their thread
        self.commits = 0  # batches written (for the tests and benchmarks)
        self.items = 0  # items written in them

    def submit(self, item: T, write: Writer[T, R]) -> R:
        """Queue ``item``; once its batch is written by ``write`` (in this thread or
        another, with the items queued beside it), return its result or raise its error.

        ``write`` gets the batch's items in the order they came and returns one outcome
        per item in that order.
        """
        with self._cond:
            mine = self._collecting
            slot = len(self._pending)
            self._pending.append(item)
            while self._written < mine and self._writing:
                self._cond.wait()
            if self._written >= mine:
                return self._take(mine, slot)
            self._writing = True  # this thread writes the batch that holds its item
            batch, self._pending = self._pending, []
            self._collecting += 1
        outcomes = _outcomes(write, batch)
        with self._cond:
            self._written = mine
            self.commits += 1
            self.items += len(batch)
            self._outcomes[mine] = outcomes
            self._unread[mine] = len(batch)
            self._writing = False
            self._cond.notify_all()
            return self._take(mine, slot)

    def _take(self, number: int, slot: int) -> R:
        """The outcome of item ``slot`` of batch ``number`` (called with the lock held)."""
        outcome = self._outcomes[number][slot]
        self._unread[number] -= 1
        if not self._unread[number]:
            del self._outcomes[number], self._unread[number]
        if isinstance(outcome, Failed):
            raise outcome.error
        return outcome


def _outcomes(write: Writer[T, R], batch: list[T]) -> list[Outcome[R]]:
    """``write(batch)``, or its error as every item's outcome."""
    try:
        outcomes = list(write(batch))
    except BaseException as exc:  # handed to every waiting thread
        return [Failed(exc)] * len(batch)
    if len(outcomes) != len(batch):
        error = RuntimeError(f"a batch writer returned {len(outcomes)} outcomes for {len(batch)}")
        return [Failed(error)] * len(batch)
    return outcomes
