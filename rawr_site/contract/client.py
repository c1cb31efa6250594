"""The in-process client: a capability's procedures as Python calls.

Other apps call a capability through this, never over HTTP. It runs the very same
``Procedure.call`` as the transports, so validation and errors are identical.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from rawr_site.contract.context import BoundaryContext
from rawr_site.contract.procedure import Contract


class CapabilityClient:
    """``client.query({"q": "tea"})`` or ``client.query(q="tea")`` -> the output model."""

    def __init__(self, contract: Contract) -> None:
        self._contract = contract

    def call(
        self,
        procedure: str,
        input: BaseModel | dict[str, Any] | None = None,
        *,
        ctx: BoundaryContext | None = None,
    ) -> Any:
        proc = self._contract.get(procedure)
        raw = input.model_dump(by_alias=True) if isinstance(input, BaseModel) else input
        context = ctx or BoundaryContext.internal()
        context.transport = "client"
        return proc.call(context, raw)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or name not in self._contract:
            raise AttributeError(f"{self._contract.capability} has no procedure {name!r}")

        def bound(
            input: BaseModel | dict[str, Any] | None = None,
            *,
            ctx: BoundaryContext | None = None,
            **fields: Any,
        ) -> Any:
            payload = input if input is not None else (fields or None)
            return self.call(name, payload, ctx=ctx)

        bound.__name__ = name
        return bound

    def __dir__(self) -> list[str]:
        return [proc.name for proc in self._contract]
