"""Where a fleet runs: electricity grids (carbon intensity) and datacenters (PUE, WUE, price)."""
from .site import Datacenter, Grid

__all__ = ["Grid", "Datacenter"]
