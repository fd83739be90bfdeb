"""Evaluating a scenario: the solvers in order (performance, then energy and carbon, then cost), and the
scenario's constraints checked against their results."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .scenario_schema import ScenarioError

if TYPE_CHECKING:
    from .scenario import Scenario


# ------------------------------------------------------------------------------------------------ evaluating
@dataclass
class Check:
    """One constraint: its name (the scenario key), the limit, the predicted value, and whether it holds."""

    name: str
    limit: float
    value: float | None
    ok: bool
    message: str


@dataclass
class Outcome:
    """The composed answer for a scenario: performance, energy/carbon (None without a datacenter), cost (None
    without a datacenter or solver), constraint checks, and notes on what was skipped."""

    scenario: Scenario
    performance: Any
    sustainability: Any = None
    economics: Any = None
    checks: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return bool(self.performance.feasible)

    @property
    def violated(self) -> list:
        return [c for c in self.checks if not c.ok]

    @property
    def status(self) -> str:
        """'infeasible' (does not fit in memory), 'constraint_violated', or 'ok'."""
        if not self.feasible:
            return "infeasible"
        return "constraint_violated" if self.violated else "ok"

    def _parts(self):
        return [r for r in (self.performance, self.sustainability, self.economics) if r is not None]

    def __str__(self):
        lines = [f"{self.scenario.name}: {self.status}"]
        lines += [str(r) for r in self._parts()]
        lines += [("  ok       " if c.ok else "  VIOLATED ") + c.message for c in self.checks]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self):
        import html
        head = f"<h4>{html.escape(self.scenario.name)}: {html.escape(self.status)}</h4>"
        body = "".join(r._repr_html_() for r in self._parts())
        checks = "".join(f"<li>{'&#10003;' if c.ok else '&#10007;'} {html.escape(c.message)}</li>"
                         for c in self.checks)
        return head + body + (f"<ul>{checks}</ul>" if checks else "")


def _solver(name: str):
    import mlsysim.solvers as S
    try:
        return getattr(S, name)
    except (ImportError, AttributeError):
        return None


def evaluate(sc: Scenario, *, sustainability: bool = True, economics: bool = True) -> Outcome:
    """The composed answer; an infeasible layout marks the outcome (status), so the parts' warnings are muted."""
    import warnings

    from .errors import InfeasibleResultWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InfeasibleResultWarning)
        return _evaluate(sc, sustainability, economics)


def _evaluate(sc: Scenario, sustainability: bool, economics: bool) -> Outcome:
    fleet = sc.require_fleet()
    DM = _solver("DistributedModel")
    try:
        perf = DM().solve(model=sc.model, fleet=fleet, **sc.solve_kwargs())
    except ScenarioError:
        raise
    except ConfigError as exc:
        raise ScenarioError(sc.locate(str(exc))) from None
    out = Outcome(scenario=sc, performance=perf)
    needs_dc = [k for k in ("budget_usd", "max_carbon_t") if k in sc.constraints]
    if sc.datacenter is None:
        if needs_dc:
            raise ScenarioError(f"{sc.where('constraints', needs_dc[0])}constraints.{needs_dc[0]} needs a "
                                f"`datacenter:` (for energy, carbon and electricity price)")
        if sc.economics:
            raise ScenarioError(f"{sc.where('economics')}economics needs a `datacenter:` (electricity price)")
        out.notes.append("no datacenter given: energy, carbon and cost not computed")
    else:
        if sustainability or economics or needs_dc:
            SM = _solver("SustainabilityModel")
            if SM is None:
                out.notes.append("SustainabilityModel not available in this build: energy and carbon skipped")
            else:
                try:
                    out.sustainability = SM().solve(performance=perf, datacenter=sc.datacenter)
                except ConfigError as exc:
                    raise ScenarioError(f"{sc.where('datacenter')}{exc}") from None
        if (economics or "budget_usd" in sc.constraints or sc.economics) and out.sustainability is not None:
            EM = _solver("EconomicsModel")
            if EM is None:
                out.notes.append("EconomicsModel not available in this build: cost skipped")
            else:
                try:
                    out.economics = EM().solve(sustainability=out.sustainability, **sc.economics)
                except ConfigError as exc:
                    if sc.economics or "budget_usd" in sc.constraints:
                        raise ScenarioError(f"{sc.where('economics')}{exc}") from None
                    out.notes.append(f"cost not computed: {exc}")
    out.checks = check_constraints(sc, perf, out.sustainability, out.economics)
    return out


def check_constraints(sc: Scenario, perf, sust=None, econ=None) -> list[Check]:
    c, checks = sc.constraints, []

    def add(name, value, unit, what):
        limit = c[name]
        ok = value is not None and value <= limit
        msg = (f"{what} {value:,.4g} {unit} {'<=' if ok else 'exceeds'} the limit {limit:,.4g} {unit} "
               f"({name})") if value is not None else f"{name}: not computed"
        checks.append(Check(name, float(limit), None if value is None else float(value), ok, msg))

    if "deadline_days" in c:
        add("deadline_days", perf.time_to_train_s / 86400.0, "days", "time to train")
    if "max_memory_gb" in c:
        add("max_memory_gb", sum(perf.memory_bytes.values()) / 1e9, "GB", "memory per device")
    if "max_gpus" in c:
        add("max_gpus", float(perf.fleet.total_accelerators), "accelerators", "fleet size")
    if "budget_usd" in c:
        add("budget_usd", econ.total_usd if econ is not None else None, "USD", "cost")
    if "max_carbon_t" in c:
        add("max_carbon_t", sust.carbon_footprint if sust is not None else None, "t CO2e", "carbon")
    return checks
