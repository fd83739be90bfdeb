"""Compute-optimal scaling (Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", arXiv:2203.15556).
Plain floats: parameters N, training tokens D, training compute C in FLOP (C ~ 6 N D)."""
from __future__ import annotations

import math

# Training FLOPs per parameter per token: forward 2 + backward 4 (Kaplan et al. 2020 arXiv:2001.08361 Sec 2.1;
# Hoffmann et al. 2022 use C ~ 6ND throughout).
FLOPS_PER_PARAM_TOKEN = 6.0
# Compute-optimal tokens per parameter: Hoffmann et al. 2022 approaches 1 and 2 (Table 3: 67B / 1.5T and 63B /
# 1.4T at Gopher's 5.76e23 FLOPs) and their Chinchilla model, 70B parameters on 1.4T tokens: ~20.
CHINCHILLA_TOKENS_PER_PARAM = 20.0
# Approach 3's fitted loss L(N, D) = E + A / N^alpha + B / D^beta (Hoffmann et al. 2022 Sec 3.3, eq. 10):
# E = 1.69, A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28 (nats per token on MassiveText).
E, A, B, ALPHA, BETA = 1.69, 406.4, 410.7, 0.34, 0.28


def optimal_by_ratio(compute, tokens_per_param=CHINCHILLA_TOKENS_PER_PARAM):
    """(N, D) with D = r N and C = 6 N D: N = sqrt(C / (6 r))."""
    n = math.sqrt(compute / (FLOPS_PER_PARAM_TOKEN * tokens_per_param))
    return n, tokens_per_param * n


def optimal_by_fit(compute):
    """(N, D) minimising the fitted L(N, D) under C = 6 N D (Hoffmann et al. 2022 eq. 4 with eq. 10's fit):
    N = G (C/6)^(beta/(alpha+beta)), G = (alpha A / (beta B))^(1/(alpha+beta)), D = (C/6) / N."""
    g = (ALPHA * A / (BETA * B)) ** (1.0 / (ALPHA + BETA))
    n = g * (compute / FLOPS_PER_PARAM_TOKEN) ** (BETA / (ALPHA + BETA))
    return n, compute / FLOPS_PER_PARAM_TOKEN / n


def fitted_loss(n, d):
    """Predicted final training loss (nats/token) of N parameters trained on D tokens."""
    return E + A / n**ALPHA + B / d**BETA


def training_compute(n, d):
    return FLOPS_PER_PARAM_TOKEN * n * d
