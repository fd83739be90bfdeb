"""A stack without an fp8 recipe (fp8_cast_passes = 0 in data/stacks.toml: Megatron-LM 2021, Megatron-DeepSpeed
2022, DeepSpeed ZeRO-3 as profiled, Meta 2023, JAX/GSPMD 2022) refuses precision="fp8" with a ConfigError naming
the stacks that have one, alike in the solver, the explorer, a scenario file, the CLI and the web calculator."""
import pytest

from mlsysim import DistributedModel, Models, Systems
from mlsysim.errors import ConfigError
from mlsysim.stacks import fp8_stacks

# read off data/stacks.toml by hand: the entries whose fp8_cast_passes is 1.5 or 3.0 (the others have 0.0)
WITH_FP8 = ["megatron_core_2024", "meta_llama3_2024", "pytorch_fsdp2_eager", "pytorch_fsdp2_compiled",
            "deepseek_v3_2024"]
WITHOUT_FP8 = ["megatron_lm_2021", "megatron_deepspeed_2022", "deepspeed_zero3", "meta_llama_2023",
               "jax_gspmd_2022"]


def _solve(stack, precision):
    return DistributedModel().solve(Models.Language.Llama3_8B, Systems.Clusters.Small_64, tp_size=2, pp_size=1,
                                    dp_size=32, precision=precision, stack=stack)


def _names_all(msg):
    """The message ends with the list of the stacks that train in fp8, exactly WITH_FP8."""
    return msg.rsplit("trains in fp8:", 1)[1].split() == [k + "," for k in WITH_FP8[:-1]] + WITH_FP8[-1:]


def test_the_fp8_stacks_are_those_with_a_cast_recipe():
    assert fp8_stacks() == WITH_FP8


@pytest.mark.parametrize("stack", WITHOUT_FP8)
def test_solver_refuses_fp8_on_a_stack_without_a_recipe_and_names_those_with_one(stack):
    with pytest.raises(ConfigError) as e:
        _solve(stack, "fp8")
    msg = str(e.value)
    assert stack in msg and "bf16" in msg and _names_all(msg)
    assert _solve(stack, "bf16").step_s > 0  # the same stack in bf16 runs


def test_fp8_stacks_still_run_fp8():
    for stack in WITH_FP8:
        assert _solve(stack, "fp8").step_s < _solve(stack, "bf16").step_s  # H100: fp8 peak 2x the bf16 one


def test_explorer_refuses_instead_of_marking_the_fp8_plans_unsupported():
    # a mixed list would otherwise keep the bf16 plans and file the fp8 ones under "precision not supported by
    # the accelerator", which is false: the H100 has fp8
    from mlsysim.explore import sweep
    with pytest.raises(ConfigError, match="megatron_lm_2021.*no fp8 recipe") as e:
        sweep(Models.Language.Llama3_8B, Systems.Clusters.Small_64, tp=[1, 2], pp=[1], zero=[1],
              precision=["bf16", "fp8"], stack="megatron_lm_2021")
    assert _names_all(str(e.value))


def test_scenario_cli_and_web_give_the_same_message():
    pytest.importorskip("yaml")
    pytest.importorskip("typer")
    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    from mlsysim.scenario import from_dict
    from mlsysim.web.compute import train
    raw = {"name": "t", "workload": {"model": "Llama3_8B"}, "system": {"cluster": "Small_64"},
           "layout": {"tp_size": 2, "pp_size": 1, "dp_size": 32, "precision": "fp8", "stack": "jax_gspmd_2022"}}
    with pytest.raises(ConfigError, match="jax_gspmd_2022.*no fp8 recipe"):
        from_dict(raw, path="t").evaluate()
    with pytest.raises(ConfigError, match="jax_gspmd_2022.*no fp8 recipe"):
        train({"model": "Llama3_8B", "cluster": "Small_64", "tp_size": 2, "pp_size": 1, "dp_size": 32,
               "precision": "fp8", "stack": "jax_gspmd_2022"})
    r = CliRunner().invoke(app, ["train", "-m", "Llama3_8B", "-c", "Small_64", "--tp", "2", "--pp", "1", "--dp",
                                 "32", "--precision", "fp8", "--set", "layout.stack=jax_gspmd_2022"])
    assert r.exit_code == 2  # bad input
    assert "no fp8 recipe" in r.stderr and _names_all(r.stderr)
