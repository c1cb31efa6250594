"""Walking the desk graph of a (shape-checked) document, with the original's semantics.

Desks are nodes, handoffs directed edges. Like the original helpers, these functions are
total on documents that fail validation: an unknown ``fromDeskId`` contributes no outgoing
edge, an unknown ``toDeskId`` is still followed (it simply has no desk), and with duplicate
desk ids the last desk wins in ``desk_map``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CycleError",
    "desk_map",
    "handoffs_from",
    "handoffs_into",
    "has_cycle",
    "incoming_adjacency",
    "outgoing_adjacency",
    "reachable_from_entry",
    "topological_order",
]

Document = Mapping[str, Any]


class CycleError(ValueError):
    """The graph has a cycle, so it has no topological order."""


def desk_map(document: Document) -> dict[str, Mapping[str, Any]]:
    """``deskId`` -> desk (the last one wins if ids repeat)."""
    return {desk["deskId"]: desk for desk in document["desks"]}


def outgoing_adjacency(document: Document) -> dict[str, list[str]]:
    """``deskId`` -> target desk ids, one per handoff, in handoff order (known sources only)."""
    out: dict[str, list[str]] = {desk["deskId"]: [] for desk in document["desks"]}
    for handoff in document["handoffs"]:
        targets = out.get(handoff["fromDeskId"])
        if targets is not None:
            targets.append(handoff["toDeskId"])
    return out


def incoming_adjacency(document: Document) -> dict[str, list[str]]:
    """``deskId`` -> source desk ids, one per handoff, in handoff order (known targets only).

    A handoff from an unknown desk still counts as inbound to a known one.
    """
    incoming: dict[str, list[str]] = {desk["deskId"]: [] for desk in document["desks"]}
    for handoff in document["handoffs"]:
        sources = incoming.get(handoff["toDeskId"])
        if sources is not None:
            sources.append(handoff["fromDeskId"])
    return incoming


def handoffs_into(document: Document, desk_id: str) -> list[Mapping[str, Any]]:
    """The handoffs whose target is ``desk_id``, in document order."""
    return [h for h in document["handoffs"] if h["toDeskId"] == desk_id]


def handoffs_from(document: Document, desk_id: str) -> list[Mapping[str, Any]]:
    """The handoffs whose source is ``desk_id``, in document order."""
    return [h for h in document["handoffs"] if h["fromDeskId"] == desk_id]


def reachable_from_entry(document: Document) -> set[str]:
    """Ids reached from ``entryDeskId`` along handoffs (the entry itself always included)."""
    out = outgoing_adjacency(document)
    seen: set[str] = set()
    queue = deque([document["entryDeskId"]])
    while queue:
        current = queue.popleft()
        if current in seen:
            continue
        seen.add(current)
        queue.extend(nxt for nxt in out.get(current, ()) if nxt not in seen)
    return seen


def has_cycle(document: Document) -> bool:
    """True if following handoffs from some desk can come back to it (self-loops included)."""
    out = outgoing_adjacency(document)
    visiting: set[str] = set()
    visited: set[str] = set()
    for root in out:
        if root in visited:
            continue
        # Iterative depth-first search: a long chain must not hit the recursion limit.
        visiting.add(root)
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, index = stack[-1]
            targets = out.get(node, [])
            if index == len(targets):
                stack.pop()
                visiting.discard(node)
                visited.add(node)
                continue
            stack[-1] = (node, index + 1)
            nxt = targets[index]
            if nxt in visiting:
                return True
            if nxt not in visited:
                visiting.add(nxt)
                stack.append((nxt, 0))
    return False


def topological_order(document: Document) -> list[str]:
    """Desk ids so that every handoff's source comes before its target.

    The original's Kahn order, which depends only on the document: first the desks with no
    inbound handoff, in document order; then each desk as soon as its last inbound handoff
    is consumed, desks being visited first-in first-out and targets in handoff order. The
    last id is the desk whose output the original reports as the run's output.

    Raises ``CycleError`` when there is a cycle (or when desk ids repeat, as the original).
    """
    out = outgoing_adjacency(document)
    in_degree: dict[str, int] = {desk["deskId"]: 0 for desk in document["desks"]}
    for handoff in document["handoffs"]:
        target = handoff["toDeskId"]
        in_degree[target] = in_degree.get(target, 0) + 1

    queue = deque(desk_id for desk_id, degree in in_degree.items() if degree == 0)
    order: list[str] = []
    while queue:
        current = queue.popleft()
        order.append(current)
        for nxt in out.get(current, ()):
            in_degree[nxt] -= 1
            if in_degree[nxt] == 0:
                queue.append(nxt)

    if len(order) != len(document["desks"]):
        raise CycleError("Cannot produce topological order for cyclic workflow")
    return order
