"""format_number, the one number formatter of the CLI tables, the HTML report, record views and sweep tables:
`digits` significant digits, thousands separators from 1,000 on (a 4-digit number printed "1855" beside
"938,040"), never an exponent between 1e-3 and 1e12."""
import pytest

from mlsysim.solvers._common import fmt_q, format_number


@pytest.mark.parametrize("v, digits, text", [
    (1855.4, 4, "1,855"),       # 4 significant digits: the tutorial's 1,855.4 t CO2e
    (1855.4, 5, "1,855.4"),
    (-1855.4, 4, "-1,855"),
    (4295.2, 4, "4,295"),
    (1000.0, 5, "1,000"),       # trailing zeros dropped, as %g drops them below 1,000
    (9999.7, 4, "10,000"),      # rounds up into the next decade with the separator
    (9999.7, 5, "9,999.7"),
    (999.96, 4, "1,000"),       # %.4g would print 1000
    (999.94, 3, "1,000"),       # %.3g would print 1e+03
    (999.94, 4, "999.9"),
    (938040.0, 4, "938,040"),   # every integer digit from 10^digits on
    (12345.6, 6, "12,345.6"),
    (123.456, 4, "123.5"),
    (5e-4, 4, "0.0005"),        # tiny: 3 significant digits in %g
    (2e12, 4, "2e+12"),
    (1855, 4, "1,855"),         # an int: every digit
])
def test_format_number(v, digits, text):
    assert format_number(v, digits) == text


def test_quantities_use_it():
    from mlsysim.units import Q
    assert fmt_q(Q(4295.2, "MWh")) == "4,295 MWh"
