"""The package's unit registry: information (bit/byte) and computation (FLOP) are dimensions of their own.

pint's stock registry treats bit and byte as dimensionless, so 3.35 TB/s converts to 2.68e13 "FLOP/s" (x8) and a
token count in bytes becomes tokens x 8. These tests pin the conversions a user relies on and the refusals.
"""
import pytest

from mlsysim import Accelerator, ConfigError, Q
from mlsysim.units import si


@pytest.mark.parametrize("given, unit, expected", [
    ("400 Gbps", "GB/s", 50.0),  # 400e9 bit/s / 8 bit per byte = 50e9 B/s
    ("1 byte", "bit", 8.0),
    ("1 GiB", "byte", 2**30),
    ("3.35 TB/s", "byte/s", 3.35e12),
    ("989 TFLOPS", "FLOP/s", 989e12),  # datasheet spelling: TFLOPS = TFLOP per second
    ("989.5 TFLOP/s", "PFLOP/s", 0.9895),
    ("2 FLOP/byte", "FLOP/bit", 0.25),  # arithmetic intensity: 2 per 8 bits
    ("1 kWh", "J", 3.6e6),
])
def test_conversions_a_user_relies_on(given, unit, expected):
    assert Q(given).to(unit).magnitude == pytest.approx(expected)
    assert si(Q(given), unit, "x") == pytest.approx(expected)


def test_stock_pint_api_spelling_also_works():
    from mlsysim.units import ureg
    assert ureg.Quantity("400 Gbps").to("GB/s").magnitude == pytest.approx(50.0)


@pytest.mark.parametrize("given, unit, words", [
    (Q(3.35, "TB/s"), "FLOP/s", ["units of FLOP/s", "[computation] / [time]", "TB/s", "[information] / [time]"]),
    (Q(1, "TFLOP/s"), "byte/s", ["units of byte/s", "[information] / [time]", "TFLOP/s"]),
    (Q(15e12, "byte"), "", ["plain (dimensionless) number", "[information]"]),  # a token count in bytes
    (Q(30, "day*byte"), "day", ["units of day", "[time] * [information]"]),
    (Q(80, "GFLOP"), "byte", ["units of byte", "[computation]"]),
    (Q(1e15, "1/s"), "FLOP/s", ["units of FLOP/s"]),  # a bare rate is not a compute rate
])
def test_wrong_dimension_is_refused_naming_the_expected_unit(given, unit, words):
    with pytest.raises(ConfigError) as ei:
        si(given, unit, "x")
    for w in words:
        assert w in str(ei.value), (w, str(ei.value))


def test_accelerator_refuses_a_bandwidth_as_its_peak_and_a_peak_as_its_bandwidth():
    base = dict(name="c", memory_bytes=Q(80, "GB"), memory_bw=Q(3.35, "TB/s"), tdp_w=700)
    ok = Accelerator(peak_flops={"bf16": Q(989, "TFLOP/s")}, **base)
    assert ok.peak("bf16") == pytest.approx(989e12)
    with pytest.raises(ConfigError, match="FLOP/s"):
        Accelerator(peak_flops={"bf16": Q(989, "TB/s")}, **base)
    with pytest.raises(ConfigError, match="byte/s"):
        Accelerator(peak_flops={"bf16": 989e12}, **{**base, "memory_bw": Q(3.35, "TFLOP/s")})
    with pytest.raises(ConfigError, match="units of byte"):
        Accelerator(peak_flops={"bf16": 989e12}, **{**base, "memory_bytes": Q(80, "GFLOP")})


def test_q_without_unit_needs_a_string_and_says_how():
    with pytest.raises(ConfigError, match="needs a unit"):
        Q(5)
    with pytest.raises(ConfigError, match="cannot read"):
        Q("5 parsecs_per_fortnightz")


def test_result_quantities_keep_their_dimension():
    assert str(Q(989e12, "FLOP/s").to("TFLOP/s").dimensionality) == "[computation] / [time]"
    assert str(Q(80e9, "byte").to("GB").dimensionality) == "[information]"
