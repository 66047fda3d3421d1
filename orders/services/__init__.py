"""Write side of the orders app, split by sub-domain (import from the submodules)."""
