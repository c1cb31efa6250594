"""The canvas in a real browser: draw a three-desk workflow, fix it, save it, run it.

Desks are added with the toolbar, handoffs are dragged with the mouse from a desk's handle
(cytoscape-edgehandles) to the next desk, validation comes from the server while drawing,
and the saved workflow is run by a real Celery worker (``celery_worker_process``) while the
run page colours the desks live.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from coordination.models import WorkflowVersion
from workflows.models import Run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ERROR_SCREENSHOT = Path("/tmp/canvas-error.png")
CLEAN_SCREENSHOT = Path("/tmp/canvas.png")
TICKET_IN = {"type": "object", "properties": {"ticket": {"type": "string"}}, "required": ["ticket"]}
TICKET_OUT = {
    "type": "object",
    "properties": {"ticket": {"type": "string"}, "status": {"type": "string"}},
    "required": ["ticket", "status"],
}


def _desk_center(page: Page, index: int) -> tuple[float, float]:
    """Where desk ``index`` is drawn, in page coordinates (from the cytoscape instance)."""
    point = page.evaluate(
        """index => {
            const node = window.rawrCanvas.cy.getElementById('desk-' + index);
            const at = node.renderedPosition();
            const box = document.getElementById('canvas-graph').getBoundingClientRect();
            return [box.left + at.x, box.top + at.y];
        }""",
        index,
    )
    return point[0], point[1]


def _drag_handoff(page: Page, source: int, target: int) -> None:
    """Hover the source desk, grab its handle, drop on the target desk: as staff would."""
    before = page.evaluate("window.rawrCanvas.document().handoffs.length")
    box = page.locator("#canvas-graph").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 4, box["y"] + 4)  # off every desk, so the next hover counts
    x, y = _desk_center(page, source)
    page.mouse.move(x, y, steps=5)
    handle = page.locator("#canvas-handle")
    expect(handle).to_be_visible()
    box = handle.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    tx, ty = _desk_center(page, target)
    page.mouse.move(tx, ty, steps=15)
    page.mouse.up()
    page.wait_for_function(
        "n => window.rawrCanvas.document().handoffs.length === n + 1", arg=before
    )


def _select_desk(page: Page, index: int) -> None:
    x, y = _desk_center(page, index)
    page.mouse.click(x, y)
    expect(page.locator("#canvas-desk-form")).to_be_visible()


def _edge_codes(page: Page, index: int) -> str:
    return page.evaluate(
        "i => window.rawrCanvas.cy.getElementById('handoff-' + i).data('issueCodes')", index
    )


def test_draw_fix_save_and_run_a_three_desk_workflow(
    staff_page: Page,
    live_server,
    celery_worker_process,
) -> None:
    page = staff_page
    page.goto("/admin/coordination/workflowversion/add/")
    expect(page.locator("#canvas-graph canvas").first).to_be_attached()
    expect(page.locator("#canvas-app")).to_have_attribute("data-ready", "true")
    page.fill("#workflow-workflowId", "drawn-three")
    page.fill("#workflow-name", "Drawn on the canvas")

    # Three desks from the toolbar; the first two need a ticket.
    for name in ("Intake", "Work", "Review"):
        page.click("#canvas-add-desk")
        page.fill("#desk-name", name)
        if name != "Review":
            page.fill("#desk-inputSchema", json.dumps(TICKET_IN))
    assert page.evaluate("window.rawrCanvas.cy.nodes('.desk').length") == 3

    _drag_handoff(page, 0, 1)
    _drag_handoff(page, 1, 2)
    handoffs = page.evaluate("window.rawrCanvas.document().handoffs")
    assert [(h["fromDeskId"], h["toDeskId"]) for h in handoffs] == [
        ("desk-1", "desk-2"),
        ("desk-2", "desk-3"),
    ]

    # The server finds the first handoff incompatible: listed, and drawn on the edge.
    issue = page.locator(
        "#canvas-issues li[data-code=INCOMPATIBLE_HANDOFF][data-handoff-id=h-desk-1-desk-2]"
    )
    expect(issue).to_have_count(1)
    expect(page.locator("#canvas-issues li")).to_have_count(1)
    assert "INCOMPATIBLE_HANDOFF" in _edge_codes(page, 0)
    assert page.evaluate("window.rawrCanvas.cy.getElementById('handoff-0').hasClass('has-issue')")
    page.screenshot(path=str(ERROR_SCREENSHOT))

    # Malformed JSON in a schema editor is shown at the field and blocks saving.
    _select_desk(page, 0)
    page.fill("#desk-outputSchema", '{"type": "object",')
    expect(page.locator("#desk-outputSchema-error")).to_contain_text("Not valid JSON")
    expect(page.locator("#canvas-issues li[data-code=INVALID_JSON]")).to_have_count(1)
    expect(page.locator("#canvas-save")).to_be_disabled()

    # Fixed in the side panel: the output now provides the ticket.
    page.fill("#desk-outputSchema", json.dumps(TICKET_OUT))
    expect(page.locator("#desk-outputSchema-error")).to_be_hidden()
    expect(page.locator("#canvas-issues li")).to_have_count(0)
    expect(page.locator("#canvas-valid")).to_be_visible()
    expect(page.locator("#canvas-status")).to_contain_text("Valid")
    assert not _edge_codes(page, 0)
    page.click("#canvas-fit")
    graph = page.locator("#canvas-graph").bounding_box()
    assert graph is not None
    page.mouse.click(graph["x"] + 10, graph["y"] + 10)  # the background: nothing selected
    expect(page.locator("#canvas-workflow-form")).to_be_visible()
    page.screenshot(path=str(CLEAN_SCREENSHOT))
    drawn = page.evaluate("window.rawrCanvas.document()")

    page.click("#canvas-save")
    expect(page).to_have_url(re.compile(r"/admin/coordination/workflowversion/\d+/change/$"))
    saved = WorkflowVersion.objects.get(workflow_id="drawn-three")
    assert saved.version == 1
    assert {k: v for k, v in saved.document.items() if k not in ("version", "updatedAt")} == {
        k: v for k, v in drawn.items() if k not in ("version", "updatedAt")
    }
    assert [d["deskId"] for d in saved.document["desks"]] == ["desk-1", "desk-2", "desk-3"]
    assert saved.document["entryDeskId"] == "desk-1"

    # Run with input: a schema failure is shown and queues nothing; then a real run.
    page.click("#canvas-run")
    page.fill("#canvas-run-input", '{"ticket": 7}')
    page.click("#canvas-run-start")
    expect(page.locator("#canvas-run-error")).to_contain_text("inputSchema")
    expect(page.locator("#canvas-run-error")).to_contain_text("7 is not of type 'string'")
    assert not Run.objects.exists()
    page.fill("#canvas-run-input", '{"ticket": "T-42"}')
    page.click("#canvas-run-start")
    expect(page).to_have_url(re.compile(r"/admin/workflows/run/[^/]+/change/$"))
    run = Run.objects.get()
    assert run.input["workflowId"] == "drawn-three" and run.input["input"] == {"ticket": "T-42"}

    # The run page colours the desks as the worker completes them, without a reload.
    expect(page.locator("#desk-states li[data-state=completed]")).to_have_count(3, timeout=30_000)
    run.refresh_from_db()
    assert run.status == "completed"
