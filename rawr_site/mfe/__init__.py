"""The micro-frontend host: ``/rawr/`` mounts capability MFEs (``capabilities/<cap>/web/``).

Capabilities are found through the contract registry and Django's app registry; nothing
here imports a capability, ``workflows`` or ``coordination`` (the run watch that MFEs use
lives in ``workflows.watch``).
"""
