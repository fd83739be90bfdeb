"""Systems: nodes (accelerators + scale-up fabric + NICs), scale-out fabrics, and fleets of nodes."""
from .system import Fabric, Fleet, Node

__all__ = ["Node", "Fabric", "Fleet"]
