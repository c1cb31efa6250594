"""Media types for static files that WhiteNoise's table (by extension) gets wrong.

The vendored libraries (``static/vendor``) ship licence and provenance files beside their
code (``LICENSE``, ``LICENSE.orpc-client``, ``VERSIONS``, ``BUNDLED``): by extension those
would be ``application/octet-stream`` (a download) instead of text. The MFE type
declarations (``*.d.ts``) would be ``video/mp2t``. WhiteNoise looks a file's lower-cased
name up before its extension, so each such name is listed here.
"""

from __future__ import annotations

from pathlib import Path

TEXT = "text/plain"  # WhiteNoise adds the charset to text types
_TEXT_NAMES = ("license", "versions", "bundled", "notice", "readme")


def static_media_types(static_dir: Path) -> dict[str, str]:
    """``WHITENOISE_MIMETYPES`` for the files under ``static_dir``."""
    types = {".ts": TEXT, ".map": "application/json", ".mjs": "text/javascript"}
    if static_dir.is_dir():
        for path in static_dir.rglob("*"):
            name = path.name.lower()
            if path.is_file() and name.split(".", 1)[0] in _TEXT_NAMES:
                types[name] = TEXT
    return types
