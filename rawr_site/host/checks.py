"""System checks: contract declaration mistakes fail ``manage.py check`` loudly."""

from __future__ import annotations

from django.core import checks

from rawr_site.contract import registry


@checks.register("rawr")
def check_contracts(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for contract in registry.all_contracts():
        for problem in contract.problems():
            errors.append(checks.Error(problem, id="rawr.E001", obj=contract.capability))
    return errors
