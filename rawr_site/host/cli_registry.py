"""What apps contribute to ``manage.py rawr``: subcommands and demo data.

The host kit never imports an app (an import-linter contract in pyproject.toml enforces
it), so the ``rawr`` command cannot name coordination's ``workflow`` command or the search
capability's demo documents. Instead each app registers them from its own ``rawr_cli.py``,
which ``discover()`` imports in every installed app the way contracts are autodiscovered.
A name registered twice raises, like a capability registered twice.
"""

from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from django.utils.module_loading import autodiscover_modules

from rawr_site.contract import BoundaryContext
from rawr_site.registry import Registry

#: The module every app may ship to contribute to ``manage.py rawr``.
MODULE_NAME = "rawr_cli"


@dataclass(frozen=True)
class Subcommand:
    """One ``rawr <name>`` subcommand.

    ``handle(options, stdout, stderr)`` returns the exit code (0 ok); it may also raise
    ``CommandError(message, returncode=...)`` for a message on stderr with that code.
    """

    name: str
    help: str
    add_arguments: Callable[[ArgumentParser], None]
    handle: Callable[[dict[str, Any], TextIO, TextIO], int]


@dataclass(frozen=True)
class DemoLoader:
    """Idempotent demo data for ``rawr demo``; yields one line per thing it reports.

    ``order`` sorts the loaders (lower first) so the output does not depend on the order
    of ``INSTALLED_APPS``.
    """

    name: str
    load: Callable[[BoundaryContext], Iterable[str]]
    order: int = 100


_subcommands: Registry[str, Subcommand] = Registry("rawr subcommand", same=lambda a, b: False)
_demo_loaders: Registry[str, DemoLoader] = Registry("rawr demo loader", same=lambda a, b: False)


def register_subcommand(
    name: str,
    *,
    help: str,
    add_arguments: Callable[[ArgumentParser], None],
    handle: Callable[[dict[str, Any], TextIO, TextIO], int],
) -> Subcommand:
    return _subcommands.register(name, Subcommand(name, help, add_arguments, handle))


def register_demo(
    name: str, load: Callable[[BoundaryContext], Iterable[str]], *, order: int = 100
) -> DemoLoader:
    return _demo_loaders.register(name, DemoLoader(name, load, order))


def unregister(name: str) -> None:
    """Forget a subcommand or demo loader (for tests that register their own)."""
    _subcommands.unregister(name)
    _demo_loaders.unregister(name)


def discover() -> None:
    """Import ``rawr_cli`` in every installed app (a second call imports nothing new)."""
    autodiscover_modules(MODULE_NAME)


def subcommands() -> list[Subcommand]:
    """Registered subcommands in registration order (that is, ``INSTALLED_APPS`` order)."""
    return _subcommands.values()


def demo_loaders() -> list[DemoLoader]:
    return sorted(_demo_loaders.values(), key=lambda loader: (loader.order, loader.name))
