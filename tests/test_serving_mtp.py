"""Multi-token prediction as the drafter of speculative decoding (ServingModel(mtp_depth=)), against hand
calculations and DeepSeek-V3's published figures."""
import pytest

from mlsysim import Hardware, Models
from mlsysim.errors import ConfigError
from mlsysim.solvers.serving import ServingModel

DSV3, L70, L8 = Models.Language.DeepSeek_V3, Models.Language.Llama3_70B, Models.Language.Llama3_8B


def test_one_mtp_module_on_a_weight_streaming_dense_model():
    # batch 1, bf16, TP1 on an H200 (Llama 3 70B fits in 141 GB): every pass streams its weights. A step reads
    # all 70.55e9 parameters; verifying 2 tokens reads the same weights and each sequence's KV once; one drafted
    # token reads one layer (70.55e9 less embedding and head, / 80 = ~0.855e9), the 2h x h projection
    # (2 x 8192^2 = 0.134e9) and the shared head (8192 x 128256 = 1.051e9): ~2.04e9. At acceptance 0.8 a step
    # yields 1.8 tokens, so the speedup is ~1.8 x 70.55 / (70.55 + 2.04) = 1.749
    layer = (70.55e9 - 2 * 8192 * 128256) / 80
    hand = 1.8 * 70.55e9 / (70.55e9 + layer + 2 * 8192 ** 2 + 8192 * 128256)
    r = ServingModel().solve(L70, Hardware.Cloud.H200, batch_size=1, input_len=1000, output_len=200,
                             precision="bf16", mtp_depth=1, draft_acceptance_rate=0.8)
    assert hand == pytest.approx(1.749, abs=0.002)
    assert r.speculative_speedup == pytest.approx(hand, rel=0.03)
    assert "MTP" in r.assumptions["speculative decoding"]


def test_deepseek_v3_mtp_speedup_near_published():
    # DeepSeek-V3 report (arXiv:2412.19437) Sec 5.4.3: the second token's acceptance is 85-90 %, giving 1.8x the
    # tokens per second. The deployment's batch and layout are not stated; at 64-256 sequences on 8 H200 (fp8,
    # TP8) the verification step is still mostly weight-streaming, and the prediction is within 15 % of 1.8x
    for b in (64, 256):
        for a in (0.85, 0.90):
            r = ServingModel().solve(DSV3, Hardware.Cloud.H200, tp_size=8, precision="fp8", batch_size=b,
                                     input_len=1000, output_len=500, mtp_depth=1, draft_acceptance_rate=a)
            assert r.speculative_speedup == pytest.approx(1.8, rel=0.15)
            assert r.speculative_speedup < 1.0 + a  # the draft and verification are not free


def test_mtp_module_weights_are_held():
    # HF's DeepSeek-V3 checkpoint is 685B = 671B + a 14B MTP module, which stores its own copy of the embedding
    # and the head (2 x 129,280 x 7,168 = 1.85e9); the module proper (an MoE block + projection) is ~12.1e9,
    # 1 B each in fp8 over 8 GPUs (TP8): ~1.52 GB more weights per GPU
    kw = dict(tp_size=8, precision="fp8", batch_size=16, input_len=1000, output_len=500)
    base = ServingModel().solve(DSV3, Hardware.Cloud.H200, **kw)
    mtp = ServingModel().solve(DSV3, Hardware.Cloud.H200, mtp_depth=1, draft_acceptance_rate=0.85, **kw)
    extra = mtp.memory_bytes["weights"] - base.memory_bytes["weights"]
    assert extra == pytest.approx((14e9 - 2 * 129_280 * 7_168) / 8, rel=0.06)


def test_mtp_bad_input():
    h = Hardware.Cloud.H100
    with pytest.raises(ConfigError, match="not both"):
        ServingModel().solve(L70, h, tp_size=4, mtp_depth=1, draft_model=L8, draft_acceptance_rate=0.8)
    with pytest.raises(ConfigError, match="draft_acceptance_rate"):
        ServingModel().solve(L70, h, tp_size=4, mtp_depth=1)
    with pytest.raises(ConfigError):
        ServingModel().solve(L70, h, tp_size=4, mtp_depth=0, draft_acceptance_rate=0.8)
    with pytest.raises(ConfigError, match=r"\[0, 1\)"):
        ServingModel().solve(L70, h, tp_size=4, mtp_depth=2, draft_acceptance_rate=1.0)


def test_cli_drafts_and_plan_traffic():
    import json

    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    run = CliRunner().invoke
    out = run(app, ["serve", "--model", "Llama3_70B", "--hardware", "H200", "-b", "1", "--input-len", "1000",
                    "--output-len", "200", "--precision", "bf16", "--mtp-depth", "1", "--acceptance", "0.8",
                    "--json"])
    assert out.exit_code == 0, out.output
    # the hand figure of test_one_mtp_module_on_a_weight_streaming_dense_model: ~1.749x
    assert json.loads(out.output)["result"]["speculative_speedup"] == pytest.approx(1.749, rel=0.03)
    bad = run(app, ["serve", "--model", "Llama3_70B", "--hardware", "H100", "--tp", "4", "--qps", "3",
                    "--mtp-depth", "1", "--acceptance", "0.8"])
    assert bad.exit_code == 2 and "one replica" in bad.output
    plan = ["serve-plan", "--model", "Llama3_70B", "--qps", "40", "--input-len", "2000", "--output-len", "200",
            "--ttft-slo-ms", "150", "-a", "H100", "--precision", "fp8", "--json"]
    pois, burst = (json.loads(run(app, plan + extra).output)["best"] for extra in ([], ["--arrival-cv", "2"]))
    # Kingman: CV-2 arrivals wait (4 + cs^2) / (1 + cs^2) times longer at the same load: at least as many GPUs
    assert burst["gpus"] >= pois["gpus"] and burst["qps_per_replica"] < pois["qps_per_replica"]
