"""ScalingLawModel: the compute-optimal model (Chinchilla) for a compute budget, a target size, or a dollar budget
on a fleet, returned as a TransformerWorkload that DistributedModel / SustainabilityModel take as they are."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from ..errors import ConfigError
from ..physics import scaling as S
from ..units import si
from ._common import TableRepr, choice, finite

METHODS = ("tokens_per_param", "fitted")
# Shape of the generated model. Assumptions, with reasons: d_model / n_layers = 128 (Llama 3 8B: 4096/32; Chinchilla
# 70B: 8192/80 = 102; Kaplan et al. 2020 Fig. 5: loss is flat within ~20-200), head dim 128, SwiGLU FFN of 8/3
# d_model (Llama), and Chinchilla's 32K SentencePiece vocabulary (Hoffmann et al. 2022 Sec 4.1), untied.
ASPECT = 128
HEAD_DIM = 128
VOCAB = 32000


def shaped_workload(n_params: float, tokens: float, seq_len: int = 2048, name: str | None = None):
    """A decoder of about `n_params` parameters: ~12 L h^2 + 2 V h with h = 128 L, h a multiple of 1024 from 1024
    up (heads a multiple of 8, for tensor parallelism), else of 128; L a multiple of 4 from 8 up (pipelines)."""
    from ..models.workload import TransformerWorkload
    h = (n_params * ASPECT / 12.0) ** (1.0 / 3.0)
    step = 1024 if h >= 1024 else HEAD_DIM
    h = max(step, int(round(h / step)) * step)
    layers = max(1.0, (n_params - 2.0 * VOCAB * h) / (12.0 * h * h))
    layers = int(round(layers / 4.0)) * 4 if layers >= 8 else int(round(layers))  # pp of 2 or 4 divides it
    ffn = int(round(8.0 * h / 3.0 / 256.0)) * 256
    return TransformerWorkload(name or f"Chinchilla-optimal {n_params / 1e9:.3g}B", n_layers=layers, hidden=h,
                               n_heads=h // HEAD_DIM, ffn_hidden=ffn, vocab=VOCAB, gated_mlp=True,
                               seq_len=seq_len, tokens=tokens, year=2022,
                               source="shape from mlsysim.solvers.scaling (assumptions there); size and tokens "
                                      "from Hoffmann et al. 2022 arXiv:2203.15556")


@dataclass(frozen=True)
class ScalingLawResult(TableRepr):
    """Optimal `params` and `tokens` for `compute_budget` (FLOP, C = 6ND), the fitted loss there, and `workload`:
    a model shaped to that size whose token budget spends C exactly (D = C / (6 N_actual))."""

    compute_budget: float
    params: float
    tokens: float
    loss: float
    workload: object
    method: str
    performance: object = None  # the DistributedResult of the dollar-budget composition, if any
    assumptions: dict = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        """False when the composed training run (dollar budget on a fleet) does not fit in device memory."""
        return self.performance is None or self.performance.feasible

    @property
    def tokens_per_param(self) -> float:
        return self.tokens / self.params

    def _title(self):
        return f"Compute-optimal model for {self.compute_budget:.3g} FLOP ({self.method})"

    def _rows(self):
        w = self.workload
        rows = [("parameters (optimal)", self.params), ("tokens", self.tokens),
                ("tokens per parameter", self.tokens_per_param), ("fitted loss (nats/token)", self.loss),
                ("workload", f"{w.n_layers} layers x d_model {w.hidden}, {w.params / 1e9:.3g}B params, "
                             f"{w.tokens:.3g} tokens")]
        if self.performance is not None:
            p = self.performance
            rows += [("time to train", p.latency), ("MFU", p.mfu), ("fits in memory", p.feasible)]
        return rows + [(k, v) for k, v in self.assumptions.items()]


class ScalingLawModel:
    """Hoffmann et al. 2022: C ~ 6 N D and ~20 tokens per parameter (method="tokens_per_param"), or the fitted
    L(N, D) of their approach 3 (method="fitted").

    >>> r = ScalingLawModel().solve(compute_budget=5.76e23)   # Gopher's budget -> Chinchilla: ~70B on ~1.4T
    >>> round(r.params / 1e9), round(r.tokens / 1e12, 2)
    (69, 1.39)
    """

    def solve(self, compute_budget=None, *, params=None, budget_usd=None, fleet=None, usd_per_gpu_hour=None,
              method: str = "tokens_per_param", tokens_per_param: float = S.CHINCHILLA_TOKENS_PER_PARAM,
              seq_len: int = 2048, **layout) -> ScalingLawResult:
        """Give exactly one of `compute_budget` (FLOP), `params` (the size; returns the budget it needs) or
        `budget_usd` with `fleet=` (and its rental `usd_per_gpu_hour=`, default the EconomicsModel cloud price):
        the FLOPs the dollars buy at the MFU DistributedModel predicts for the resulting model (`**layout` is
        passed to it), found by fixed-point iteration; `result.performance` is that run."""
        choice(method, METHODS, "scaling-law method")
        r = si(tokens_per_param, "", "tokens_per_param")
        given = [x is not None for x in (compute_budget, params, budget_usd)]
        if sum(given) != 1:
            raise ConfigError("give exactly one of compute_budget= (FLOP), params= (model size) or budget_usd= "
                              "(with fleet=)")
        if budget_usd is not None:
            return self._dollars(budget_usd, fleet, usd_per_gpu_hour, method, r, seq_len, layout)
        if fleet is not None or layout:
            raise ConfigError("fleet= and layout options go with budget_usd=; for a compute budget, pass the "
                              "result's .workload to DistributedModel yourself")
        if params is not None:
            n = si(params, "", "params")
            if method == "fitted":
                raise ConfigError("params= inverts the tokens-per-parameter rule; use method='tokens_per_param'")
            c = S.training_compute(n, r * n)
        else:
            c = si(compute_budget, "FLOP", "compute_budget (FLOP, e.g. 5.76e23)")
        return self._optimal(c, method, r, seq_len)

    @staticmethod
    def _optimal(c, method, r, seq_len, performance=None, assumptions=None):
        n, d = S.optimal_by_ratio(c, r) if method == "tokens_per_param" else S.optimal_by_fit(c)
        w = shaped_workload(n, 1.0, seq_len)
        w = w.with_(tokens=c / (S.FLOPS_PER_PARAM_TOKEN * w.params))
        loss = S.fitted_loss(n, d)
        finite({"n": n, "d": d, "loss": loss}, "ScalingLawModel")
        a = {"C": "6 N D (Hoffmann et al. 2022)",
             "rule": (f"{r:g} tokens per parameter" if method == "tokens_per_param"
                      else "fitted L(N,D) = 1.69 + 406.4/N^0.34 + 410.7/D^0.28 (Hoffmann et al. 2022 eq. 10)")}
        ratio = w.params / n
        if not 0.8 <= ratio <= 1.25:  # a tiny budget: 1e10 FLOP gave a 9,129-param optimum and an 8.4M workload
            a["workload size"] = (f"{ratio:.3g}x the optimal {n:.3g} params: no decoder this small has whole "
                                  f"layers, d_model a multiple of {HEAD_DIM} and a {VOCAB:,}-token vocabulary; its "
                                  f"tokens keep C = 6 N D")
        a.update(assumptions or {})
        return ScalingLawResult(compute_budget=c, params=n, tokens=d, loss=loss, workload=w, method=method,
                                performance=performance, assumptions=a)

    def _dollars(self, budget_usd, fleet, usd_per_gpu_hour, method, r, seq_len, layout):
        from .distributed import DistributedModel
        from ._common import resolve_fleet
        from .economics import CLOUD_USD_PER_GPU_HOUR
        usd = si(budget_usd, "USD", "budget_usd")
        if fleet is None:
            raise ConfigError("budget_usd= needs fleet= (e.g. Systems.Clusters.Research_256) to turn dollars "
                              "into FLOPs")
        fleet = resolve_fleet(fleet)
        acc = fleet.accelerator
        if usd_per_gpu_hour is None:
            if acc.key not in CLOUD_USD_PER_GPU_HOUR:
                raise ConfigError(f"no rental price for {acc.name}; pass usd_per_gpu_hour=")
            price, why = CLOUD_USD_PER_GPU_HOUR[acc.key]
        else:
            price, why = si(usd_per_gpu_hour, "USD/hour", "usd_per_gpu_hour"), "given"
        seconds = usd / (price * fleet.total_accelerators) * 3600.0  # wall time the dollars rent the fleet
        prec = layout.pop("precision", "bf16")
        rate = 0.4 * acc.peak(prec) * fleet.total_accelerators  # first guess: MFU 0.4; then the predicted rate
        for _ in range(8):
            res = self._optimal(rate * seconds, method, r, seq_len)
            perf = DistributedModel().solve(res.workload, fleet, precision=prec, **layout)
            achieved = S.FLOPS_PER_PARAM_TOKEN * res.workload.params * perf.tokens_per_s  # 6N FLOP/s actually run
            converged = math.isclose(achieved, rate, rel_tol=1e-4)
            if converged:
                break
            rate = achieved
        notes = dict(res.assumptions)
        notes["dollars"] = (f"{usd:,.0f} USD at {price:g} USD/GPU-h ({why}) = {seconds / 86400:.3g} days on "
                            f"{fleet.total_accelerators} GPUs")
        notes["FLOP rate"] = (f"6 N x tokens/s DistributedModel predicts = {achieved:.3g} FLOP/s"
                              + ("" if converged else " (fixed point not reached in 8 steps: the time differs "
                                                      f"from the budget's by {achieved / rate - 1:+.2%})"))
        return replace(res, performance=perf, assumptions=notes)
