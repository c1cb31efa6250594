"""The capability toolkit: what a capability's ``contract.py`` and handlers import.

Public surface: ``Contract``, ``Schema``, ``ErrorSpec``, ``RawrError``, ``BoundaryContext``,
``Principal``, ``CapabilityClient``, ``DocumentedAs``, ``CapabilityConfig`` (import the latter from
``rawr_site.contract.apps`` in ``apps.py``).
"""

from rawr_site.contract.client import CapabilityClient
from rawr_site.contract.context import BoundaryContext, Principal
from rawr_site.contract.errors import ErrorSpec, RawrError
from rawr_site.contract.procedure import Contract, Procedure
from rawr_site.contract.schema import DocumentedAs, Schema

__all__ = [
    "BoundaryContext",
    "CapabilityClient",
    "Contract",
    "DocumentedAs",
    "ErrorSpec",
    "Principal",
    "Procedure",
    "RawrError",
    "Schema",
]
