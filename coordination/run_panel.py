"""The desk graph on the run page of a coordination run (``coordination.run``).

Registered with ``workflows.admin.run_page.register_run_panel`` from ``CoordinationConfig.
ready()``, so ``workflows`` never imports coordination. Each desk gets one of the states
``pending | running | waiting | completed | failed | skipped``, read from the run's desk
steps (``desk/<id>/started|execute|completed|failed``) and its pending approval in two
small queries, whatever the length of the timeline.

The page draws the graph with ``window.RawrDeskGraph`` (``static/console/desk_graph.js``)
when it is there; the server also renders a layered SVG (the picture without script) and
the DOM mirror ``<ul id="desk-states">`` that people and tests read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from django.utils.html import format_html, format_html_join, json_script
from django.utils.safestring import SafeString, mark_safe

from coordination.runs import EXECUTOR_FUNCTION_ID
from workflows import FINISHED_STATUSES, Run, RunStatus, StepStatus
from workflows.admin.run_page import register_run_panel
from workflows.selectors import approval_pending_for_run, step_statuses

DESK_STATES = ("pending", "running", "waiting", "completed", "failed", "skipped")
#: Desks drawn; a bigger document is listed in part.
MAX_DESKS = 200


def _document(run: Run) -> dict[str, Any] | None:
    """The pinned version's document, or ``None`` when the run's input names none."""
    from coordination.selectors import workflow_get

    spec = run.input if isinstance(run.input, dict) else {}
    workflow_id, version = spec.get("workflowId"), spec.get("workflowVersion")
    if not isinstance(workflow_id, str) or not workflow_id:
        return None
    try:
        version_number = int(version)
    except (TypeError, ValueError):
        return None
    document = workflow_get(workflow_id=workflow_id, version=version_number)
    if not isinstance(document, dict) or not isinstance(document.get("desks"), list):
        return None
    return document


def _desks(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    desks = [d for d in document.get("desks", []) if isinstance(d, dict) and d.get("deskId")]
    return desks[:MAX_DESKS]


def _handoffs(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    out = []
    for handoff in document.get("handoffs") or []:
        if isinstance(handoff, dict) and handoff.get("fromDeskId") and handoff.get("toDeskId"):
            out.append((str(handoff["fromDeskId"]), str(handoff["toDeskId"])))
    return out


def desk_states(run: Run, desk_ids: list[str], approval_desk: str = "") -> dict[str, str]:
    """``deskId`` -> state, from the run's ``desk/...`` steps (one query)."""
    steps: dict[str, dict[str, str]] = {}
    for step_id, status in step_statuses(run_id=run.pk, prefix="desk/").items():
        parts = step_id.split("/")
        if len(parts) >= 3:
            steps.setdefault(parts[1], {})[parts[2]] = status
    finished = run.status in FINISHED_STATUSES
    states = {}
    for desk_id in desk_ids:
        phases = steps.get(desk_id, {})
        if phases.get("completed") == StepStatus.COMPLETED:
            state = "completed"
        elif "failed" in phases or StepStatus.FAILED in phases.values():
            state = "failed"
        elif desk_id == approval_desk or phases.get("execute") == StepStatus.WAITING:
            state = "waiting"
        elif phases:
            state = "running"
        else:
            state = "skipped" if finished else "pending"
        if finished and state in ("running", "waiting"):
            # The run ended with this desk unfinished: it failed with the run, or was cut
            # short by a cancel.
            state = "failed" if run.status == RunStatus.FAILED else "skipped"
        states[desk_id] = state
    return states


def _approval_desk(run: Run) -> str:
    if run.status in FINISHED_STATUSES:
        return ""
    approval = approval_pending_for_run(run_id=run.pk)
    return (approval.desk_id or "") if approval is not None else ""


def _layers(desk_ids: list[str], edges: list[tuple[str, str]], entry: str) -> dict[str, int]:
    """Longest-path depth from the entry (cycles and unreachable desks tolerated)."""
    depth = dict.fromkeys(desk_ids, 0)
    known = set(desk_ids)
    edges = [(a, b) for a, b in edges if a in known and b in known and a != b]
    for _ in range(len(desk_ids)):  # Bellman-Ford style: bounded even with a cycle
        changed = False
        for a, b in edges:
            if b != entry and depth[b] < depth[a] + 1 and depth[a] + 1 < len(desk_ids):
                depth[b] = depth[a] + 1
                changed = True
        if not changed:
            break
    return depth


def _svg(
    desks: list[dict[str, Any]], edges: list[tuple[str, str]], entry: str, states: dict[str, str]
) -> SafeString:
    ids = [str(d["deskId"]) for d in desks]
    depth = _layers(ids, edges, entry)
    columns: dict[int, list[str]] = {}
    for desk_id in ids:
        columns.setdefault(depth[desk_id], []).append(desk_id)
    node_w, node_h, gap_x, gap_y, pad = 120, 34, 46, 14, 8
    positions: dict[str, tuple[float, float]] = {}
    tallest = max(len(column) for column in columns.values())
    height = pad * 2 + tallest * node_h + (tallest - 1) * gap_y
    for layer, column in columns.items():
        column_h = len(column) * node_h + (len(column) - 1) * gap_y
        top = (height - column_h) / 2
        for i, desk_id in enumerate(column):
            positions[desk_id] = (pad + layer * (node_w + gap_x), top + i * (node_h + gap_y))
    width = pad * 2 + (max(columns) + 1) * (node_w + gap_x) - gap_x
    names = {str(d["deskId"]): str(d.get("name") or d["deskId"]) for d in desks}
    kinds = {str(d["deskId"]): str(d.get("kind") or "") for d in desks}
    edge_svg = format_html_join(
        "",
        '<path class="dg-edge" marker-end="url(#dg-arrow)" d="M{},{} C{},{} {},{} {},{}"/>',
        (
            tuple(
                f"{value:.0f}"
                for value in (
                    positions[a][0] + node_w,
                    positions[a][1] + node_h / 2,
                    positions[a][0] + node_w + gap_x / 2,
                    positions[a][1] + node_h / 2,
                    positions[b][0] - gap_x / 2,
                    positions[b][1] + node_h / 2,
                    positions[b][0] - 4,
                    positions[b][1] + node_h / 2,
                )
            )
            for a, b in edges
            if a in positions and b in positions and a != b
        ),
    )
    node_svg = format_html_join(
        "",
        '<g class="dg-node" data-desk-id="{}" data-state="{}"><title>{} ({}) · {}</title>'
        '<rect x="{}" y="{}" width="{}" height="{}" rx="6"/>'
        '<text x="{}" y="{}">{}</text></g>',
        (
            (
                desk_id,
                states.get(desk_id, "pending"),
                names[desk_id],
                kinds[desk_id],
                states.get(desk_id, "pending"),
                f"{positions[desk_id][0]:.0f}",
                f"{positions[desk_id][1]:.0f}",
                node_w,
                node_h,
                f"{positions[desk_id][0] + node_w / 2:.0f}",
                f"{positions[desk_id][1] + node_h / 2 + 4:.0f}",
                names[desk_id] if len(names[desk_id]) <= 17 else names[desk_id][:16] + "…",
            )
            for desk_id in ids
        ),
    )
    return format_html(
        '<svg class="dg-static" viewBox="0 0 {w} {h}" style="max-width:{w}px" role="img" '
        'aria-label="Desk graph"><defs><marker id="dg-arrow" viewBox="0 0 8 8" refX="7" refY="4" '
        'markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#a0aec0"/>'
        "</marker></defs>{}{}</svg>",
        edge_svg,
        node_svg,
        w=f"{width:.0f}",
        h=f"{height:.0f}",
    )


class DeskGraphPanel:
    """Desk graph + desk states of a coordination run."""

    title = "Desk graph"
    scripts = (
        "vendor/cytoscape/cytoscape.min.js",
        "vendor/cytoscape-dagre/cytoscape-dagre.js",
        "console/desk_graph.js",
    )

    def _model(self, run: Run) -> tuple[dict[str, Any] | None, dict[str, str]]:
        document = _document(run)
        if document is None:
            return None, {}
        ids = [str(d["deskId"]) for d in _desks(document)]
        return document, desk_states(run, ids, _approval_desk(run))

    def render(self, run: Run, request: HttpRequest) -> SafeString:
        document, states = self._model(run)
        if document is None:
            return mark_safe('<p class="rp-note">The run names no stored workflow version.</p>')
        desks = _desks(document)
        entry = str(document.get("entryDeskId") or "")
        edges = _handoffs(document)
        graph = {
            "workflowId": document.get("workflowId"),
            "version": document.get("version"),
            "entryDeskId": entry,
            "desks": [
                {"deskId": d["deskId"], "name": d.get("name"), "kind": d.get("kind")} for d in desks
            ],
            "handoffs": [
                {"handoffId": f"h{i}", "fromDeskId": a, "toDeskId": b}
                for i, (a, b) in enumerate(edges)
            ],
            "states": states,
        }
        items = format_html_join(
            "",
            '<li data-desk-id="{}" data-state="{}"><span class="desk-name">{}</span> '
            '<span class="desk-state">{}</span></li>',
            (
                (
                    str(d["deskId"]),
                    states[str(d["deskId"])],
                    d.get("name") or d["deskId"],
                    states[str(d["deskId"])],
                )
                for d in desks
            ),
        )
        note = (
            format_html(
                '<p class="rp-note">Showing {} of {} desks.</p>', MAX_DESKS, len(document["desks"])
            )
            if len(document["desks"]) > MAX_DESKS
            else ""
        )
        return format_html(
            '<p class="rp-sub">{} v{}</p><div class="desk-graph" id="desk-graph">{}</div>{}'
            '<ul id="desk-states" aria-label="Desk states">{}</ul>{}',
            document.get("workflowId"),
            document.get("version"),
            _svg(desks, edges, entry, states),
            json_script(graph, "desk-graph-data"),
            items,
            note,
        )

    def live(self, run: Run) -> dict[str, Any]:
        _unused, states = self._model(run)
        return {"desks": [{"deskId": desk_id, "state": state} for desk_id, state in states.items()]}


panel = register_run_panel(EXECUTOR_FUNCTION_ID, DeskGraphPanel())
