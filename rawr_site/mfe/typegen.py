"""The generated TypeScript declarations ``rawr manifest`` writes (and ``--check`` checks).

``static/rawr/types/<cap>.d.ts`` per registered capability plus ``rawr-mfe.d.ts`` (the mount
context with ``ctx.rpc`` typed). MFE authors who use TypeScript reference them; the host
serves them as static files too.
"""

from __future__ import annotations

from pathlib import Path

from django.apps import apps

from rawr_site.contract import registry
from rawr_site.manifest import BASE_DIR
from rawr_site.mfe.contracts import index_declarations, typescript_declarations

TYPES_DIR = BASE_DIR / "static" / "rawr" / "types"
INDEX_NAME = "rawr-mfe.d.ts"


def _source(capability: str) -> str:
    try:
        app_dir = Path(apps.get_app_config(capability).path)
    except LookupError:
        return f"the {capability} contract"
    contract = app_dir / "contract.py"
    return (
        str(contract.relative_to(BASE_DIR)) if contract.is_relative_to(BASE_DIR) else str(contract)
    )


def generated_type_files() -> dict[str, str]:
    """File name (inside ``TYPES_DIR``) -> content, for every registered contract."""
    contracts = registry.all_contracts()
    files = {
        f"{c.capability}.d.ts": typescript_declarations(c, source=_source(c.capability))
        for c in contracts
    }
    files[INDEX_NAME] = index_declarations(contracts)
    return files
