"""Tutorial-facing names over the package's single pint registry (`mlsysim.units`): `core.units`, `core.constants`."""
