"""Keyword extraction: deterministic, dependency-free, explainable.

Score = term frequency, with title occurrences weighing 3, over words that are not stop
words, at least 3 letters long and not pure numbers; adjacent non-stop-word pairs that
repeat become two-word keywords. Ties break alphabetically, so the same text always gives
the same keywords.
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

from capabilities.search.domain.text import tokenize

STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "let",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "one",
        "two",
        "use",
        "used",
        "using",
        "via",
        "per",
    ]
)
TITLE_WEIGHT = 3


def _candidates(tokens: list[str]) -> list[str]:
    return [t for t in tokens if len(t) >= 3 and not t.isdigit() and t not in STOP_WORDS]


def extract_keywords(title: str, body: str, *, limit: int = 10) -> list[str]:
    scores: Counter[str] = Counter()
    for weight, text in ((TITLE_WEIGHT, title), (1, body)):
        tokens = tokenize(text)
        for term in _candidates(tokens):
            scores[term] += weight
        pairs = Counter(
            f"{a} {b}"
            for a, b in pairwise(tokens)
            if a not in STOP_WORDS and b not in STOP_WORDS and len(a) >= 3 and len(b) >= 3
        )
        for pair, count in pairs.items():
            if count >= 2 or weight == TITLE_WEIGHT:
                scores[pair] += weight * count
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [term for term, _score in ranked[:limit]]
