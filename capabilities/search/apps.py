from rawr_site.contract import apps as rawr_apps


class SearchConfig(rawr_apps.CapabilityConfig):
    """Capability id ``search`` (the app label; ``contract.py`` declares the same id)."""

    name = "capabilities.search"
    label = "search"
    verbose_name = "Search"
