"""The one registry behind contracts, durable functions, desk handlers and ``rawr`` commands."""

from __future__ import annotations

import pytest

from coordination.desks import desk_handler
from rawr_site.registry import Registry
from workflows import durable_function


def test_a_key_registered_twice_with_something_else_fails_at_start_up() -> None:
    registry: Registry[str, object] = Registry("widget")
    first = registry.register("a", object())
    assert registry.register("a", first) is first  # a module imported twice: harmless
    with pytest.raises(ValueError, match="widget 'a' is registered twice"):
        registry.register("a", object())
    with pytest.raises(KeyError, match="no widget 'missing' is registered"):
        registry["missing"]


def test_temporarily_registered_values_are_gone_afterwards() -> None:
    registry: Registry[str, int] = Registry("number")
    with registry.temporarily("one", 1):
        assert registry.get("one") == 1 and "one" in registry
    assert registry.get("one") is None and len(registry) == 0


def test_every_project_registry_refuses_a_duplicate_the_same_way() -> None:
    with pytest.raises(ValueError, match=r"durable function 'search\.enrich' is registered twice"):

        @durable_function("search.enrich")
        def impostor(ctx, step):
            return None

    with pytest.raises(ValueError, match=r"desk handler for ref 'dup\.ref' is registered twice"):
        desk_handler(ref="dup.ref")(lambda call: 1)
        desk_handler(ref="dup.ref")(lambda call: 2)


@pytest.fixture(autouse=True)
def _forget_test_handlers():
    from coordination import desks

    yield
    desks._by_ref.unregister("dup.ref")
