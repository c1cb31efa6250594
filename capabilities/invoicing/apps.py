from rawr_site.contract import apps as rawr_apps


class InvoicingConfig(rawr_apps.CapabilityConfig):
    """Capability id ``invoicing`` (the app label; ``contract.py`` declares the same id)."""

    name = "capabilities.invoicing"
    label = "invoicing"
    verbose_name = "Invoicing"
