"""The import contracts of pyproject.toml (``lint-imports``), checked inside the suite.

The host kit (``rawr_site``) imports no app, not even inside a function, and the layers
import one way: capabilities and coordination use the durable runtime, the runtime uses
the host kit, never the reverse. A violation fails here with import-linter's own report
(which import, from which line).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from importlinter import api  # noqa: F401  (configures import-linter's adapters)
from importlinter.application import use_cases
from importlinter.application.app_config import settings as linter_settings

PYPROJECT = str(settings.BASE_DIR / "pyproject.toml")


def _lint(capsys: pytest.CaptureFixture[str]) -> tuple[bool, str]:
    capsys.readouterr()
    passed = use_cases.lint_imports(PYPROJECT, cache_dir=None, no_logo=True)
    return passed == use_cases.SUCCESS, capsys.readouterr().out


@contextmanager
def _extra_import(importer: str, imported: str) -> Iterator[None]:
    """Build the real graph plus one import, as if ``importer`` had gained it."""
    real = linter_settings.GRAPH_BUILDER

    class WithExtraImport:
        def build(self, **kwargs):
            graph = real.build(**kwargs)
            graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="")
            return graph

    linter_settings.configure(GRAPH_BUILDER=WithExtraImport())
    try:
        yield
    finally:
        linter_settings.configure(GRAPH_BUILDER=real)


def test_the_host_imports_no_app_and_the_layers_import_one_way(capsys) -> None:
    passed, report = _lint(capsys)
    assert passed, f"import contracts broken (run `lint-imports` for the same report):\n{report}"
    assert "The host kit (rawr_site) imports no app KEPT" in report
    assert "Layers: capabilities | coordination above workflows above rawr_site KEPT" in report


@pytest.mark.parametrize(
    ("importer", "imported", "broken"),
    [
        ("rawr_site.host.demo", "coordination.client", "rawr_site.host.demo -> coordination"),
        ("workflows.services", "capabilities.search.client", "workflows.services -> capabilit"),
    ],
)
def test_a_host_or_runtime_import_of_an_app_fails_the_check(
    capsys, importer: str, imported: str, broken: str
) -> None:
    with _extra_import(importer, imported):
        passed, report = _lint(capsys)
    assert not passed
    assert "BROKEN" in report
    assert broken in report
