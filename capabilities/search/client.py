"""In-process client for search: ``from capabilities.search.client import search``.

Same procedures, validation and errors as ``/rpc/search/*``; no HTTP involved.
"""

from capabilities.search.contract import contract
from rawr_site.contract import CapabilityClient

search = CapabilityClient(contract)
