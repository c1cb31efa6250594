"""Demo data for ``make run``: whatever apps contribute and, on the embedded default, a
staff user.

The documents and example workflows belong to their apps; they register a demo loader
from their ``rawr_cli.py`` (``rawr_site.host.cli_registry``), so the host names none.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth import get_user_model

from rawr_site.contract import BoundaryContext
from rawr_site.host.cli_registry import demo_loaders, discover

DEMO_USER = ("demo", "demo")


def demo_data_create(*, staff_user: bool) -> Iterator[str]:
    """Idempotent: every app's loader creates only what is missing."""
    discover()
    ctx = BoundaryContext.internal()
    for loader in demo_loaders():
        yield from loader.load(ctx)
    if staff_user:
        username, password = DEMO_USER
        User = get_user_model()
        user, made = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        if made:
            user.set_password(password)
            user.save()
        yield f"demo staff user: {username} / {password}  (embedded default only)"
