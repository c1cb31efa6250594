"""In-process client for invoicing: ``from capabilities.invoicing.client import invoicing``.

Same procedures, validation and errors as ``/rpc/invoicing/*``; no HTTP involved.
"""

from capabilities.invoicing.contract import contract
from rawr_site.contract import CapabilityClient

invoicing = CapabilityClient(contract)
