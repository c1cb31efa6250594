"""The capability registry, filled by ``CapabilityConfig.ready()`` (autodiscovery).

Registration raises on duplicates; ``temporarily_registered`` is the test helper.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rawr_site.contract.procedure import Contract, Procedure

_contracts: dict[str, Contract] = {}


def register(contract: Contract) -> None:
    existing = _contracts.get(contract.capability)
    if existing is not None and existing is not contract:
        raise ValueError(f"capability {contract.capability!r} is registered twice")
    _contracts[contract.capability] = contract


def unregister(capability: str) -> None:
    _contracts.pop(capability, None)


def get_contract(capability: str) -> Contract:
    try:
        return _contracts[capability]
    except KeyError:
        raise KeyError(f"no capability {capability!r} is registered") from None


def all_contracts() -> list[Contract]:
    return [_contracts[key] for key in sorted(_contracts)]


def find_procedure(capability: str, name: str) -> Procedure | None:
    contract = _contracts.get(capability)
    if contract is None or name not in contract:
        return None
    return contract.get(name)


@contextmanager
def temporarily_registered(contract: Contract) -> Iterator[Contract]:
    """Register a contract for the duration of a test."""
    register(contract)
    try:
        yield contract
    finally:
        unregister(contract.capability)
