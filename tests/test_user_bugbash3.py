"""A careful user's third bug-bash: training API, module 1/2/4 entry points, explorer on training.

Each test asserts a number or behaviour derived by hand (shown in the comment), not the code's own output."""
import pytest

from mlsysim import Hardware, Models
from mlsysim.solvers import InferenceScalingModel


def test_reasoning_wall_carries_the_serving_runs_feasible_mark():
    # Llama 3 70B in bf16: 70.55e9 params x 2 B = 141 GB of weights > an H100's 80 GiB = 85.9 GB, so the query
    # cannot run on one H100 (it read 0.60 s and 254 J with no mark).
    big = InferenceScalingModel().solve(model=Models.Language.Llama3_70B, hardware=Hardware.Cloud.H100,
                                        reasoning_steps=10)
    assert big.feasible is False
    assert "NO" in str(big)
    # Llama 3 8B: 16.06 GB of weights + KV of 522 tokens x 32 layers x 2 (K, V) x 8 heads x 128 x 2 B = 68 MB
    # + 2.5 GB workspace = 18.6 GB < 85.9 GB: fits.
    small = InferenceScalingModel().solve(model=Models.Language.Llama3_8B, hardware=Hardware.Cloud.H100,
                                          reasoning_steps=10)
    assert small.feasible is True
    # 5 queries of 512 + 120,000 tokens (within the 131,072-token context): KV = 5 x 120,512 x 32 x 2 x 8 x 128 x
    # 2 B = 79.0 GB, + 16.06 GB of weights > 85.9 GB: the chains of thought do not fit. (1e6 hidden tokens are
    # past the model's context: refused, tests/test_user_bugbash6.py.)
    long = InferenceScalingModel().solve(model=Models.Language.Llama3_8B, hardware=Hardware.Cloud.H100,
                                         reasoning_steps=120_000, batch_size=5)
    assert long.feasible is False


def test_unknown_objective_suggests_the_named_objectives():
    # A user asking for "time" means time_to_train (or step_time); the message offered step_time, optimizer_s,
    # optimizer_gb, and for "latency" it offered "water". The named objectives come first and are always listed.
    from mlsysim import Systems, explore
    from mlsysim.errors import UnknownNameError
    axes = dict(fleets=Systems.Clusters.Research_256, tp=[8], pp=[4])
    with pytest.raises(UnknownNameError) as e:
        explore.optimize(Models.Language.Llama3_70B, objective="time", **axes)
    hint = str(e.value).split("?")[0]
    assert "time_to_train" in hint and "optimizer" not in hint
    with pytest.raises(UnknownNameError) as e:
        explore.optimize(Models.Language.Llama3_70B, objective="latency", **axes)
    assert "did you mean" not in str(e.value) and "objectives: time_to_train, step_time, cost" in str(e.value)


def test_optimize_runners_up_title_is_one_line_when_few_columns_differ():
    # Under a time objective on the plan example only the region differs among the top 3 (the same layout in
    # Quebec and Poland), so the table is ~31 characters wide; its 32-character title wrapped inside it as
    # "Runners-up (columns that" / "differ)" (an ordinary user's terminal, 80 columns).
    pytest.importorskip("typer")
    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    r = CliRunner().invoke(app, ["optimize", "examples/llama3_70b_plan.yaml", "--objective", "time", "--top", "3"],
                           env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.stdout
    assert "Runners-up (columns that differ)" in r.stdout.splitlines()


def test_fleet_sensitivity_refuses_single_chip_options_and_honours_seq_len():
    from mlsysim import Systems
    from mlsysim.errors import ConfigError
    from mlsysim.solvers import SensitivitySolver
    S, L70, R256 = SensitivitySolver(), Models.Language.Llama3_70B, Systems.Clusters.Research_256
    # mode='decode' on a fleet returned the training run's days as if they were a decode latency
    with pytest.raises(ConfigError, match="training time"):
        S.solve(model=L70, hardware=R256, mode="decode", tp_size=8, pp_size=4)
    with pytest.raises(ConfigError, match="global_batch_size"):
        S.solve(model=L70, hardware=R256, batch_size=64, tp_size=8, pp_size=4)
    # seq_len was dropped on a fleet. Halving it cuts the attention FLOPs per token, 6 L h s:
    # (6N + 6*80*8192*4096) / (6N + 6*80*8192*8192) with 6N = 6 x 70.55e9 = 423.3e9: 439.4 / 455.5 = 0.965
    full = S.solve(model=L70, hardware=R256, tp_size=8, pp_size=4)
    half = S.solve(model=L70, hardware=R256, tp_size=8, pp_size=4, seq_len=4096, mode="training")
    assert half.latency_s / full.latency_s == pytest.approx(0.965, abs=0.01)


def test_synthesis_takes_one_chip_and_refuses_a_fleet():
    from mlsysim import Systems
    from mlsysim.core.constants import Q_
    from mlsysim.errors import ConfigError
    from mlsysim.solvers import SynthesisSolver
    L8 = Models.Language.Llama3_8B
    # hardware=Hardware.Cloud.H100 was a TypeError ('Accelerator' object is not iterable). A decode step reads
    # 16.06 GB of weights at 3.35 TB/s: >= 4.8 ms, well within 30 ms: the pool of one is the answer.
    one = SynthesisSolver().solve(model=L8, target_latency=Q_("30 ms"), hardware=Hardware.Cloud.H100)
    assert [c["hardware"] for c in one.candidates] == ["H100"]
    assert one.candidates[0]["latency_s"] >= 16.06e9 / 3.35e12
    with pytest.raises(ConfigError, match="list of accelerators"):
        SynthesisSolver().solve(model=L8, target_latency=Q_("30 ms"), hardware=Systems.Clusters.Research_256)
    with pytest.raises(ConfigError, match="list of accelerators"):
        SynthesisSolver().solve(model=L8, target_latency=Q_("30 ms"), hardware=[])


def test_one_chip_solvers_name_the_chip_of_a_node_or_fleet():
    # SingleNodeModel / Engine / DataModel given a DGX H100 node said only "must be an Accelerator"; the way out
    # is the node's chip (an H100) or a multi-device solver.
    from mlsysim import SingleNodeModel, Systems
    from mlsysim.engine.engine import Engine
    from mlsysim.errors import ConfigError
    from mlsysim.solvers.data import DataModel
    with pytest.raises(ConfigError, match=r"\.accelerator \(H100\)"):
        SingleNodeModel().solve("Llama3_8B", Systems.Nodes.DGX_H100, mode="decode")
    with pytest.raises(ConfigError, match=r"\.node\.accelerator \(H100\)"):
        Engine.solve("Llama3_8B", Systems.Clusters.Research_256)
    # (bug bash 4: the data wall takes the node itself, its chip and its NICs: test_user_bugbash4.py)
    assert DataModel().solve(6e9, Systems.Nodes.MI300X_8).accelerator == Systems.Nodes.MI300X_8.accelerator.name
    # the chip it names works: a decode step of Llama 3 8B reads >= 16.06 GB at 3.35 TB/s = 4.8 ms
    assert Engine.solve("Llama3_8B", Systems.Nodes.DGX_H100.accelerator).latency_s >= 16.06e9 / 3.35e12


def test_scaling_law_says_when_its_workload_is_far_from_the_optimal_size():
    from mlsysim.solvers import ScalingLawModel
    # C = 1e10 FLOP at 20 tokens/param: N = sqrt(1e10 / 120) = 9,129 params. The smallest decoder the shape rules
    # build (1 layer, d_model 128, 32,000-token vocabulary) has 2 x 32,000 x 128 = 8.2M embedding params alone:
    # the workload is ~900x the optimum, which the result said nowhere.
    tiny = ScalingLawModel().solve(compute_budget=1e10)
    assert tiny.params == pytest.approx((1e10 / 120) ** 0.5, rel=1e-6)
    assert tiny.workload.params > 2 * 32000 * 128
    assert "workload size" in tiny.assumptions and "workload size" in str(tiny)
    # Gopher's 5.76e23: N = sqrt(5.76e23 / 120) = 69.3B, and a 68-layer d_model 9216 decoder is within 1 %
    assert "workload size" not in ScalingLawModel().solve(compute_budget=5.76e23).assumptions


def test_optimize_emit_keeps_the_objective_it_was_found_for(tmp_path):
    # examples/llama3_70b_plan.yaml says search.objective: cost; `--objective carbon --emit` wrote a plan whose
    # header said "best carbon plan" but whose search section still said cost (re-optimising it changed goal).
    pytest.importorskip("typer")
    import yaml
    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    out = tmp_path / "best.yaml"
    r = CliRunner().invoke(app, ["optimize", "examples/llama3_70b_plan.yaml", "--objective", "carbon",
                                 "--emit", str(out)])
    assert r.exit_code == 0, r.stdout
    emitted = yaml.safe_load(out.read_text())
    assert emitted["search"]["objective"] == "carbon"
    # the carbon-best plan is in Quebec (hydro, 20 g/kWh vs Iowa ~400 and Poland ~800 in the search)
    assert emitted["datacenter"]["name"] == "Quebec_Hydro"


def test_expert_size_on_a_dense_model_is_refused():
    # expert_ffn_hidden=512 on a dense model (n_experts=1) was accepted and ignored: the params stayed those of
    # the 4096-wide FFN, 8 x (4 x 1024^2 + 2 x 1024 x 4096) + 2 x 32000 x 1024 = 166.2M, as if it were not given.
    from mlsysim import TransformerWorkload
    from mlsysim.errors import ConfigError
    base = dict(n_layers=8, hidden=1024, n_heads=8, ffn_hidden=4096, vocab=32000)
    assert TransformerWorkload("d", **base).params == pytest.approx(
        8 * (4 * 1024 ** 2 + 2 * 1024 * 4096) + 2 * 32000 * 1024, rel=1e-3)
    with pytest.raises(ConfigError, match="expert_ffn_hidden=512 but n_experts=1"):
        TransformerWorkload("d", expert_ffn_hidden=512, **base)
    # the same field on an MoE model counts: 8 layers x 8 experts x 2 x 1024 x 512 expert weights + router
    moe = TransformerWorkload("m", n_experts=8, experts_per_token=2, expert_ffn_hidden=512, **base)
    assert moe.params == pytest.approx(8 * (4 * 1024 ** 2 + 8 * 2 * 1024 * 512 + 1024 * 8) + 2 * 32000 * 1024,
                                       rel=1e-3)


def test_goodput_never_finishing_advice_fits_the_interval():
    # Research_256 at 1e6 x the default failure rates: an interruption every 136.5 h / 1e6 = 0.5 s against a
    # 10-min restart: no run finishes. The interval was already Daly's optimum, yet the message said
    # "checkpoint more often"; with a given 1000-day interval that advice is right.
    from mlsysim import DistributedModel, Systems
    from mlsysim.core.constants import Q_
    from mlsysim.errors import ConfigError
    from mlsysim.solvers.goodput import GoodputModel
    perf = DistributedModel().solve(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp_size=8, pp_size=4)
    with pytest.raises(ConfigError) as e:
        GoodputModel().solve(performance=perf, failure_rate_scale=1e6)
    assert "checkpoint more often" not in str(e.value) and "already the Daly 2006 optimum" in str(e.value)
    with pytest.raises(ConfigError, match="checkpoint more often"):
        GoodputModel().solve(performance=perf, checkpoint_interval=Q_("1000 day"))


def test_explore_told_a_grid_names_the_datacenter_on_it():
    # best_region(..., ["GCP_Iowa", "Quebec"]): "Quebec" is the hydro grid (20 g/kWh), not a site; the explorer
    # said only "must be Datacenter records"; the solvers' resolver names Quebec_Hydro, the registry site on it.
    from mlsysim import explore
    from mlsysim.errors import ConfigError
    with pytest.raises(ConfigError, match="datacenters on it: Quebec_Hydro"):
        explore.best_region("Llama3_70B", "Research_256", ["GCP_Iowa", "Quebec"], tp=[8], pp=[4])


# Llama 3 70B by hand: h = 8192, 8 KV heads of 128, FFN 28672 (SwiGLU), vocab 128256, 80 layers.
_LAYER = 8192 * (8192 + 2 * 8 * 128) + 8192 * 8192 + 3 * 8192 * 28672    # attention + MLP = 855.6M params
_EMBED = 128256 * 8192                                                       # 1.0507B (untied)


def test_zero_stage_bytes_per_device_by_hand():
    # tp=8 pp=4 dp=8 on Research_256: the first stage holds 20 layers and the embedding, split 8 ways by TP:
    # (20 x 855.6M + 1.0507B) / 8 = 2.2705B params (norms add < 0.01 %).
    from mlsysim import DistributedModel, Systems
    p_dev = (20 * _LAYER + _EMBED) / 8
    gb = {z: {k: v.to("GB").magnitude for k, v in DistributedModel().solve(
        Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp_size=8, pp_size=4,
        zero_stage=z).memory_per_device.items()} for z in (0, 1, 3)}
    assert gb[0]["weights"] == pytest.approx(2 * p_dev / 1e9, rel=1e-3)          # bf16: 4.54 GB
    assert gb[0]["optimizer"] == pytest.approx(12 * p_dev / 1e9, rel=1e-3)       # fp32 master + m + v: 27.2 GB
    assert gb[1]["optimizer"] == pytest.approx(12 * p_dev / 8 / 1e9, rel=1e-3)   # ZeRO-1 over dp=8: 3.41 GB
    # ZeRO-3: the weights shard over dp=8, plus the gathered unit and the prefetched one (the largest unit is
    # the embedding shard, 1.0507B / 8 = 131.3M > one layer's 855.6M / 8 = 107M): 0.568 + 2 x 2 x 0.1313 GB
    assert gb[3]["weights"] == pytest.approx((2 * p_dev / 8 + 2 * 2 * _EMBED / 8) / 1e9, rel=1e-3)


def test_tp_collectives_follow_the_alpha_beta_formula():
    # Sequence-parallel TP on 8 GPUs at 360 GB/s/dir achieved (H100 NVLink 450 x 0.8): per layer and
    # micro-batch, forward 2 all-gathers + 2 reduce-scatters and backward the same = 8 collectives of the
    # s x h bf16 activation, 8192 x 8192 x 2 B = 134.2 MB, each 7/8 x 134.2 MB / 360 GB/s + ceil(log2 8) x 3 us
    # = 335 us. The first stage: 20 layers x 244 micro-batches (1952 sequences / dp 8) -> 13.1 s per step.
    from mlsysim import DistributedModel, Systems
    p = DistributedModel().solve(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp_size=8, pp_size=4)
    assert p.layout["global_batch_size"] == 1952 and p.layout["microbatches"] == 244
    one = 7 / 8 * 8192 * 8192 * 2 / 360e9 + 3 * 3e-6
    assert p.breakdown_s["tp_comm"] == pytest.approx(8 * one * 20 * 244, rel=0.05)


def test_unpriced_chip_cost_message_names_the_chip_once_and_the_fix():
    # smallest_fleet(minimize="cost") of a Gaudi 3 node (no price in the registry) listed all 12 fleet sizes
    # ("1x MyNode on MyFab, 2x ..., 64x ...") and no way to give a price; with one it runs.
    from dataclasses import replace

    from mlsysim import explore
    from mlsysim.errors import ConfigError
    from mlsysim.systems.system import Fabric, Node
    fab = Fabric(name="MyFab", port_bw=50e9, latency_s=5e-6)
    node = Node(name="MyNode", accelerator=Hardware.Cloud.Gaudi3, accelerators_per_node=8, scaleup_bw=525e9,
                nic_bw=600e9)
    kw = dict(deadline_days=30, minimize="cost", datacenters=["GCP_Iowa"], tp=[1, 2], pp=[1], max_nodes=64)
    with pytest.raises(ConfigError) as e:
        explore.smallest_fleet(Models.Language.Llama3_8B, node, fab, **kw)
    msg = str(e.value)
    assert msg.count("Gaudi 3") == 1 and "and 9 more" in msg and "price_usd" in msg
    priced = replace(node, accelerator=replace(Hardware.Cloud.Gaudi3, price_usd=15000.0))
    assert explore.smallest_fleet(Models.Language.Llama3_8B, priced, fab, **kw).best["cost_usd"] > 0


def test_training_on_a_node_says_how_to_make_a_fleet_of_one():
    # DistributedModel().solve(model, Systems.Nodes.DGX_H100) ("train on one DGX") said only "must be a Fleet";
    # the Fleet it suggests runs: Llama 3 8B at tp=8 (dp=1) holds 8.03e9 / 8 = 1.0e9 params per device x
    # (2 B weights + 4 B fp32 grads + 12 B Adam state) = 18 GB, plus activations, < 85.9 GB.
    from mlsysim import DistributedModel, Fleet, Systems
    from mlsysim.errors import ConfigError
    with pytest.raises(ConfigError, match=r"Fleet\(node=Systems\.Nodes\.DGX_H100, count=1"):
        DistributedModel().solve("Llama3_8B", Systems.Nodes.DGX_H100, tp_size=8)
    one = Fleet(node=Systems.Nodes.DGX_H100, count=1, fabric=Systems.Fabrics.InfiniBand_NDR)
    assert DistributedModel().solve("Llama3_8B", one, tp_size=8).feasible


def test_regions_lists_a_repeated_grid_once():
    # `mlsysim regions FILE --grid Quebec --grid Quebec,Poland` printed Quebec twice (and "1x dirtiest/cleanest"
    # when only Quebec was named twice). Two distinct grids: Poland 820 / Quebec 20 g/kWh = 41x.
    pytest.importorskip("typer")
    import json

    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    r = CliRunner().invoke(app, ["regions", "examples/llama3_70b_research256.yaml", "--grid", "Quebec",
                                 "--grid", "Quebec,Poland", "--json"])
    d = json.loads(r.stdout)
    assert [x["region"] for x in d["regions"]] == ["Quebec", "Poland"]
    assert d["ratio_dirtiest_to_cleanest"] == pytest.approx(820 / 20, rel=1e-6)


def test_fp16_only_chips_run_the_reasoning_wall_and_fleet_sensitivity():
    # Both solvers turned fp16 into bf16 ("same peak on every chip"), so a V100 (fp16 and fp32 only) was refused
    # even when fp16 was asked for. A V100 decode step reads 16.06 GB of Llama 3 8B weights at 0.9 TB/s: 17.8 ms,
    # so 8 hidden tokens take >= 0.143 s.
    from mlsysim import Systems
    from mlsysim.solvers import SensitivitySolver
    v100 = Hardware.Cloud.V100
    assert "bf16" not in v100.peak_flops and v100.memory_bw == pytest.approx(0.9e12, rel=0.01)
    q = InferenceScalingModel().solve(model=Models.Language.Llama3_8B, hardware=v100, precision="fp16",
                                      reasoning_steps=8)
    assert q.total_reasoning_time.to("s").magnitude >= 8 * 16.06e9 / 0.9e12
    s = SensitivitySolver().solve(model=Models.Language.GPT3_175B, hardware=Systems.Clusters.GPT3_V100_10K,
                                  tp_size=8, pp_size=2, tokens=3e11)
    assert s.baseline.layout["precision"] == "fp16"
    # GPT-3's 175B params / (tp 8 x pp 2) = 10.9B per device x at least 2 B weights + 2 B gradients = 43.8 GB
    # (ZeRO-1 shards only the optimizer state) > a V100's 32 GB: the run does not fit, and says so
    assert s.feasible is False


def test_explore_takes_the_scenario_constraint_max_gpus():
    # A scenario's `constraints: max_gpus: 1024` was "unknown constraint 'max_gpus'" in explore.optimize.
    # Fleets of 32 and 128 DGX H100 = 256 and 1,024 GPUs: max_gpus=512 leaves only the 256-GPU fleet.
    from mlsysim import Systems, explore
    o = explore.optimize(Models.Language.Llama3_70B, "time_to_train", {"max_gpus": 512},
                         fleets=[Systems.Clusters.Research_256, Systems.Clusters.H100_1K], tp=[8], pp=[4])
    assert o.best["accelerators"] == 32 * 8


def test_zero_stages_on_one_data_parallel_rank_hold_what_zero_0_holds():
    # dp = 1: ZeRO has nothing to shard, so stages 1-3 keep exactly ZeRO-0's bytes (no gather or bucket buffers:
    # before, ZeRO-3 added 2 layers' weights and a layer's gradients); and sequence parallelism is off at TP 1
    from mlsysim import DistributedModel, Models, Systems
    from mlsysim.systems.system import Fleet
    f = Fleet(node=Systems.Nodes.DGX_H100, count=1, fabric=Systems.Fabrics.InfiniBand_NDR)
    mem = [DistributedModel().solve(Models.Language.Llama3_8B, f, tp_size=8, dp_size=1, zero_stage=z,
                                    tokens=1e9).memory_bytes for z in (0, 1, 2, 3)]
    assert all(m == mem[0] for m in mem[1:])
    # Llama 3 8B's 8.03e9 parameters over TP 8 in bf16: ~2.0 GB of weights per GPU
    assert mem[0]["weights"] == pytest.approx(8.03e9 / 8 * 2, rel=0.01)
    r = DistributedModel().solve(Models.Language.Llama3_8B, f, tp_size=1, dp_size=8, sequence_parallel=True,
                                 tokens=1e9)
    assert r.layout["sequence_parallel"] is False
