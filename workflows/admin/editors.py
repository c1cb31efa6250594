"""JSON typed by staff into the console's editors (replay input, approval payloads).

One parser so every editor refuses the same things with the same words: text that is not
JSON (with the line and column), text over the size limit, and the non-standard
``NaN`` / ``Infinity`` that Python's ``json`` accepts but JSON (and the runs API) do not.
The rules are the host's strict JSON (``rawr_site.strict_json``), shared with every API.
"""

from __future__ import annotations

from typing import Any

from rawr_site import strict_json

#: Longest text an editor accepts (an input or payload, not a file upload).
MAX_EDITOR_CHARS = 1_000_000


class EditorError(ValueError):
    """Text from a JSON editor that cannot be used; ``str()`` is the message for staff."""


def parse_editor_json(
    text: str | None, *, empty: Any = None, max_chars: int = MAX_EDITOR_CHARS
) -> Any:
    """The editor's value; ``empty`` when it holds only whitespace."""
    text = (text or "").strip()
    if not text:
        return empty
    if len(text) > max_chars:
        raise EditorError(f"JSON is too long ({len(text)} characters, at most {max_chars})")
    try:
        return strict_json.loads(text)
    except strict_json.StrictJSONError as exc:
        raise EditorError(str(exc)) from exc
