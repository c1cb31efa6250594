"""``CapabilityConfig``: the AppConfig base every capability app uses.

Its ``ready()`` registers the app's ``contract`` and imports its handler modules
(``operations/`` submodules or ``api.py``), the way ``admin.autodiscover`` works: a missing
module is fine, a broken one raises.
"""

from __future__ import annotations

import importlib
import pkgutil

from django.apps import AppConfig
from django.utils.module_loading import module_has_submodule

from rawr_site.contract import registry
from rawr_site.contract.procedure import Contract


class CapabilityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        contract_module = importlib.import_module(f"{self.name}.contract")
        contract = getattr(contract_module, "contract", None)
        if not isinstance(contract, Contract):
            raise TypeError(f"{self.name}.contract must define `contract = Contract(...)`")
        if contract.capability != self.label:
            raise ValueError(
                f"{self.name}: contract id {contract.capability!r} must equal the app label "
                f"{self.label!r}"
            )
        registry.register(contract)
        self.contract = contract
        self._import_handlers()

    def _import_handlers(self) -> None:
        if module_has_submodule(self.module, "operations"):
            package = importlib.import_module(f"{self.name}.operations")
            for info in pkgutil.iter_modules(package.__path__):
                importlib.import_module(f"{self.name}.operations.{info.name}")
        if module_has_submodule(self.module, "api"):
            importlib.import_module(f"{self.name}.api")
