"""Failures, checkpoints and goodput of a long training job. Plain floats or numpy arrays, SI units (s, bytes,
bytes/s, failures per component per second).

The model (Young 1974; Daly 2006, "A higher order estimate of the optimum checkpoint interval for restart dumps",
FGCS 22(3)):
- each component fails independently at a constant rate; a synchronous job stops when any of them fails, so the
  job's interruption rate is the sum of rate x count over components and grows linearly with the fleet;
- the job writes a checkpoint of `delta` seconds after every `tau` seconds of work; a failure loses the work since
  the last completed checkpoint plus a restart of `R` seconds (detect, replace the node, relaunch, reload);
- with exponential inter-failure times of mean M, the expected wall time of `work` seconds of computation is
  (Daly 2006, Eq. 9-10)  T_wall = M * e^(R/M) * (e^((tau+delta)/M) - 1) * work / tau,
  and the expected number of interruptions is T_wall / M (Wald's identity for a Poisson process);
- the interval that minimises T_wall is Daly's higher-order estimate
  tau* = sqrt(2 delta M) * [1 + sqrt(delta/(2M))/3 + (delta/(2M))/9] - delta   (delta < 2M; else tau* = M),
  whose leading term is Young's sqrt(2 delta M).
To first order, T_wall = work * (1 + delta/tau) + n_interruptions * (R + (tau + delta)/2): each failure costs half
an interval of recomputed work plus the restart.
"""
from __future__ import annotations

import math

import numpy as np

from ._np import vmax, vmin, vsqrt, vwhere

SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0

# ------------------------------------------------------------------------------------------------ failure rates
# Node failure rates of independent GPU clusters (8-GPU nodes), failures per 1,000 node-days. Pooled below; the
# Llama 3 405B count (Table 5) is NOT among them: it is kept as the check (validation/reliability.py).
NODE_FAILURE_SOURCES = {
    # Kokolis et al. 2024, "Revisiting Reliability in Large-Scale Machine Learning Research Clusters",
    # arXiv:2410.21680: Meta RSC-1 (16K A100) 6.50 and RSC-2 (8K A100) 2.34 failures per 1,000 node-days
    # (RSC-1 via shared/validation/systems_and_facilities.csv; RSC-2 recalled from the paper, approx: the issue
    # quotes the ~2.8x gap between them).
    "Kokolis 2024 RSC-1 (A100)": 6.50,
    "Kokolis 2024 RSC-2 (A100)": 2.34,
    # Zhang et al. 2022 (OPT), arXiv:2205.01068 Sec 2.5: "over 100 hosts cycled" in ~2 months on 992 A100 = 124
    # nodes: 100 / (124 x 60 node-days) = 13.4 per 1,000 node-days (a lower bound on hosts; taken as the rate).
    "Zhang 2022 OPT-175B (992 A100)": 100.0 / (124 * 60) * 1000.0,
    # BigScience 2022 (BLOOM), arXiv:2211.05100 Sec 3.4: "on average 1-2 GPU failures each week" on 48 nodes of
    # Jean Zay (recalled, approx): 1.5 / (48 x 7 node-days) = 4.46 per 1,000 node-days (GPU failures only).
    "BigScience 2022 BLOOM (384 A100)": 1.5 / (48 * 7) * 1000.0,
}


def pooled_log_rate(rates):
    """Pool independent rates on a log scale: (geometric mean, sample standard deviation of the logs). Rates of
    different clusters differ by factors, not offsets, so their spread is multiplicative."""
    logs = [math.log(r) for r in rates]
    mean = sum(logs) / len(logs)
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))
    return math.exp(mean), sd


POOLED_NODE_FAILURES_PER_1000_NODE_DAYS, POOLED_LOG_SD = pooled_log_rate(NODE_FAILURE_SOURCES.values())
# Spread for a new cluster (a predictive interval): log sd x sqrt(1 + 1/k) for k pooled sources. The 5-95 %
# multipliers on the pooled rate, as a log-normal: exp(-+1.645 x that).
_PRED_SD = POOLED_LOG_SD * math.sqrt(1.0 + 1.0 / len(NODE_FAILURE_SOURCES))
Z90 = 1.6448536269514722
RATE_SCALE_90 = (math.exp(-Z90 * _PRED_SD), math.exp(Z90 * _PRED_SD))

KOKOLIS_NODE_FAILURES_PER_1000_NODE_DAYS = NODE_FAILURE_SOURCES["Kokolis 2024 RSC-1 (A100)"]
_GPUS_PER_NODE = 8.0  # the nodes all pooled rates were measured on

# Split of that rate by cause: the root-cause shares of 678 unexpected interruptions of Meta's FT-HSDP production
# training on 32K H100s (arXiv:2602.00277, as summarised in systems_and_facilities.csv, "approx (secondary)"):
# HBM3 22.9 %, PCIe device 18.0 %, NCCL timeouts 9.0 %, faulty GPU 7.4 %, software bug 7.1 %, host maintenance
# 6.2 %, kernel fault 5.8 %, system reboot 5.6 %, silent data corruption 5.5 %, network 5.3 %, other 7.2 %.
# Grouped: gpu = faulty GPU + SDC; host = PCIe + host maintenance + kernel fault + reboot; software = NCCL timeouts
# + software bug. None of these sources is the Llama 3 Table 5 count, so predictions for Llama 3 are independent of it.
FAILURE_SHARES = {"gpu": 0.074 + 0.055, "hbm": 0.229, "network": 0.053,
                  "host": 0.180 + 0.062 + 0.058 + 0.056, "software": 0.090 + 0.071, "other": 0.072}

# Components and what they are counted per: GPU-side parts and the scale-out link (one NIC per GPU on DGX/HGX
# H100 class nodes) per accelerator; the host, its software stack and the rest per node.
PER = {"gpu": "accelerator", "hbm": "accelerator", "network": "accelerator",
       "host": "node", "software": "node", "other": "node"}



def split_node_rate(node_failures_per_1000_node_days):
    """Failures per component per second from a node rate: split by FAILURE_SHARES, per-accelerator parts divided
    by the 8 GPUs of the nodes the rates were measured on."""
    node_rate = node_failures_per_1000_node_days / (1000.0 * SECONDS_PER_DAY)
    return {c: node_rate * s / (_GPUS_PER_NODE if PER[c] == "accelerator" else 1.0) for c, s in FAILURE_SHARES.items()}


# Default rates: the pooled node rate of the independent clusters above; "kokolis2024": RSC-1 alone.
DEFAULT_FAILURE_RATES = split_node_rate(POOLED_NODE_FAILURES_PER_1000_NODE_DAYS)
KOKOLIS_FAILURE_RATES = split_node_rate(KOKOLIS_NODE_FAILURES_PER_1000_NODE_DAYS)

# NOT independent of the Llama 3 validation target: rates derived from Llama 3 405B's Table 5 (419 unexpected
# interruptions in 54 days on 16,384 H100s = 2,048 nodes; Llama Team 2024, arXiv:2407.21783). Offered as a preset
# for H100 production clusters; the validate command labels any comparison made with it as such.
_L3_GPU_S = 16384 * 54 * SECONDS_PER_DAY
_L3_NODE_S = 2048 * 54 * SECONDS_PER_DAY
LLAMA3_FAILURE_RATES = {
    "gpu": (148 + 19 + 17 + 6 + 6) / _L3_GPU_S,     # faulty GPU, SRAM, system processor, SDC, thermal/sensor
    "hbm": 72 / _L3_GPU_S,                          # GPU HBM3 memory
    "network": 35 / _L3_GPU_S,                      # network switch/cable
    "host": (32 + 7 + 3 + 3 + 2 + 2 + 2 + 2) / _L3_NODE_S,  # host maintenance, NIC, SSD, PSU, chassis, IO, CPU, DRAM
    "software": (54 + 2) / _L3_NODE_S,              # software bug, dependency
    "other": 7 / _L3_NODE_S,                        # NCCL watchdog timeouts (cause unknown)
}

# ------------------------------------------------------------------------------------------------ checkpoints
# Bytes per parameter in a full training checkpoint with mixed-precision Adam: 16-bit weights (2) + fp32 master
# weights (4) + Adam first and second moments (4 + 4) = 14 (Rajbhandari et al. 2020, ZeRO, Sec 3.1; gradients are
# not saved). Check: Megatron's 1T-parameter model (1.008e12 params) wrote 13.8 TB checkpoints (Narayanan et al.
# 2021 Sec 5.10): 13.7 B/param.
MASTER_AND_ADAM_BYTES_PER_PARAM = 12.0

# Aggregate sustained bandwidth of the storage the checkpoints go to: Meta's Tectonic for Llama 3, 2 TB/s
# sustained (7 TB/s peak; Llama 3 paper Sec 3.3.1, systems_and_facilities.csv). A large, well-provisioned site.
STORAGE_BW_AGGREGATE = 2e12
# Write bandwidth one node can push to storage. Assumption, with reason: DGX H100 has 2 dual-port ConnectX-7 for
# storage (systems_and_facilities.csv); ~2 x 200 Gb/s = 50 GB/s of line rate, half of it achieved writing to a
# parallel filesystem: 25 GB/s. Small fleets are bound by this, large ones by the aggregate above.
STORAGE_BW_PER_NODE = 25e9

# Time from a failure to training again, excluding the checkpoint read (computed from its size): detect the fault
# (health checks, NCCL watchdog), drain and replace the node, reschedule, relaunch thousands of processes,
# initialise communicators and rebuild the model. Assumption: 10 min, the low end of the ~10-30 min reported for
# large jobs (e.g. Wang et al. 2023, "GEMINI: Fast Failure Recovery in Distributed Training with In-Memory
# Checkpoints", SOSP: recovery from remote storage takes tens of minutes). Not fitted to Llama 3.
RELAUNCH_S = 600.0

_EXP_CAP = 700.0  # e^700 ~ 1e304: keeps T_wall finite where failures all but stop progress


def _vexp(x):
    return np.exp(np.minimum(x, _EXP_CAP)) if isinstance(x, np.ndarray) else math.exp(min(x, _EXP_CAP))


def _vexpm1(x):
    """e^x - 1 without cancellation for small x (rare failures: (tau + delta) / M ~ 1e-12 and below)."""
    return np.expm1(np.minimum(x, _EXP_CAP)) if isinstance(x, np.ndarray) else math.expm1(min(x, _EXP_CAP))


def component_failure_rates(n_accelerators, n_nodes, rates=None, per=None, scale=1.0):
    """Failures per second of each component type across the fleet: rate x count (x scale).

    `rates` maps component -> failures per component per second (default DEFAULT_FAILURE_RATES); `per` maps
    component -> "accelerator" | "node" (default PER). Linear in the fleet size by construction.
    """
    rates = DEFAULT_FAILURE_RATES if rates is None else rates
    per = PER if per is None else per
    return {c: r * scale * (n_accelerators if per.get(c, "node") == "accelerator" else n_nodes)
            for c, r in rates.items()}


def interruption_rate(n_accelerators, n_nodes, rates=None, per=None, scale=1.0):
    """The job's interruption rate (per second): the sum over components of rate x count."""
    total = 0.0
    for v in component_failure_rates(n_accelerators, n_nodes, rates, per, scale).values():
        total = total + v
    return total


def checkpoint_bytes_per_param(bytes_weights=2.0):
    """Bytes per parameter saved: the training-precision weights + fp32 master copy + Adam m and v. fp32 training
    keeps no separate master copy (4 + 8 = 12); 16-bit training saves 2 + 4 + 8 = 14."""
    return bytes_weights + vwhere(bytes_weights < 4.0, MASTER_AND_ADAM_BYTES_PER_PARAM, 8.0)


def checkpoint_bytes(n_params, bytes_weights=2.0):
    """Size of a full checkpoint (model + optimizer state), bytes."""
    return n_params * checkpoint_bytes_per_param(bytes_weights)


def storage_bandwidth(n_nodes, per_node_bw=STORAGE_BW_PER_NODE, aggregate_bw=STORAGE_BW_AGGREGATE):
    """Bandwidth a synchronous checkpoint gets: all nodes write in parallel, up to the filesystem's aggregate."""
    return vmin(n_nodes * per_node_bw, aggregate_bw)


def transfer_s(n_bytes, bandwidth):
    """Time to write (or read) `n_bytes` at `bandwidth` bytes/s."""
    return n_bytes / bandwidth


def restart_s(checkpoint_read_s, relaunch_s=RELAUNCH_S):
    """Failure-to-training time: relaunch overhead + reading the last checkpoint back."""
    return relaunch_s + checkpoint_read_s


def young_interval_s(delta_s, mtbi_s):
    """Young (1974): the checkpoint interval that minimises lost time to first order, sqrt(2 delta M)."""
    return vsqrt(2.0 * delta_s * mtbi_s)


def daly_interval_s(delta_s, mtbi_s):
    """Daly (2006) higher-order optimum: sqrt(2 delta M)[1 + sqrt(x)/3 + x/9] - delta, x = delta/(2M), for
    delta < 2M; M otherwise (checkpointing barely pays off)."""
    x = delta_s / (2.0 * mtbi_s)
    tau = vsqrt(2.0 * delta_s * mtbi_s) * (1.0 + vsqrt(x) / 3.0 + x / 9.0) - delta_s
    return vwhere(delta_s < 2.0 * mtbi_s, tau, mtbi_s)


def expected_wall_s(work_s, interval_s, delta_s, restart_time_s, mtbi_s):
    """Expected wall-clock time to complete `work_s` of computation (Daly 2006): segments of `interval_s` work +
    `delta_s` checkpoint, each retried after a failure that costs `restart_time_s` (itself interruptible).
    M e^(R/M) (e^((tau+delta)/M) - 1) work / tau, which is never below the failure-free (tau + delta) work / tau
    (e^x - 1 >= x); the bound is applied where rounding would put it a hair below."""
    wall = mtbi_s * _vexp(restart_time_s / mtbi_s) * _vexpm1((interval_s + delta_s) / mtbi_s) \
        * work_s / interval_s
    return vmax(wall, work_s * ((interval_s + delta_s) / interval_s))


def expected_interruptions(wall_s, mtbi_s):
    """Failures expected while the job holds the fleet for `wall_s` seconds."""
    return wall_s / mtbi_s


def goodput(work_s, wall_s):
    """Useful (first-time, non-checkpoint) compute time / wall time."""
    return work_s / wall_s


def lost_time_s(work_s, wall_s, interval_s, delta_s, restart_time_s):
    """Where the time beyond `work_s` goes: {"checkpoint", "restart", "rework"} (sum = wall - work).

    Checkpoint writes of the completed segments: work/tau x delta. The remaining loss is split between restarts
    and recomputed work in the first-order ratio R : (tau + delta)/2 per failure (exact as failures become rare).
    """
    ckpt = work_s / interval_s * delta_s
    rest = wall_s - work_s - ckpt
    rest = rest * (rest > 0) if isinstance(rest, np.ndarray) else max(rest, 0.0)
    half = 0.5 * (interval_s + delta_s)
    share = restart_time_s / (restart_time_s + half)
    return {"checkpoint": ckpt, "restart": rest * share, "rework": rest * (1.0 - share)}
