"""ServingLoadModel: a fleet of serving replicas under Poisson traffic at a QPS, bursty traffic or a replayed trace
(serving_traffic.py). Continuous batching in steady state, p50 / p99 TTFT and TPOT, replicas and GPUs for the QPS
within an SLO, goodput, and energy, carbon and dollars per request and per million tokens, over a daily load
profile if given (physics/serving_load.py, physics/serving_econ.py)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import ConfigError, unexpected_keywords
from ..physics import power as PW
from ..physics import serving_econ as SE
from ..physics import serving_load as SL
from ..physics import serving_spec as SS
from ..units import count, quantity, si
from ._common import TableRepr, finite
from . import serving_disagg as SD
from . import serving_traffic as TT
from ._capex import serving_capex
from ..models.context import context_note
from .serving_setup import replica_setup, spec_keys, spec_note

INF = float("inf")


@dataclass(frozen=True)
class ServingLoadResult(TableRepr):
    """The fleet at its operating point. Floats in SI (s, 1/s, J, kg, USD); `ttft_p99`, `tpot_p99` are pint views.
    `ttft_p99_s` / `tpot_p99_s` (and those views) hold the tail at `percentile`: the 99th by default, the 90th at
    percentile=0.9 (as plan_serving's rows; the tables label it).
    `feasible` is False when the SLO cannot be met or a replica does not fit; `binding` says what limits a
    replica's QPS (KV capacity, max batch, TTFT SLO, TPOT SLO, prefill budget, memory)."""

    model: object
    accelerator: object
    engine: str
    precision: tuple
    qps: float
    input_len: float
    output_len: float
    tp: int
    pp: int
    replicas: int
    gpus: int
    percentile: float
    concurrency_per_replica: float
    qps_per_replica_max: float
    ttft_p50_s: float
    ttft_p99_s: float
    tpot_p50_s: float
    tpot_p99_s: float
    tokens_per_s_per_gpu: float
    goodput_qps: float
    kv_capacity: float
    memory_bytes: dict
    feasible: bool
    binding: str
    per_request: dict
    usd_per_m_input: float
    usd_per_m_output: float
    datacenter: object = None
    assumptions: dict = field(default_factory=dict)
    traffic: str = "Poisson"
    arrival_cv: float = 1.0
    output_cv: float = 0.0
    load_factor: float = 1.0  # mean load over the profile, as a share of the peak (qps)
    ep: int = 1  # expert-parallel ranks of an MoE replica (attention data-parallel over them)
    trace_requests: int = 0  # requests in the replayed trace (0: no trace)

    ttft_p99 = quantity("ttft_p99_s", "s", to="ms")
    tpot_p99 = quantity("tpot_p99_s", "s", to="ms")
    ttft_p50 = quantity("ttft_p50_s", "s", to="ms")
    tpot_p50 = quantity("tpot_p50_s", "s", to="ms")

    @property
    def energy_per_request_wh(self) -> float:
        return self.per_request.get("energy_j", 0.0) / 3600.0

    def _title(self):
        return (f"Serving {self.model.name} at {self.qps:.4g} QPS on {self.gpus}x {self.accelerator.name} "
                f"({self.replicas} replica{'s' if self.replicas != 1 else ''} of TP{self.tp} x PP{self.pp}{f' x EP{self.ep}' if self.ep > 1 else ''}, "
                f"{'/'.join(self.precision)})")

    def _rows(self):
        p = pct(self.percentile)
        rows = [("traffic", self.traffic), ("input / output tokens", f"{self.input_len:g} / {self.output_len:g}"),
                ("replicas x GPUs each", f"{self.replicas} x {self.tp * self.pp * self.ep}"),
                ("max QPS per replica (SLO)", self.qps_per_replica_max),
                ("concurrency per replica", self.concurrency_per_replica),
                (f"TTFT p50 / {p} (ms)", f"{ms(self.ttft_p50_s)} / {ms(self.ttft_p99_s)}"),
                (f"TPOT p50 / {p} (ms)", f"{self.tpot_p50_s * 1e3:,.1f} / {self.tpot_p99_s * 1e3:,.1f}"),
                ("output tokens/s per GPU", self.tokens_per_s_per_gpu), ("goodput (QPS within SLO)", self.goodput_qps),
                ("KV capacity (sequences)", int(self.kv_capacity)), ("binding", self.binding)]
        if self.load_factor < 1.0:
            rows.append(("mean load over the profile (share of peak)", self.load_factor))
        if self.per_request:
            rows += [("energy per request (Wh)", self.energy_per_request_wh),
                     ("gCO2e per request (location / market)",
                      f"{self.per_request['carbon_location_kg'] * 1e3:.3g} / "
                      f"{self.per_request['carbon_market_kg'] * 1e3:.3g}"),
                     ("water per request (mL, on-site + grid)", self.per_request["water_l"] * 1e3),
                     ("$ per M input / output tokens", f"{self.usd_per_m_input:.3g} / {self.usd_per_m_output:.3g}")]
        rows.append(("feasible", "yes" if self.feasible else f"NO: {self.binding}"))
        return rows


MAX_QPS = 1e9  # assumption: a billion requests/s is ~1,000x the largest published LLM services' peak


def check_percentile(q) -> None:
    """The tail percentile must be one of the tabulated ones (a list was a TypeError: unhashable)."""
    if isinstance(q, bool) or not isinstance(q, (int, float)) or q not in SL.Z:
        raise ConfigError(f"percentile must be one of {sorted(SL.Z)}, got {q!r}")


def check_qps(lam: float) -> float:
    """Refuse a request rate no fleet this model sizes could meaningfully serve (its sums would overflow)."""
    if lam > MAX_QPS:
        raise ConfigError(f"qps={lam:g} is beyond what mlsysim sizes (at most {MAX_QPS:g} requests/s); "
                          f"give the rate of one service or region")
    return lam


def check_tpot_slo(osl: float, tpot_slo) -> None:
    """A one-token answer has no time per output token after the first (TPOT = (latency - TTFT) / (O - 1), MLPerf):
    a TPOT target on it is refused (it sized fleets on a decode step no request takes)."""
    if tpot_slo is not None and osl <= 1.0:
        raise ConfigError("tpot_slo= (a scenario's tpot_slo_ms, --tpot-slo-ms) needs answers of more than one token "
                          "(TPOT is the time per output token after the first); with output_len=1 the latency is the "
                          "TTFT: give a TTFT target only")


# the binding where a replica's prompt passes saturate it before one sequence is in flight on average
PROMPT_BOUND = ("prefill: the prompt passes alone fill a replica (under one sequence in flight; long prompts, "
                "short answers)")


class ServingLoadModel:
    """A fleet of identical replicas serving Poisson traffic, bursty traffic (G/G/1) or a replayed trace.

    >>> from mlsysim import Models, Hardware
    >>> r = ServingLoadModel().solve(Models.Language.Llama3_70B, Hardware.Cloud.H100, qps=10, input_len=1000,
    ...                              output_len=200, tp_size=4, precision="fp8", ttft_slo=1.0, tpot_slo=0.05)
    >>> r.feasible
    True
    """

    def solve(self, model, hardware, *, qps=None, input_len=1024, output_len=256, tp_size=1, pp_size=1, ep_size=1,
              precision=None, weight_precision=None, kv_precision=None, compute_precision=None, ttft_slo=None,
              tpot_slo=None, percentile=0.99, replicas=None, engine=None, max_batch=None, chunk_tokens=None,
              input_cv=0.0, datacenter=None, rent_usd_per_gpu_hour=None, input_weight=None, disaggregation=None,
              kv_fabric=None, arrivals=None, input_lens=None, output_lens=None, arrival_cv=None, output_cv=0.0,
              load_profile=None, draft_model=None, mtp_depth=None, draft_acceptance_rate=None,
              draft_tokens=None, **unexpected) -> ServingLoadResult:
        """`qps`: Poisson arrivals per second; `input_len` / `output_len`: mean tokens (`input_cv`: the prompt
        lengths' coefficient of variation, for the queue); `ttft_slo` / `tpot_slo` (s) at `percentile` size the
        fleet unless `replicas` is given; `disaggregation=(P, D)`: groups of P prefill + D decode replicas with
        the KV cache sent over `kv_fabric` (a Fabric or Systems.Fabrics name; default InfiniBand NDR);
        `datacenter` adds energy, carbon and $ per request (owning, or `rent_usd_per_gpu_hour`).
        Beyond Poisson: `arrival_cv` (inter-arrival CV; Kingman's G/G/1 prompt queue), or `arrivals` (a trace of
        arrival times in s, with optional per-request `input_lens` / `output_lens`; time-scaled to `qps` if given)
        replayed through the replicas (serving_traffic.py); `output_cv`: the output lengths' CV (KV capacity and
        the batch's context). `load_profile`: multipliers of the peak `qps` over equal periods (e.g. 24 hours):
        the fleet is sized for the peak, energy, carbon and $ per request come from the whole profile with idle
        replicas at idle power. Speculative decoding as ServingModel takes it (`draft_model=` or `mtp_depth=`,
        `draft_acceptance_rate=`, `draft_tokens=`), in every iteration of the batch (physics/serving_spec.py)."""
        if unexpected:
            raise unexpected_keywords(self.solve, unexpected)
        tr = TT.traffic(qps=qps, arrivals=arrivals, input_lens=input_lens, output_lens=output_lens,
                        arrival_cv=arrival_cv, input_len=count(input_len, "input_len"),
                        output_len=count(output_len, "output_len"), input_cv=input_cv, output_cv=output_cv)
        profile = None if load_profile is None else TT.load_profile(load_profile)
        lam, isl, osl = check_qps(tr.rate), tr.input_len, tr.output_len
        tp, pp, ep = count(tp_size, "tp_size"), count(pp_size, "pp_size"), count(ep_size, "ep_size")
        if datacenter is not None:  # a registry name too, as the other solvers take it
            from .sustainability import resolve_datacenter
            datacenter = resolve_datacenter(datacenter)
        check_percentile(percentile)
        _check_cost_options(datacenter, rent_usd_per_gpu_hour, input_weight, disaggregation, kv_fabric)
        if input_weight is not None:  # a negative weight made a negative $ per output token
            input_weight = si(input_weight, "", "input_weight", allow_zero=True)
        s_ttft = INF if ttft_slo is None else si(ttft_slo, "s", "ttft_slo")
        s_tpot = INF if tpot_slo is None else si(tpot_slo, "s", "tpot_slo")
        check_tpot_slo(osl, tpot_slo)
        s = replica_setup(model, hardware, input_len=isl, output_len=osl, tp=tp, pp=pp, ep=ep, precision=precision,
                          weight_precision=weight_precision, kv_precision=kv_precision,
                          compute_precision=compute_precision, engine=engine, max_batch=max_batch,
                          chunk_tokens=chunk_tokens, input_cv=tr.input_cv, draft_model=draft_model,
                          mtp_depth=mtp_depth, draft_acceptance_rate=draft_acceptance_rate, draft_tokens=draft_tokens)
        s = TT.with_traffic(s, tr)
        q, fits = percentile, s.b_max >= 1.0
        n = n0 = None if replicas is None else count(replicas, "replicas")
        if disaggregation is None:
            n, at, q_max, cap = SD.colocated(s, lam, s_ttft, s_tpot, q, n)
            binding = self._binding(s, cap, s_ttft, s_tpot, fits)
            if tr.arrivals is not None and fits:
                n, at, below = TT.size_for_trace(s, tr, s_ttft, s_tpot, q, start=n, replicas=n0)
                if at["meets"] and n0 is None:  # the replay's figures replace the G/G/1 estimate's
                    q_max = lam / n
                    binding = _replay_binding(below) or binding
        elif tr.arrivals is not None:
            raise ConfigError("replaying a trace through disaggregated prefill/decode pools is not modelled: give "
                              "its rate and inter-arrival CV instead (qps=, arrival_cv=), or drop disaggregation=")
        else:
            fab = _fabric(kv_fabric)
            per = sum(disaggregation) if isinstance(disaggregation, (tuple, list)) else 1
            if n is not None and n % per:
                raise ConfigError(f"replicas={n} is not a multiple of the {per} replicas of a prefill:decode group")
            n, at, q_max, binding = SD.disaggregated(s, lam, s_ttft, s_tpot, q, None if n is None else n // per,
                                                     disaggregation, fab)
            binding = binding if fits else self._binding(s, None, s_ttft, s_tpot, fits)
        ok = fits and bool(at["stable"]) and at["ttft_q_s"] <= s_ttft and at["tpot_q_s"] <= s_tpot
        if fits and not at["stable"]:
            binding = "throughput: the offered QPS exceeds what the replicas sustain (the queue grows)"
        elif fits and not ok and (n0 is not None or q_max > 0):  # else _binding's "even one sequence" stands
            binding = f"SLO: the {'given ' if n0 is not None else ''}replicas miss it at this QPS"
        elif fits and not ok and binding == PROMPT_BOUND:
            binding = "SLO: the prompt pass alone misses it, on any number of replicas (long prompts)"
        share = at["share_ok"] if "share_ok" in at else self._share_within(at, s_ttft, s_tpot, q)
        good = lam * share if at["stable"] and fits else 0.0  # a replica that does not fit serves nothing
        gpus = n * s.gpus
        tok_gpu = lam * osl / gpus if at["stable"] else at["tokens_per_s"] * n / gpus
        acc = s.accelerator
        assumptions = {"engine": f"{s.engine.name} ({s.engine.source})", "precision (weights, KV, compute)":
                       s.precision, "queueing": _queueing(tr, at), "percentile": q}
        if "spec_k" in s.kw:
            assumptions["speculative decoding"] = spec_note(s.kw, s.model)
        assumptions.update(context_note(s.model))
        if tr.output_cv > 0:
            assumptions["output lengths"] = (f"CV {tr.output_cv:.3g}: the batch holds length-biased sequences, mean "
                                             f"context {SL.batch_context(isl, osl, tr.output_cv):,.0f} tokens")
        if disaggregation is not None:
            assumptions["disaggregation"] = (f"prefill:decode = {disaggregation[0]}:{disaggregation[1]} replicas per "
                                             f"group; prompt pass {at['prefill_pass_s'] * 1e3:.1f} ms, KV transfer "
                                             f"{at['kv_transfer_s'] * 1e3:.2f} ms over {_fabric(kv_fabric).name}")
        per_req, usd_in, usd_out = {}, 0.0, 0.0
        if datacenter is not None and at["stable"]:
            per_req, usd_in, usd_out = self._econ(s, at, lam, n, datacenter, rent_usd_per_gpu_hour,
                                                  input_weight, isl, osl, assumptions, profile)
        finite({"ttft": at["ttft_q_s"] if at["stable"] else 0.0, "tpot": at["tpot_q_s"], "tokens_per_gpu": tok_gpu,
                "usd_in": usd_in, "usd_out": usd_out, **{k: float(v) for k, v in per_req.items()}},
               "ServingLoadModel")
        return ServingLoadResult(
            model=s.model, accelerator=acc, engine=s.engine.key, precision=s.precision, qps=lam, input_len=isl,
            output_len=osl, tp=tp, pp=pp, ep=ep, replicas=n, gpus=gpus, percentile=q,
            concurrency_per_replica=at["conc"], qps_per_replica_max=q_max,
            ttft_p50_s=at["ttft_p50_s"] if at["stable"] else INF_SAFE, ttft_p99_s=at["ttft_q_s"] if at["stable"]
            else INF_SAFE, tpot_p50_s=at["tpot_p50_s"], tpot_p99_s=at["tpot_q_s"], tokens_per_s_per_gpu=tok_gpu,
            goodput_qps=good, kv_capacity=s.kv_capacity, memory_bytes=s.memory_bytes, feasible=ok,
            binding=binding, per_request=per_req, usd_per_m_input=usd_in, usd_per_m_output=usd_out,
            datacenter=datacenter, assumptions=assumptions, traffic=tr.label, arrival_cv=tr.arrival_cv,
            output_cv=tr.output_cv, load_factor=1.0 if profile is None else sum(profile) / len(profile),
            trace_requests=0 if tr.arrivals is None else int(tr.arrivals.size))

    @staticmethod
    def _binding(s, cap, s_ttft, s_tpot, fits):
        if not fits:
            return "memory: the weights leave no room for one sequence's KV cache"
        cap = {k: float(v) for k, v in cap.items()}
        if not bool(cap["ok"]):
            if cap["rho"] >= 1.0:  # no SLO is the reason: the prompts alone fill a replica
                return PROMPT_BOUND
            return "SLO: even one sequence at a time misses it"
        conc = float(cap["conc"])
        if conc >= s.b_max * 0.999:
            return "KV-cache capacity" if s.b_max >= s.kv_capacity * 0.999 else "max batch"
        nxt = SL.load_point(s.dims, conc=conc * 1.05, **s.kw)
        if nxt["rho"] >= 1.0:
            return "prefill budget (tokens per step)"
        return "TTFT SLO" if nxt["ttft_q_s"] > s_ttft else "TPOT SLO"

    @staticmethod
    def _share_within(at, s_ttft, s_tpot, q):
        """Share of requests meeting both SLOs (taken as independent): TTFT from the wait tail
        P(W > t) = rho exp(-rho t / E[W]); TPOT from the Poisson concurrency (normal approximation, step time
        linear in concurrency between the mean and the quantile)."""
        rho, mean_wait, slack = at["rho"], at["wait_mean_s"], s_ttft - at["prefill_s"]
        f_ttft = 0.0 if slack <= 0 else 1.0 if (s_ttft == INF or mean_wait <= 0) else \
            1.0 - rho * math.exp(-rho * slack / mean_wait)
        f_tpot, t50, tq = 1.0, at["tpot_p50_s"], at["tpot_q_s"]
        if s_tpot < INF:
            if tq > t50:
                z = (s_tpot - t50) / (tq - t50) * SL.Z[q]
                f_tpot = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
            else:
                f_tpot = 1.0 if s_tpot >= t50 else 0.0
        return max(0.0, min(1.0, f_ttft)) * f_tpot

    @staticmethod
    def _econ(s, at, lam, n, dc, rent, input_weight, isl, osl, assumptions, profile=None):
        acc, gpus = s.accelerator, n * s.gpus
        flops = 2.0 * s.dims.mm_params * lam * (isl + osl) * SS.flops_factor(s.dims, isl=isl, osl=osl,
                                                                              **spec_keys(s.kw))
        util = flops / (gpus * s.kw["peak"])
        idle = acc.idle_w if acc.idle_w is not None else PW.default_idle_w(acc.tdp_w)
        it = SE.profile_it_power_w(profile or (1.0,), replicas=n, gpus_per_replica=s.gpus, peak_util=util,
                                   tdp_w=acc.tdp_w, idle_w=idle, host_w_per_gpu=PW.HOST_W_PER_ACCELERATOR)
        if profile is not None:
            mean = sum(profile) / len(profile)
            lam = lam * mean
            assumptions["load profile"] = (f"{len(profile)} equal periods, mean {mean:.3g} of the peak: the fleet is "
                                           f"sized for the peak; each period packs its load onto ceil(share x "
                                           f"{n}) replicas, the rest idle at {idle:g} W per GPU")
        rent_v = 0.0 if rent is None else si(rent, "USD/hour", "rent_usd_per_gpu_hour")
        if rent_v <= 0 and not acc.price_usd:
            raise ConfigError(f"{acc.name} has no price_usd in the registry: pass rent_usd_per_gpu_hour=")
        it_capex, fac_capex, capex_src = serving_capex(acc, gpus)
        r = SE.per_request(qps=lam, gpus=gpus, it_power_w=it, pue=dc.pue, grid_gco2_per_kwh=dc.grid.gco2_per_kwh,
                           residual_gco2_per_kwh=dc.market_residual_gco2_per_kwh,
                           contractual_fraction=dc.contractual_fraction,
                           cfe_fraction=dc.cfe_fraction, embodied_kg_per_gpu=acc.embodied_kgco2e or 0.0,
                           usd_per_kwh=dc.electricity_usd_per_kwh, it_capex_usd=it_capex,
                           facility_capex_usd=fac_capex,
                           rent_usd_per_gpu_hour=rent_v, wue_l_per_kwh=dc.wue_l_per_kwh,
                           grid_water_l_per_kwh=dc.grid.water_l_per_kwh or 0.0)
        # Input tokens: a prompt token costs the GPU time of a prefill token relative to a decode token.
        w = input_weight if input_weight is not None else SE.input_weight(at["prefill_share"], isl, osl)
        usd_in, usd_out = SE.usd_per_million(r["usd"], isl, osl, w)
        if acc.embodied_kgco2e is None:  # its 0 read as a sourced zero (training says "unknown")
            assumptions["embodied carbon"] = embodied_unknown(acc)
        assumptions["power"] = (f"compute utilisation {util:.3g} at the peak: {it / gpus:.0f} W per GPU incl. "
                                f"{PW.HOST_W_PER_ACCELERATOR:g} W host share (physics.power)")
        assumptions["cost"] = ("rent " + f"${rent_v:g}/GPU-h" if rent_v > 0 else
                               f"own: CapEx from the records ({capex_src}), IT over 5 years and the facility over "
                               f"15, + 5 %/yr maintenance + energy") + \
            f"; an input token weighs {w:.3g} output tokens"
        return r, usd_in, usd_out


def _check_cost_options(datacenter, rent, input_weight, disaggregation, kv_fabric):
    """Options that only matter beside another one are refused alone (they were silently ignored)."""
    if datacenter is None and (rent is not None or input_weight is not None):
        given = " and ".join(n for n, v in (("rent_usd_per_gpu_hour", rent), ("input_weight", input_weight))
                             if v is not None)
        raise ConfigError(f"{given} only matter(s) for the $ per token, which need datacenter= (its energy price "
                          f"and PUE): give datacenter= too, or omit {given}")
    if disaggregation is None and kv_fabric is not None:
        raise ConfigError("kv_fabric= carries the KV cache from prefill to decode replicas: it needs "
                          "disaggregation=(P, D); give that too, or omit kv_fabric")


def _replay_binding(below):
    """What one replica fewer misses in the trace replay (None: one replica suffices)."""
    if below is None:
        return None
    if not below["stable"] or below["over_capacity"] > 0:
        return "throughput: surges in the trace exceed what one replica fewer sustains (trace replay)"
    return ("TTFT" if below["ttft_tight"] else "TPOT") + " SLO (trace replay)"


def _queueing(tr, at) -> str:
    if tr.arrivals is not None:
        over = f"; {at['over_capacity']:.2%} of requests arrive in surges beyond what a replica sustains (counted " \
            f"as missing the SLO)" if at.get("over_capacity", 0.0) > 0 else ""
        return ("trace replayed (serving_traffic.replay): round-robin dispatch, each request at the steady state "
                "of its replica's arrival rate over its lifetime, a FCFS prompt queue per replica (Lindley)" + over)
    if tr.arrival_cv != 1.0:
        return (f"G/G/1 prompt queue per replica (Kingman), inter-arrival CV {tr.arrival_cv:g} kept at every replica "
                f"(bursts are rate surges that reach all replicas together), exponential tail")
    return "M/G/1 prompt queue per replica, exponential tail (see physics/serving_load.py)"


def _fabric(f):
    """The fabric that carries KV caches between prefill and decode replicas (default InfiniBand NDR)."""
    from ..systems.registry import Systems
    from ..systems.system import Fabric
    if f is None or isinstance(f, str):
        return Systems.Fabrics[f or "InfiniBand_NDR"]
    if isinstance(f, Fabric):
        return f
    raise ConfigError(f"kv_fabric must be a Fabric or a Systems.Fabrics name, got {f!r}")


INF_SAFE = 1e9  # an unstable queue's TTFT is unbounded: reported as 1e9 s with feasible=False (never inf/NaN)


def embodied_unknown(acc) -> str:
    """The assumption line of an accelerator with no embodied-carbon figure in the registry (not included: 0)."""
    return (f"unknown for {acc.name} (no embodied_kgco2e in the registry): not included, so per-request embodied "
            f"carbon reads 0")


def pct(q: float) -> str:
    """The label of a percentile: p50, p99, p99.9 (0.999 read "p100" where it was rounded to an integer)."""
    return f"p{q * 100:.4g}"


def ms(seconds: float) -> str:
    """A latency in ms for the tables; the unstable queue's INF_SAFE reads "unbounded" (was 1,000,000,000,000.0)."""
    return "unbounded (queue grows)" if seconds >= INF_SAFE else f"{seconds * 1e3:,.1f}"
