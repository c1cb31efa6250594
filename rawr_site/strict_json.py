"""The one JSON parser for everything a client sends (request bodies, ``?data=``, cursors).

Python's ``json`` accepts more than JSON: ``NaN`` / ``Infinity`` / ``-Infinity``, numbers
that overflow to ``inf`` (``1e309``), and it raises ``RecursionError`` (not ``ValueError``)
on nesting deeper than the interpreter's recursion limit. Each of those used to reach a
view as a 500, or be stored as ``null`` (a JSON column cannot hold NaN). Every surface
parses with :func:`loads` so each refuses them the same way, with words a caller can act on.
"""

from __future__ import annotations

import json
import math
from typing import Any


class StrictJSONError(ValueError):
    """Text that is not strict JSON; ``str()`` says why, for the caller."""

    def __init__(self, message: str, *, syntax: bool = False) -> None:
        super().__init__(message)
        #: True for plain syntax errors (a transport may prefer its standard wording then).
        self.syntax = syntax


def _refuse_constant(name: str) -> Any:
    raise StrictJSONError(f"{name} is not JSON (use a number or null)")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise StrictJSONError(f"The number {text[:40]} is out of range (not a finite number)")
    return value


def loads(text: str | bytes | bytearray) -> Any:
    """Decode strict JSON (RFC 8259); :class:`StrictJSONError` for anything else."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except StrictJSONError:
        raise
    except json.JSONDecodeError as exc:
        raise StrictJSONError(
            f"Malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", syntax=True
        ) from exc
    except RecursionError as exc:
        raise StrictJSONError("JSON is nested too deeply") from exc
    except UnicodeDecodeError as exc:
        raise StrictJSONError("Malformed JSON: the text is not UTF-8", syntax=True) from exc
    except ValueError as exc:  # e.g. an integer longer than Python converts
        raise StrictJSONError(f"Malformed JSON: {exc}") from exc
