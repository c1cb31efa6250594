"""The derived surfaces, built once from the registered contracts in manifest order."""

from __future__ import annotations

from functools import cache

from ninja import NinjaAPI

from rawr_site.contract import registry
from rawr_site.contract.procedure import Contract
from rawr_site.manifest import manifest_capability_ids
from rawr_site.transports.openapi import build_published_api
from rawr_site.transports.rpc import build_rpc_api


def mounted_contracts() -> list[Contract]:
    """Contracts of the manifest's capabilities (plus host-owned ones such as coordination)."""
    ids = manifest_capability_ids()
    extra = [c.capability for c in registry.all_contracts() if c.capability not in ids]
    return [registry.get_contract(cid) for cid in [*ids, *extra]]


@cache
def rpc_api() -> NinjaAPI:
    return build_rpc_api(mounted_contracts())


@cache
def orpc_api() -> NinjaAPI:
    return build_published_api(mounted_contracts(), surface="orpc", namespace="api-orpc")


@cache
def workflows_api() -> NinjaAPI:
    return build_published_api(mounted_contracts(), surface="workflows", namespace="api-workflows")
