"""The durable-function registry, filled by ``@durable_function`` during autodiscovery."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from rawr_site.registry import Registry

KeyFn = Callable[[Any], Any]


@dataclass(frozen=True)
class FunctionOptions:
    retries: int = 2
    #: Backoff before retry n (1-based): ``min(backoff_max, backoff_base * 2 ** (n - 1))``.
    backoff_base: float = 1.0
    backoff_max: float = 300.0
    #: Whole-run deadline in seconds (checked at every step boundary).
    timeout: float | None = None
    queue: str = ""
    priority: int = 0
    concurrency_limit: int | None = None
    concurrency_key: KeyFn | None = None
    idempotency_key: KeyFn | None = None

    def backoff(self, attempt: int) -> float:
        return float(min(self.backoff_max, self.backoff_base * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class DurableFunction:
    id: str
    fn: Callable[..., Any]
    capability: str = ""
    input_model: type[BaseModel] | None = None
    options: FunctionOptions = field(default_factory=FunctionOptions)
    description: str = ""

    def parse_input(self, raw: Any) -> Any:
        if self.input_model is None:
            return raw if raw is not None else {}
        return self.input_model.model_validate(raw if raw is not None else {})


#: A module imported twice re-registers a new wrapper around the same function: harmless.
_functions: Registry[str, DurableFunction] = Registry(
    "durable function", same=lambda existing, new: existing.fn is new.fn
)


def register(function: DurableFunction) -> DurableFunction:
    return _functions.register(function.id, function)


def unregister(function_id: str) -> None:
    _functions.unregister(function_id)


def get_function(function_id: str) -> DurableFunction | None:
    return _functions.get(function_id)


def all_functions() -> list[DurableFunction]:
    return _functions.sorted_values()


@contextmanager
def temporarily_registered(function: DurableFunction) -> Iterator[DurableFunction]:
    """Register a durable function for the duration of a test."""
    with _functions.temporarily(function.id, function):
        yield function


def durable_function(
    id: str,
    *,
    capability: str = "",
    input: type[BaseModel] | None = None,
    retries: int = 2,
    backoff_base: float = 1.0,
    backoff_max: float = 300.0,
    timeout: float | None = None,
    queue: str = "",
    priority: int = 0,
    concurrency: int | None = None,
    concurrency_key: KeyFn | None = None,
    idempotency_key: KeyFn | None = None,
    description: str = "",
) -> Callable[[Callable[..., Any]], DurableFunction]:
    """Register ``fn(ctx, step)`` as a durable function under a stable ``id``.

    The id is stored on every run: renaming it orphans existing runs. ``concurrency`` caps
    running runs per ``concurrency_key(input)``; ``idempotency_key(input)`` dedupes
    triggers that carry no explicit key.
    """

    def decorator(fn: Callable[..., Any]) -> DurableFunction:
        return register(
            DurableFunction(
                id=id,
                fn=fn,
                capability=capability,
                input_model=input,
                description=description or (fn.__doc__ or "").strip().split("\n")[0],
                options=FunctionOptions(
                    retries=retries,
                    backoff_base=backoff_base,
                    backoff_max=backoff_max,
                    timeout=timeout,
                    queue=queue,
                    priority=priority,
                    concurrency_limit=concurrency,
                    concurrency_key=concurrency_key,
                    idempotency_key=idempotency_key,
                ),
            )
        )

    return decorator


def limited_function_ids() -> frozenset[str]:
    """Functions with a concurrency limit: their claim must count running runs under a lock."""
    return frozenset(f.id for f in _functions.values() if f.options.concurrency_limit)
