"""In-process client: ``from coordination.client import coordination`` (CLI, other apps)."""

from coordination.contract import contract
from rawr_site.contract import CapabilityClient

coordination = CapabilityClient(contract)
