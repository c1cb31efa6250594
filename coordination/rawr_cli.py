"""Coordination's part of ``manage.py rawr``: ``workflow`` and ``seed``, and demo workflows.

Autodiscovered by the host's ``rawr`` command (``rawr_site.host.cli_registry``): the host
kit never imports coordination.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TextIO

from rawr_site.contract import BoundaryContext
from rawr_site.host.cli_registry import register_demo, register_subcommand


def _workflow_arguments(parser: Any) -> None:
    from coordination.cli import add_arguments

    add_arguments(parser)


def _workflow(options: dict[str, Any], stdout: TextIO, stderr: TextIO) -> int:
    from coordination.cli import run_command

    return run_command(options, stdout, stderr)


def _seed_arguments(parser: Any) -> None:
    from coordination.seed import add_arguments

    add_arguments(parser)


def _seed(options: dict[str, Any], stdout: TextIO, stderr: TextIO) -> int:
    from coordination.seed import run_command

    return run_command(options, stdout, stderr)


def demo_workflows(ctx: BoundaryContext) -> Iterator[str]:
    """The two example coordination workflows, saved once through the contract."""
    from coordination.client import coordination
    from coordination.examples import example_documents
    from coordination.selectors import workflow_get

    for document in example_documents():
        if workflow_get(workflow_id=document["workflowId"]) is None:
            saved = coordination.saveWorkflow({"workflow": document}, ctx=ctx).workflow
            yield f"demo workflow: {saved['workflowId']} v{saved['version']}"


register_subcommand(
    "workflow",
    help="Coordination workflows: create, validate, run, status, trace, approve.",
    add_arguments=_workflow_arguments,
    handle=_workflow,
)
register_subcommand(
    "seed",
    help="Fill the database with realistic runs for the scale drill (idempotent).",
    add_arguments=_seed_arguments,
    handle=_seed,
)
# After the search capability's documents (order 10), as `rawr demo` always printed them.
register_demo("coordination.workflows", demo_workflows, order=20)
