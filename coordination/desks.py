"""Desk handlers: how a capability gives a desk real behaviour.

Register with ``@desk_handler(kind="desk:analysis", domain="billing")`` (every desk of that
kind and domain) or ``@desk_handler(ref="billing.summarize")`` (desks whose document sets
``"handlerRef": "billing.summarize"``; a reference wins over kind + domain). Modules named
``desks.py`` in any installed app are autodiscovered. A desk with no handler echoes its
input, as the original did.

A handler gets a ``DeskCall`` and returns JSON; the output is checked against the desk's
``outputSchema`` (JSON Schema), and a mismatch fails the desk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rawr_site.registry import Registry


@dataclass(frozen=True)
class DeskCall:
    run_id: str
    workflow_id: str
    workflow_version: int
    desk: dict[str, Any]
    input: Any
    memory: dict[str, Any]

    @property
    def desk_id(self) -> str:
        return self.desk["deskId"]


DeskFn = Callable[[DeskCall], Any]

_by_ref: Registry[str, DeskFn] = Registry("desk handler for ref")
_by_kind_domain: Registry[tuple[str, str], DeskFn] = Registry("desk handler for (kind, domain)")


def desk_handler(
    *, kind: str | None = None, domain: str | None = None, ref: str | None = None
) -> Callable[[DeskFn], DeskFn]:
    if (ref is None) == (kind is None or domain is None):
        raise ValueError("register a desk handler by ref=..., or by kind=... and domain=...")

    def decorator(fn: DeskFn) -> DeskFn:
        if ref is not None:
            _by_ref.register(ref, fn)
        else:
            _by_kind_domain.register((kind, domain), fn)  # type: ignore[arg-type]
        return fn

    return decorator


def handler_for(desk: dict[str, Any]) -> DeskFn | None:
    ref = desk.get("handlerRef")
    if isinstance(ref, str) and ref in _by_ref:
        return _by_ref[ref]
    return _by_kind_domain.get((desk.get("kind"), desk.get("domain")))  # type: ignore[arg-type]


@contextmanager
def temporarily_registered(
    fn: DeskFn, *, kind: str | None = None, domain: str | None = None, ref: str | None = None
) -> Iterator[DeskFn]:
    """Register a desk handler for the duration of a test."""
    desk_handler(kind=kind, domain=domain, ref=ref)(fn)
    try:
        yield fn
    finally:
        if ref is not None:
            _by_ref.unregister(ref)
        else:
            _by_kind_domain.unregister((kind, domain))  # type: ignore[arg-type]
