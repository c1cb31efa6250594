"""Which capabilities have an MFE, which are enabled, and the files they may serve.

A capability's MFE is ``<app dir>/web/index.js`` (an ES module exporting ``mount``); extra
modules in ``web/`` are served beside it. Enabled = ``settings.RAWR_MFE_ENABLED`` (``None``:
every capability with an MFE). Names are checked before any path is built, and a resolved
file must still lie inside ``web/``, so no request can walk out of it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps

from rawr_site.contract import registry
from rawr_site.contract.procedure import CAPABILITY_ID_RE, Contract
from rawr_site.manifest import (
    MFE_ENTRY,
    MFE_PLUGIN_URL,
    MFE_RESERVED_NAMES,
    manifest_capability_ids,
    mfe_enabled,
)

WEB_DIR = MFE_ENTRY.parent.name
ENTRY = MFE_ENTRY.name
RESERVED_NAMES = MFE_RESERVED_NAMES
#: One path segment of a served file: no leading dot, no ``..``, no separators.
SEGMENT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
PLUGIN_URL = MFE_PLUGIN_URL


@dataclass(frozen=True)
class Mfe:
    """One capability's browser module as the host shows and serves it."""

    capability: str
    title: str
    web_dir: Path

    @property
    def base_path(self) -> str:
        return f"/rawr/{self.capability}"

    @property
    def url(self) -> str:
        return PLUGIN_URL.format(cap=self.capability)

    def entry_url(self) -> str:
        """``index.js`` under the capability's folder URL (so ``./x.js`` imports resolve
        beside it), with a content hash: a new deploy is a new URL for the browser."""
        return f"{self.url}/{ENTRY}?v={self.version()}"

    def version(self) -> str:
        """Hash of every served file in ``web/`` (names and bytes)."""
        digest = hashlib.sha256()
        for path in sorted(self.web_dir.rglob("*.js")):
            digest.update(str(path.relative_to(self.web_dir)).encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
        return digest.hexdigest()[:16]


def _contract(capability: str) -> Contract | None:
    try:
        return registry.get_contract(capability)
    except KeyError:
        return None


def is_safe_name(capability: str) -> bool:
    return bool(CAPABILITY_ID_RE.match(capability)) and capability not in RESERVED_NAMES


def web_dir_of(capability: str) -> Path | None:
    """``web/`` of a registered capability app when it holds ``index.js``."""
    if not is_safe_name(capability) or _contract(capability) is None:
        return None
    try:
        app_dir = Path(apps.get_app_config(capability).path)
    except LookupError:
        return None
    web = app_dir / WEB_DIR
    return web if (web / ENTRY).is_file() else None


def enabled_mfes() -> list[Mfe]:
    """Enabled MFEs in the manifest's capability order."""
    ordered = [*manifest_capability_ids()]
    ordered += [c.capability for c in registry.all_contracts() if c.capability not in ordered]
    found = []
    for capability in ordered:
        mfe = enabled_mfe(capability)
        if mfe is not None:
            found.append(mfe)
    return found


def enabled_mfe(capability: str) -> Mfe | None:
    web = web_dir_of(capability)
    if web is None or not mfe_enabled(capability):
        return None
    contract = _contract(capability)
    title = contract.title if contract is not None else capability
    return Mfe(capability=capability, title=title, web_dir=web)


def served_file(mfe: Mfe, relative: str) -> Path | None:
    """The file ``relative`` (``a.js`` or ``dir/a.js``) inside ``mfe.web_dir``, or ``None``
    for anything that is not a plain ``.js`` file in there."""
    parts = relative.split("/")
    if not relative.endswith(".js") or not all(SEGMENT_RE.match(p) for p in parts):
        return None
    if any(".." in p for p in parts):
        return None
    root = mfe.web_dir.resolve()
    path = root.joinpath(*parts).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path
