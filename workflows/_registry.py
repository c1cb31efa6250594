"""The durable-function registry, filled by ``@durable_function`` during autodiscovery."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from rawr_site.registry import Registry

KeyFn = Callable[[Any], Any]

#: Priorities a function may declare: 0 (default) .. 9 (most urgent), as on RabbitMQ.
PRIORITY_RANGE = range(10)


@dataclass(frozen=True)
class Throttle:
    """At most ``limit`` runs *start* per ``period`` seconds per key; the rest wait their
    turn (nothing is dropped)."""

    limit: int
    period: float
    key: KeyFn | None = None


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` runs are *accepted* per ``period`` seconds per key; triggers over
    it are recorded as ``skipped`` runs and never execute."""

    limit: int
    period: float
    key: KeyFn | None = None


@dataclass(frozen=True)
class Debounce:
    """Triggers of one key within ``period`` seconds of each other make one run, with the
    last trigger's input, ``period`` seconds after the last trigger."""

    period: float
    key: KeyFn | None = None


def _limit_spec(name: str, spec: Any, cls: type) -> Any:
    """``(limit, period[, key])`` -> ``cls``; a spec that makes no sense is refused now."""
    if spec is None or isinstance(spec, cls):
        return spec
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        raise ValueError(f"{name}= takes (limit, period_seconds[, key]), not {spec!r}")
    limit, period, *key = spec
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"{name}= limit must be a whole number >= 1, not {limit!r}")
    if isinstance(period, bool) or not isinstance(period, int | float) or period <= 0:
        raise ValueError(f"{name}= period must be a number of seconds > 0, not {period!r}")
    if key and key[0] is not None and not callable(key[0]):
        raise ValueError(f"{name}= key must be a function of the input")
    return cls(limit, float(period), key[0] if key else None)


def _debounce_spec(spec: Any) -> Debounce | None:
    if spec is None or isinstance(spec, Debounce):
        return spec
    if not isinstance(spec, tuple) or len(spec) not in (1, 2):
        raise ValueError(f"debounce= takes (period_seconds[, key]), not {spec!r}")
    period, *key = spec
    if isinstance(period, bool) or not isinstance(period, int | float) or period <= 0:
        raise ValueError(f"debounce= period must be a number of seconds > 0, not {period!r}")
    if key and key[0] is not None and not callable(key[0]):
        raise ValueError("debounce= key must be a function of the input")
    return Debounce(float(period), key[0] if key else None)


def flow_key(key: KeyFn | None, parsed_input: Any) -> str:
    """The key a flow control counts by (``""``: one for the whole function)."""
    return str(key(parsed_input))[:255] if key is not None else ""


@dataclass(frozen=True)
class CronDeclaration:
    """``cron=`` on a durable function, stored as written: ``workflows.schedules`` checks
    it at start-up (system check) and keeps a ``Schedule`` row in step with it."""

    expression: str
    timezone: str = "UTC"
    input: Any = None
    missed: Any = "skip"


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
    throttle: Throttle | None = None
    rate_limit: RateLimit | None = None
    debounce: Debounce | None = None
    cron: CronDeclaration | None = None

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
    throttle: tuple | Throttle | None = None,
    rate_limit: tuple | RateLimit | None = None,
    debounce: tuple | Debounce | None = None,
    cron: str | None = None,
    timezone: str = "UTC",
    cron_input: Any = None,
    missed: Any = "skip",
    description: str = "",
) -> Callable[[Callable[..., Any]], DurableFunction]:
    """Register ``fn(ctx, step)`` as a durable function under a stable ``id``.

    The id is stored on every run: renaming it orphans existing runs. ``concurrency`` caps
    running runs per ``concurrency_key(input)``; ``idempotency_key(input)`` dedupes
    triggers that carry no explicit key. Flow control, all enforced in the database so it
    holds across any number of workers: ``throttle=(limit, period, key)`` (starts per
    period, the rest wait), ``rate_limit=(limit, period, key)`` (accepted triggers per
    period, the rest are recorded as skipped), ``debounce=(period, key)`` (the last
    trigger in the window wins). ``queue`` routes the function's runs to their own broker
    queue (workers started with ``-Q``); ``priority`` 0..9 orders them within it.
    ``cron="*/5 * * * *"`` (read in ``timezone``) starts a run with ``cron_input`` at
    every tick; ``missed="skip"`` or ``("catch_up", N)`` says what happens to ticks missed
    in a downtime (``workflows.schedules``, checked by ``manage.py check``).
    """
    if (
        isinstance(priority, bool)
        or not isinstance(priority, int)
        or priority not in PRIORITY_RANGE
    ):
        raise ValueError(f"priority must be a whole number from 0 to 9, not {priority!r}")
    throttle_spec = _limit_spec("throttle", throttle, Throttle)
    rate_limit_spec = _limit_spec("rate_limit", rate_limit, RateLimit)
    debounce_spec = _debounce_spec(debounce)

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
                    throttle=throttle_spec,
                    rate_limit=rate_limit_spec,
                    debounce=debounce_spec,
                    cron=CronDeclaration(cron, timezone, cron_input, missed) if cron else None,
                ),
            )
        )

    return decorator


def limited_function_ids() -> frozenset[str]:
    """Functions whose claim counts other runs under a lock (concurrency limit, throttle)."""
    return frozenset(
        f.id
        for f in _functions.values()
        if f.options.concurrency_limit or f.options.throttle is not None
    )
