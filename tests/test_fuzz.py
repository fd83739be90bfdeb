"""Fuzzing the scenario-file loader and the CLI's argument parsing (hypothesis): arbitrary text, YAML-ish
structures built from the scenario's own vocabulary, character-level mutations of a real scenario, and random
command lines. Nothing may escape but the project's own errors (the ConfigError family), and the CLI may only
end with a documented exit code 0/2/3/4: never a traceback, never exit 1 (internal error).

Default profile "ci" keeps this file under ~20 s; HYPOTHESIS_PROFILE=thorough runs 100,000 inputs per test
(`--hypothesis-show-statistics` prints how many were tried and for how long).
"""
from __future__ import annotations

import contextlib
import json
import math
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

yaml = pytest.importorskip("yaml")
pytest.importorskip("typer")

from typer.testing import CliRunner  # noqa: E402

import mlsysim  # noqa: E402
from mlsysim.cli.main import app  # noqa: E402
from mlsysim.errors import ConfigError  # noqa: E402
from mlsysim.scenario import SECTIONS, TOP, build_scenario, from_dict, load_scenario, parse_yaml  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "examples" / "llama3_70b_research256.yaml"
PLAN = ROOT / "examples" / "llama3_70b_plan.yaml"
GOLDEN_TEXT = GOLDEN.read_text()
FUZZ_DIR = Path(tempfile.mkdtemp(prefix="mlsysim-fuzz-"))
SEEN = {"loader": 0, "structures": 0, "mutations": 0, "cli": 0}  # inputs tried in this process, by test

runner = CliRunner()
# The loader and the CLI call numpy/typer per example; hypothesis' own "too slow" health check is not the point here.
# Fuzzing is cheap per input, so the fast profile still tries a few hundred per test; "thorough" tries its 100,000.
fuzz = settings(max_examples=max(settings().max_examples, 300),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large])


@pytest.fixture(scope="module", autouse=True)
def _remove_fuzz_dir():
    yield
    shutil.rmtree(FUZZ_DIR, ignore_errors=True)


def load_and_evaluate(text: str, path: str = "fuzz.yaml"):
    """The loader's whole path: parse, validate, build, run the composed solvers. Only ConfigError may escape."""
    try:
        raw, lines = parse_yaml(text, path)
        sc = build_scenario(raw, lines, path)
        out = sc.evaluate()
        assert out.status in ("ok", "constraint_violated", "infeasible")
        for r in (out.performance, out.sustainability, out.economics):
            if r is not None:
                str(r)  # rendering a result never fails either
    except ConfigError:
        pass


# ------------------------------------------------------------------------------------------- arbitrary text
@fuzz
@given(st.text(max_size=400))
def test_arbitrary_text_never_escapes_the_loader(text):
    SEEN["loader"] += 1
    load_and_evaluate(text)


@fuzz
@given(st.binary(max_size=200))
def test_arbitrary_bytes_in_a_file_never_escape_the_loader(data):
    SEEN["loader"] += 1
    p = FUZZ_DIR / "bytes.yaml"
    p.write_bytes(data)
    try:
        load_scenario(p).evaluate()
    except ConfigError:
        pass


# ------------------------------------------------------------------------------ YAML-ish structures
def _names(reg):
    obj = mlsysim
    for part in reg.split("."):
        obj = getattr(obj, part)
    return obj.names() if hasattr(obj, "names") else obj.all_names()


NAMES = sorted({n for sec in SECTIONS.values() for f in sec.values() if f.registry for n in _names(f.registry)})
KEYS = sorted({k for sec in SECTIONS.values() for k in sec} | set(SECTIONS) | set(TOP))
ENUMS = ["bf16", "fp8", "fp16", "fp32", "int8", "none", "selective", "full", "time", "cost", "carbon"]

scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(-3, 70), st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.floats(1e-3, 1e16),
    st.sampled_from(NAMES + ENUMS), st.text(max_size=20),
    st.sampled_from(["15e12", "1_000", ".inf", "-.nan", "2001-02-30", "0x1f", "0o17", "~", "yes", "1e400"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8),
                                                                       inner, max_size=4)), max_leaves=12)


@st.composite
def scenarios(draw):
    """A mapping shaped like a scenario: mostly real sections and keys (so the fuzz reaches the solvers), with
    values that are sometimes right, sometimes junk, and now and then an unknown key or a section of the wrong
    type."""
    out = {}
    if draw(st.booleans()):
        out["workload"] = {"model": draw(st.sampled_from(mlsysim.Models.all_names()))}
    if draw(st.booleans()):
        out["system"] = {"cluster": draw(st.sampled_from(["Small_64", "Research_256", "H100_1K", "TPUv3_512"]))}
    for sec, spec in SECTIONS.items():
        if draw(st.integers(0, 3)) == 0:
            continue
        body = dict(out.get(sec) or {})
        for k in draw(st.lists(st.sampled_from(sorted(spec)), max_size=4, unique=True)):
            body[k] = draw(values)
        if draw(st.integers(0, 9)) == 0:
            body[draw(st.text(max_size=8))] = draw(scalars)
        out[sec] = body if draw(st.integers(0, 15)) else draw(values)
    for k in TOP:
        if draw(st.integers(0, 2)) == 0:
            out[k] = draw(values)
    if draw(st.integers(0, 15)) == 0:
        out[draw(st.text(max_size=10))] = draw(values)
    return out


@fuzz
@given(scenarios(), st.booleans())
def test_yamlish_structures_never_escape_the_loader(data, through_yaml):
    SEEN["structures"] += 1
    if through_yaml:
        load_and_evaluate(yaml.safe_dump(data, allow_unicode=True))
    else:
        try:
            from_dict(data).evaluate()
        except ConfigError:
            pass


# ------------------------------------------------------------------ character-level mutations of a real file
@st.composite
def mutations(draw):
    text = GOLDEN_TEXT
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        piece = draw(st.sampled_from([":", " ", "\n", "-", "[", "{", "}", "]", "&a", "*a", "!!", "#", "'", '"',
                                      "\t", "0", "9", ".", "e", "x", "\x00", "\u2028"]) | st.text(max_size=5))
        j = min(len(text), i + draw(st.integers(0, 12)))
        if op == "insert":
            text = text[:i] + piece + text[i:]
        elif op == "delete":
            text = text[:i] + text[j:]
        elif op == "replace":
            text = text[:i] + piece + text[j:]
        else:
            text = text[:j] + text[i:j] + text[j:]
    return text


@fuzz
@given(mutations())
def test_mutated_scenario_files_never_escape_the_loader(text):
    SEEN["mutations"] += 1
    load_and_evaluate(text, "golden.yaml")


# ---------------------------------------------------------------------------------------- the command line
COMMANDS = ["train", "eval", "zoo", "optimize", "schema", "validate"]
OPTIONS = ["--model", "-m", "--hardware", "-a", "--mode", "--batch-size", "-b", "--seq-len", "--precision",
           "--recompute", "--cluster", "-c", "--node", "--nodes", "--fabric", "--tp", "--pp", "--dp", "--zero",
           "--tokens", "--datacenter", "-d", "--set", "--verbose", "-v", "--json", "--objective", "-o", "--top",
           "--search", "-s", "--where", "-w", "--sort", "--help", "--version", "--format", "--bogus", "--"]
SET_KEYS = [f"{s}.{k}" for s, spec in SECTIONS.items() for k in spec] + list(TOP) + ["layout", "x.y.z", ""]
ARG_VALUES = st.one_of(
    st.sampled_from(NAMES + ENUMS + ["Llama3_8B", "H100", "Small_64", "GCP_Iowa", "training", "decode", "prefill",
                                     "hardware", "models", "Clusters", "memory_gb>=80", "year>2021", "-year",
                                     "memory_gb", "name"]),
    st.integers(-5, 300).map(str), st.sampled_from(["0", "-1", "nan", "inf", "-inf", "1e400", "1e12", "2.5", "",
                                                    " ", "=", "x=y", "1_000", "0x10"]),
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(SET_KEYS),
              st.sampled_from(["4", "0", "-2", "8.0", "[1, 2]", "{a: 1}", "null", ".nan", "2001-02-30", "!!int x",
                              "&a [*a]", "GCP_Iowa", "full", "'x'", "[", "1e400", "true", "Quebec_Hydro"])
              | st.text(max_size=8)),
    st.text(max_size=12),
)


@st.composite
def command_lines(draw):
    cmd = draw(st.sampled_from(COMMANDS + ["", "bogus"]))
    argv = [cmd] if cmd else []
    if cmd in ("train", "optimize", "eval") and draw(st.integers(0, 3)):
        which = draw(st.sampled_from(["golden", "golden", "plan", "missing", "mutated"]))
        if which == "golden":
            argv.append(str(GOLDEN))
        elif which == "plan":
            argv.append(str(PLAN))
        elif which == "missing":
            argv.append(str(FUZZ_DIR / "no-such.yaml"))
        else:
            p = FUZZ_DIR / "mutated.yaml"
            p.write_text(draw(mutations()), encoding="utf-8", errors="surrogatepass")
            argv.append(str(p))
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            argv.append(draw(st.sampled_from(OPTIONS)))
        argv.append(draw(ARG_VALUES))
    return argv


@fuzz
@given(command_lines())
def test_random_command_lines_end_with_a_documented_exit_code(argv):
    SEEN["cli"] += 1
    with contextlib.chdir(FUZZ_DIR):  # `schema -o <junk>` writes a file: into a temporary folder, never the repo
        r = runner.invoke(app, argv)
    assert r.exception is None or isinstance(r.exception, SystemExit), (argv, repr(r.exception))
    assert r.exit_code in (0, 2, 3, 4), (argv, r.exit_code, r.stderr[-2000:])
    assert "Traceback" not in r.stderr, (argv, r.stderr[-2000:])
    if "--json" in argv and "--help" not in argv and "-h" not in argv and r.exit_code in (0, 3, 4) and r.stdout:
        d = json.loads(r.stdout)  # --json output is JSON, and repeats the exit code
        assert d.get("exit_code", r.exit_code) == r.exit_code
        for v in _leaves(d):
            assert not (isinstance(v, float) and math.isnan(v)), argv


def _leaves(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _leaves(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _leaves(v)
    else:
        yield obj
