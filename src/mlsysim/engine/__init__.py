"""Tutorial module 1 entry point: `from mlsysim.engine.engine import Engine`."""
