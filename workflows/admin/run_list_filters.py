"""The run list's query parameters, turned into one queryset.

One definition serves the changelist (its sidebar filters and search box) and the bulk
actions, so "cancel everything matching" acts on exactly the runs the list showed. The
parameter names are the console's public convention (dashboard links use them):
``status``, ``function_id``, ``capability``, ``since`` / ``until`` (on ``created_at``),
``has_error``, ``stuck``, ``q`` and one per registered run subject (``workflow_id``).

Every filter maps onto an index of ``workflows_run`` (see ``Run.Meta.indexes``); a value
that cannot be applied raises ``BadFilter`` with a sentence for the page, never a 500 and
never a silently wider list (a bulk action on an ignored filter would act on everything).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from workflows.admin.run_list_subjects import RunSubject, reserve_parameters, run_subjects
from workflows.models import ACTIVE_STATUSES, Run, RunStatus

#: Quick choices of the time-range filter: ``since=<key>``.
QUICK_SINCE: dict[str, tuple[str, timedelta]] = {
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 h", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
}

#: Longest value any filter accepts (ids and keys are at most 255 characters).
MAX_VALUE_CHARS = 255

#: Parameters Django's changelist itself reads (paging, ordering, popups, its error flag).
CHANGELIST_PARAMS = frozenset({"p", "o", "all", "e", "_popup", "_to_field", "_facets"})

SEARCH_PARAM = "q"


class BadFilter(ValueError):
    """A filter value that cannot be applied; ``str()`` is the message shown to staff."""


def _check(name: str, value: str) -> str:
    if "\x00" in value:
        raise BadFilter(f"The {name} filter contains a NUL character; remove it.")
    if len(value) > MAX_VALUE_CHARS:
        raise BadFilter(f"The {name} filter is longer than {MAX_VALUE_CHARS} characters.")
    return value.strip()


def parse_time(value: str, *, name: str) -> datetime:
    """An ISO date or datetime; naive values are in the site's time zone.

    A ``+`` of an offset that reached us unencoded in a query string arrives as a space
    (``2026-12-01T09:30:00 01:00``); that is read as the ``+`` it was.
    """
    text = _check(name, value)
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text)
    parsed: datetime | None = None
    try:
        parsed = parse_datetime(text)
        if parsed is None:
            day = parse_date(text)
            parsed = datetime.combine(day, time.min) if day else None
    except (ValueError, OverflowError):
        parsed = None
    if parsed is None:
        raise BadFilter(
            f"{name}={value!r} is not a time: use an ISO time such as 2026-12-01T09:30:00, "
            f"a date such as 2026-12-01" + (", or one of 1h, 24h, 7d." if name == "since" else ".")
        )
    if timezone.is_naive(parsed):
        try:
            parsed = timezone.make_aware(parsed)
        except (ValueError, OverflowError) as exc:
            raise BadFilter(f"{name}={value!r} is not a time in this time zone.") from exc
    return parsed


def since_time(value: str, now: datetime) -> datetime:
    quick = QUICK_SINCE.get(value.strip())
    if quick is not None:
        return now - quick[1]
    return parse_time(value, name="since")


def _status(queryset: QuerySet[Run], value: str, now: datetime) -> QuerySet[Run]:
    value = _check("status", value)
    if value not in RunStatus.values:
        raise BadFilter(f"Unknown status {value!r}: use one of {', '.join(RunStatus.values)}.")
    return queryset.filter(status=value)


def _function(queryset: QuerySet[Run], value: str, now: datetime) -> QuerySet[Run]:
    return queryset.filter(function_id=_check("function", value))


def _capability(queryset: QuerySet[Run], value: str, now: datetime) -> QuerySet[Run]:
    return queryset.filter(capability=_check("capability", value))


def _since(queryset: QuerySet[Run], value: str, now: datetime) -> QuerySet[Run]:
    return queryset.filter(created_at__gte=since_time(value, now))


def _until(queryset: QuerySet[Run], value: str, now: datetime) -> QuerySet[Run]:
    return queryset.filter(created_at__lt=parse_time(value, name="until"))


def _has_error(queryset: QuerySet[Run], value: str, now: datetime) -> QuerySet[Run]:
    value = _check("has error", value).lower()
    if value not in ("yes", "no"):
        raise BadFilter(f"has_error={value!r}: use yes or no.")
    return queryset.filter(error__isnull=value == "no")


def _stuck(queryset: QuerySet[Run], value: str, now: datetime) -> QuerySet[Run]:
    """Active runs whose lease expired: the worker that held them is gone."""
    if _check("stuck", value).lower() != "yes":
        raise BadFilter(f"stuck={value!r}: use stuck=yes (or leave it out).")
    return queryset.filter(status__in=ACTIVE_STATUSES, lease_expires_at__lt=now)


def search(queryset: QuerySet[Run], term: str) -> QuerySet[Run]:
    """Run id prefix, exact correlation id or exact idempotency key; each hits an index.

    A case-sensitive prefix uses the primary key's ``varchar_pattern_ops`` index; the
    default admin ``icontains`` would read every row.
    """
    term = _check("search", term)
    if not term:
        return queryset
    return queryset.filter(
        Q(id__startswith=term) | Q(correlation_id=term) | Q(idempotency_key=term)
    )


RunFilter = Callable[[QuerySet[Run], str, datetime], QuerySet[Run]]

#: Parameter → how it narrows the runs, in the order the sidebar shows them.
BUILTIN_FILTERS: dict[str, RunFilter] = {
    "status": _status,
    "since": _since,
    "until": _until,
    "function_id": _function,
    "capability": _capability,
    "has_error": _has_error,
    "stuck": _stuck,
}


@dataclass(frozen=True)
class FilteredRuns:
    runs: QuerySet[Run]
    #: Sentences for staff, one per value that could not be applied.
    errors: tuple[str, ...]
    #: The parameters that narrowed the list (``{}`` = every run).
    applied: dict[str, str]


reserve_parameters(set(BUILTIN_FILTERS) | CHANGELIST_PARAMS | {SEARCH_PARAM})


def apply_subject(
    subject: RunSubject, queryset: QuerySet[Run], value: str, now: datetime | None = None
) -> QuerySet[Run]:
    """Narrow ``queryset`` to runs whose subject is ``value`` (checked like every filter)."""
    return subject.filter(queryset, _check(subject.title, value))


def all_filters() -> dict[str, RunFilter]:
    """The built-in filters plus one per registered run subject (``workflow_id`` ...)."""
    filters = dict(BUILTIN_FILTERS)
    for subject in run_subjects():
        filters[subject.parameter] = functools.partial(apply_subject, subject)
    return filters


def filter_runs(
    queryset: QuerySet[Run], params: Mapping[str, str], *, now: datetime | None = None
) -> FilteredRuns:
    """Apply every known parameter of ``params``; unknown ones are errors, not ignored.

    With any error the result is empty: acting on a list wider than the one asked for is
    the one thing a console must never do.
    """
    now = now or timezone.now()
    filters = all_filters()
    errors: list[str] = []
    applied: dict[str, str] = {}
    for name, value in params.items():
        if name in CHANGELIST_PARAMS:
            continue
        if not value and name != SEARCH_PARAM:
            continue
        try:
            if name == SEARCH_PARAM:
                queryset = search(queryset, value)
            elif name in filters:
                queryset = filters[name](queryset, value, now)
            else:
                raise BadFilter(f"Unknown filter {name!r}.")
        except BadFilter as exc:
            errors.append(str(exc))
            continue
        if value.strip():
            applied[name] = value
    if errors:
        queryset = queryset.none()
    return FilteredRuns(queryset, tuple(errors), applied)
