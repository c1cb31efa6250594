"""What a run is *about*, for functions whose input names a subject (a workflow id ...).

``workflows`` knows no other app, so an app whose durable function runs "for" something
registers a column and a filter for it here, from its ``AppConfig.ready()``; coordination
registers ``workflow_id`` for ``coordination.run`` (``coordination/run_columns.py``). The
run list shows one column per subject (blank for other functions) and accepts
``?<parameter>=<value>``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db.models import QuerySet

from workflows.models import Run


@dataclass(frozen=True)
class RunSubject:
    function_id: str
    #: Query parameter of the run list (``workflow_id``).
    parameter: str
    #: Column and filter title (``workflow id``).
    title: str
    #: The subject of one run of ``function_id``; must survive any stored input.
    value: Callable[[Run], str]
    #: Narrow runs to this subject; should hit an index (the caller passes any text).
    filter: Callable[[QuerySet[Run], str], QuerySet[Run]]

    def display(self, run: Run) -> str:
        if run.function_id != self.function_id:
            return ""
        return str(self.value(run) or "")


_subjects: dict[str, RunSubject] = {}
#: Parameters the run list reads itself (its filters, paging, search); a subject may not
#: take one. ``run_list_filters`` reserves them when it is imported.
_reserved: set[str] = set()


def reserve_parameters(names: set[str] | frozenset[str]) -> None:
    _reserved.update(names)


def register_run_subject(
    function_id: str,
    *,
    parameter: str,
    title: str,
    value: Callable[[Run], str],
    filter: Callable[[QuerySet[Run], str], QuerySet[Run]],
) -> RunSubject:
    """Add a column and a ``?parameter=`` filter to the run list; duplicates raise."""
    if parameter in _subjects or parameter in _reserved:
        raise ValueError(f"run list parameter {parameter!r} is already registered")
    subject = RunSubject(function_id, parameter, title, value, filter)
    _subjects[parameter] = subject
    return subject


def run_subjects() -> tuple[RunSubject, ...]:
    return tuple(_subjects.values())


@contextmanager
def temporarily_registered_subject(subject: RunSubject) -> Iterator[RunSubject]:
    """Tests: register ``subject`` (a ``RunSubject``) for the duration of the block."""
    if subject.parameter in _subjects:
        raise ValueError(f"run list parameter {subject.parameter!r} is already registered")
    _subjects[subject.parameter] = subject
    try:
        yield subject
    finally:
        _subjects.pop(subject.parameter, None)
