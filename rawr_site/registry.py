"""The one registry behind every registry of the project.

Contracts (``rawr_site.contract``), durable functions (``workflows``), desk handlers
(``coordination``) and the ``rawr`` command's contributions are all filled the same way:
apps register at import time (autodiscovery), a key registered twice with something else
is a start-up error rather than a silent override, and tests register temporarily.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _same(existing: object, new: object) -> bool:
    return existing is new


class Registry(Generic[K, V]):
    """``key -> value`` with duplicate detection, in registration order.

    ``what`` names the things in messages ("capability", "durable function");
    ``same(existing, new)`` says when registering again is harmless (a module imported
    twice re-registers the same object; by default: the very same object).
    """

    def __init__(self, what: str, *, same: Callable[[V, V], bool] = _same) -> None:
        self.what = what
        self._same = same
        self._items: dict[K, V] = {}

    def register(self, key: K, value: V) -> V:
        existing = self._items.get(key)
        if existing is not None and not self._same(existing, value):
            raise ValueError(f"{self.what} {key!r} is registered twice")
        self._items[key] = value
        return value

    def unregister(self, key: K) -> None:
        self._items.pop(key, None)

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def __getitem__(self, key: K) -> V:
        try:
            return self._items[key]
        except KeyError:
            raise KeyError(f"no {self.what} {key!r} is registered") from None

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[K]:
        return list(self._items)

    def values(self) -> list[V]:
        """In registration order."""
        return list(self._items.values())

    def sorted_values(self) -> list[V]:
        return [self._items[key] for key in sorted(self._items)]  # type: ignore[type-var]

    @contextmanager
    def temporarily(self, key: K, value: V) -> Iterator[V]:
        """Register ``value`` for the duration of a test."""
        self.register(key, value)
        try:
            yield value
        finally:
            self.unregister(key)
