"""The capability registry, filled by ``CapabilityConfig.ready()`` (autodiscovery).

Registration raises on duplicates; ``temporarily_registered`` is the test helper.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rawr_site.contract.procedure import Contract, Procedure
from rawr_site.registry import Registry

_contracts: Registry[str, Contract] = Registry("capability")


def register(contract: Contract) -> None:
    _contracts.register(contract.capability, contract)


def unregister(capability: str) -> None:
    _contracts.unregister(capability)


def get_contract(capability: str) -> Contract:
    return _contracts[capability]


def all_contracts() -> list[Contract]:
    return _contracts.sorted_values()


def find_procedure(capability: str, name: str) -> Procedure | None:
    contract = _contracts.get(capability)
    if contract is None or name not in contract:
        return None
    return contract.get(name)


@contextmanager
def temporarily_registered(contract: Contract) -> Iterator[Contract]:
    """Register a contract for the duration of a test."""
    with _contracts.temporarily(contract.capability, contract):
        yield contract
