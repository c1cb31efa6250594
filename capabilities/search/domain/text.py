"""Tokenizing and term ranking for the portable (non-Postgres) search path."""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD_RE = re.compile(r"[0-9A-Za-z\u00C0-\u024F]+")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens, in order."""
    return [word.lower() for word in _WORD_RE.findall(text)]


def query_terms(q: str) -> list[str]:
    """Distinct terms of a query, in first-seen order."""
    seen: dict[str, None] = {}
    for term in tokenize(q):
        seen.setdefault(term, None)
    return list(seen)


def term_score(terms: Iterable[str], title: str, body: str) -> float:
    """Title hits weigh 2, body hits 1, normalised by document length (like ts_rank's /1)."""
    title_tokens = tokenize(title)
    body_tokens = tokenize(body)
    raw = 0.0
    for term in terms:
        raw += 2 * sum(1 for tok in title_tokens if tok.startswith(term))
        raw += sum(1 for tok in body_tokens if tok.startswith(term))
    length = 1 + len(title_tokens) + len(body_tokens)
    return round(raw / length, 6)


def snippet(body: str, terms: Iterable[str], width: int = 160) -> str:
    """A window of ``body`` around the first matching term."""
    lowered = body.lower()
    positions = [lowered.find(term) for term in terms if term and lowered.find(term) >= 0]
    start = max(0, min(positions) - width // 4) if positions else 0
    text = body[start : start + width].strip()
    return ("…" if start > 0 else "") + text + ("…" if start + width < len(body) else "")
