"""Safe coordination ids (workflow, desk, handoff, run): the runtime's own rule.

``workflows.ids.is_safe_id`` (``^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$``, matched whole, so
``"desk-a\\n"`` is refused as JavaScript's ``RegExp.test`` refuses it) plus the original's
``trim()``-then-check normalisation.
"""

from __future__ import annotations

from workflows.ids import SAFE_ID_PATTERN, is_safe_id

__all__ = [
    "SAFE_ID_PATTERN",
    "is_safe_coordination_id",
    "js_trim",
    "normalize_coordination_id",
]

#: What JavaScript's ``String.prototype.trim`` strips (WhiteSpace and LineTerminator). It
#: differs from ``str.strip()``: JS strips U+FEFF, Python strips U+001C..U+001F and U+0085.
_JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def is_safe_coordination_id(value: object) -> bool:
    """True for a string of letters, digits, ``.``, ``_``, ``-`` (not first), <= 128 chars."""
    return is_safe_id(value)


def js_trim(value: str) -> str:
    """``value.trim()`` as JavaScript does it."""
    return value.strip(_JS_WHITESPACE)


def normalize_coordination_id(value: str) -> str | None:
    """The trimmed id if it is safe, else ``None`` (the original ``normalizeCoordinationId``)."""
    trimmed = js_trim(value)
    return trimmed if is_safe_coordination_id(trimmed) else None
