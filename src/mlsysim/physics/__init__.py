"""Pure physics: functions of plain floats or numpy arrays in SI units. No pint, no registries, no I/O.

Each formula is written once here and serves both the scalar solvers and the vectorised explorer.
"""
