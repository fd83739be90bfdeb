"""Power and energy of a training fleet. Plain floats or numpy arrays, SI units (W, J, s).

Power follows utilisation, not MFU x TDP: a training GPU spends most of each step in tensor-core kernels, memory
traffic and collectives, and its draw saturates well below full MFU. Measured: OLMo 3 pretraining on 700 W H100s
averaged 621 W (7B, ~33 % MFU) and 649 W (32B, ~37 % MFU), ~100 W while checkpointing (Morrison et al. 2025,
arXiv:2503.05804 Sec 4.3 / Fig 2; Ai2 OLMo 3 team statement; shared/validation training_runs.csv rows olmo3-7b,
olmo3-32b and systems_and_facilities.csv row "power, OLMo training GPU power trace").

Every function works on a float and on a numpy array alike (used by the scalar solvers and the explorer).
"""
from __future__ import annotations

import math

from ._np import vceil, vlog, vmax, vwhere

SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0
SECONDS_PER_YEAR = 365.25 * SECONDS_PER_DAY
J_PER_KWH = 3.6e6

# Saturation constant of the accelerator power curve P(mfu) = idle + (TDP - idle) * (1 - exp(-mfu / tau)).
# Fitted (least squares on m = tau * x, x = -ln(1 - (P - idle)/(TDP - idle))) to the two OLMo 3 averages on H100
# (TDP 700 W, idle 90 W): (mfu 0.327, 621 W) -> tau 0.160; (mfu 0.369, 649 W) -> tau 0.149; fit tau = 0.153,
# which gives back 628 W (+1.1 %) and 645 W (-0.6 %). Those MFUs are 6*N x tokens/s/GPU / 989.5 TFLOP/s (7,700
# and 1,900 tokens/s/GPU for 7B and 32B; no attention FLOPs, so they sit ~5-15 % below PaLM-convention MFU; on
# this flat part of the curve that shifts power by < 1.5 %). The averages include checkpoint/eval pauses, so the
# curve is, if anything, slightly low for uninterrupted training. Above 45 % MFU it is within 5 % of TDP.
POWER_TAU_MFU = 0.153

# Idle draw as a share of TDP where the datasheet gives none: OLMo's ~100 W on a 700 W H100 while checkpointing
# (Morrison et al. 2025 Fig 2) = 14 %. Assumption for other chips.
IDLE_FRACTION_OF_TDP = 0.14

# Non-accelerator server power (CPUs, DRAM, NICs, NVSwitches, fans, PSU loss) during training, as a share of the
# server's non-accelerator maximum (datasheet max system power - n x accelerator TDP). Assumption, with reason:
# in training the host CPUs are lightly loaded while fans and NICs run high; 45 % of DGX H100's
# 10.2 kW - 8 x 700 W = 4.6 kW gives ~2.1 kW per node (~260 W per GPU) and of DGX A100's 6.5 - 3.2 = 3.3 kW gives
# 1.5 kW (DGX max powers: systems_and_facilities.csv). Used only when a Node has no host_power_w.
HOST_LOAD_FRACTION = 0.45
# Fallback host power per accelerator when a node gives neither host_power_w nor max_power_w: DGX H100 at the
# above fraction (2.1 kW / 8). Assumption.
HOST_W_PER_ACCELERATOR = 260.0

# Switch radix used to count fat-tree tiers: NVIDIA Quantum-2 NDR, 64 x 400 Gb/s (systems_and_facilities.csv).
SWITCH_RADIX = 64.0


def accelerator_power_w(mfu, tdp_w, idle_w, tau=POWER_TAU_MFU):
    """Average accelerator (board) power while training at model FLOPs utilisation `mfu`.

    P = idle + (TDP - idle) * (1 - exp(-mfu / tau)); tau fitted to OLMo 3's measured H100 averages (see
    POWER_TAU_MFU). Example: an H100 (700 W, idle 90 W) at 40 % MFU draws 90 + 610 * (1 - e^(-0.40/0.153)) = 655 W,
    94 % of TDP, not 40 % of it.
    """
    return idle_w + (tdp_w - idle_w) * (1.0 - _vexp(-mfu / tau))


def _vexp(x):
    if isinstance(x, (int, float)):
        return math.exp(x)
    import numpy as np
    return np.exp(x)


def default_idle_w(tdp_w):
    """Idle draw where the datasheet gives none: IDLE_FRACTION_OF_TDP x TDP (assumption, see above)."""
    return IDLE_FRACTION_OF_TDP * tdp_w


def host_power_from_max_w(max_power_w, accelerators_per_node, tdp_w, load_fraction=HOST_LOAD_FRACTION):
    """Non-accelerator server power in training: load_fraction x (max system power - n x TDP), never < 0."""
    return load_fraction * vmax(max_power_w - accelerators_per_node * tdp_w, 0.0)


def fat_tree_tiers(endpoints, radix=SWITCH_RADIX):
    """Tiers of a non-blocking fat tree of radix-`radix` switches for `endpoints` ports: one switch serves
    `radix` ports; t tiers serve 2 * (radix/2)^t. tiers = max(1, ceil(log(endpoints/2) / log(radix/2)))."""
    half = radix / 2.0
    return vmax(1.0, vceil(vlog(vmax(endpoints / 2.0, 1.0)) / vlog(half) - 1e-9))


def switch_ports(endpoints, radix=SWITCH_RADIX):
    """Switch ports in a non-blocking fat tree: each endpoint uses one port on a leaf, and each further tier adds
    an up-link and a down-link port: endpoints x (2 x tiers - 1). One switch (1 tier) = 1 port per endpoint."""
    return endpoints * (2.0 * fat_tree_tiers(endpoints, radix) - 1.0)


def energy_j(power_w, duration_s):
    """Energy (J) of a constant average power over a duration."""
    return power_w * duration_s


def facility_energy_j(it_energy_j, pue):
    """Facility energy: IT energy x PUE (cooling, power conversion, lighting; The Green Grid PUE definition)."""
    return it_energy_j * pue


def fleet_power_w(mfu, n_accelerators, tdp_w, idle_w, n_nodes, host_w, n_switch_ports, switch_w_per_port,
                  measured_system_w=0.0):
    """Average power of a training fleet by part: {"accelerators", "hosts", "network"} (W); sum = IT power.

    Where `measured_system_w` > 0 (a published measured average system power per chip incl. its host share,
    e.g. Patterson et al. 2021 Table 3: TPUv2 221 W, TPUv3 283 W, P100 271 W, V100 325 W; PaLM App. B: TPU v4
    378.5 W), it replaces accelerator + host power; otherwise the accelerator follows `accelerator_power_w(mfu)`
    and each node adds `host_w`. Scale-out switches add `switch_w_per_port` per switch port either way.
    """
    measured = measured_system_w > 0
    acc_w = vwhere(measured, measured_system_w, accelerator_power_w(mfu, tdp_w, idle_w))
    return {"accelerators": n_accelerators * acc_w,
            "hosts": n_nodes * vwhere(measured, 0.0, host_w),
            "network": n_switch_ports * switch_w_per_port}
