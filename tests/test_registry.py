"""The four registries: every entry builds, cites a source, and the values the tutorial relies on hold."""
import pytest

from mlsysim.errors import UnknownNameError
from mlsysim.hardware.accelerator import Accelerator
from mlsysim.hardware.registry import Hardware
from mlsysim.infrastructure.registry import Infrastructure
from mlsysim.infrastructure.site import Datacenter, Grid
from mlsysim.models.registry import Models
from mlsysim.models.workload import TransformerWorkload
from mlsysim.registry import load_data
from mlsysim.systems.registry import Systems
from mlsysim.systems.system import Fabric, Fleet, Node

REGISTRIES = {"hardware.toml": Hardware, "models.toml": Models, "systems.toml": Systems,
              "infrastructure.toml": Infrastructure}
TYPES = {("Hardware", None): Accelerator, ("Models", None): TransformerWorkload, ("Systems", "Nodes"): Node,
         ("Systems", "Fabrics"): Fabric, ("Systems", "Clusters"): Fleet, ("Infrastructure", "Grids"): Grid,
         ("Infrastructure", "Datacenters"): Datacenter}


def _entries():
    for fname, reg in REGISTRIES.items():
        for cat in reg.categories():
            for key in getattr(reg, cat).names():
                yield fname, reg, cat, key


ENTRIES = list(_entries())


@pytest.mark.parametrize("fname,reg,cat,key", ENTRIES, ids=[f"{r._label}.{c}.{k}" for _, r, c, k in ENTRIES])
def test_every_entry_builds_and_cites_a_source(fname, reg, cat, key):
    obj = getattr(reg, cat)[key]
    expected = TYPES.get((reg._label, cat)) or TYPES[(reg._label, None)]
    assert isinstance(obj, expected)
    assert obj.key == key
    assert isinstance(obj.source, str) and obj.source.strip(), f"{reg._label}.{cat}.{key} has no source"
    assert obj.name.strip()


def test_registries_are_not_empty_and_keys_are_unique_across_categories():
    # Flat access (Hardware.get("H100"), Infrastructure.get("GCP_Iowa")) needs unique keys within a file.
    for fname in REGISTRIES:
        keys = [k for cat in load_data(fname).values() for k in cat]
        assert keys and len(keys) == len(set(keys)), fname


def test_minimum_content_present():
    for k in ("V100", "A100_40GB", "A100_80GB", "H100", "H100_PCIe", "H200", "B200", "MI300X", "TPUv4", "TPUv5p",
              "TPUv3", "TPUv2", "P100"):
        assert k in Hardware.Cloud
    for k in ("GPT3_175B", "Llama2_7B", "Llama2_13B", "Llama2_70B", "Llama3_8B", "Llama3_70B", "Llama3_405B",
              "OPT_175B", "BLOOM_176B", "PaLM_540B", "Mixtral_8x7B", "DeepSeek_V3"):
        assert k in Models.Language
    for k in ("DGX_A100", "DGX_H100", "DGX_B200", "HGX_H200", "MI300X_8"):
        assert k in Systems.Nodes
    for k in ("InfiniBand_HDR", "InfiniBand_NDR", "InfiniBand_XDR", "RoCE_400G", "Ethernet_100G"):
        assert k in Systems.Fabrics
    sizes = {f.total_accelerators for f in Systems.Clusters}
    assert {64, 256, 1024, 8192, 16384} <= sizes
    for k in ("Quebec", "Sweden", "US_Average", "Poland", "US_Iowa", "US_Virginia", "US_Texas", "US_Oregon",
              "US_California", "France", "Norway", "Finland", "Germany", "UK", "Ireland", "Netherlands",
              "Singapore", "Japan", "India", "China", "Taiwan", "Australia"):
        assert k in Infrastructure.Grids
    for k in ("GCP_Iowa", "Quebec_Hydro", "Nordic_Sweden", "US_Colo", "Poland_Colo"):
        assert k in Infrastructure.Datacenters


def test_misspelt_name_suggests_the_close_match():
    with pytest.raises(UnknownNameError) as exc:
        Hardware.Cloud.H10
    assert "H100" in str(exc.value)
    with pytest.raises(UnknownNameError, match="Llama3_70B"):
        Models.Language.Llama3_70
    with pytest.raises(UnknownNameError, match="GCP_Iowa"):
        Infrastructure.Datacenters.GCP_Iowaa


def test_tutorial_grids_and_the_41x_gap():
    g = Infrastructure.Grids
    assert (g.Quebec.gco2_per_kwh, g.Sweden.gco2_per_kwh, g.US_Average.gco2_per_kwh, g.Poland.gco2_per_kwh) \
        == (20, 25, 390, 820)
    assert g.Poland.gco2_per_kwh / g.Quebec.gco2_per_kwh == pytest.approx(41)


def test_research_256_is_32_dgx_h100_on_ndr():
    f = Systems.Clusters.Research_256
    assert f.total_accelerators == 256 and f.count == 32
    assert f.accelerator is Hardware.Cloud.H100
    assert f.node.key == "DGX_H100" and f.fabric.key == "InfiniBand_NDR"
    assert f.fabric.port_bw == pytest.approx(400e9 / 8)  # 400 Gb/s per port
    assert f.node.nic_bw_per_accelerator == pytest.approx(400e9 / 8)  # one NDR NIC per GPU


def test_datasheet_values_in_si():
    h100 = Hardware.Cloud.H100  # NVIDIA H100 SXM datasheet: 989.5 TF dense bf16, 80 GB, 3.35 TB/s, 700 W
    assert h100.peak("bf16") == pytest.approx(989.5e12)
    assert h100.memory_bytes == 80 * 2**30 and h100.memory_bw == pytest.approx(3.35e12)  # 80 GiB (HBM: binary GB)
    assert h100.tdp_w == 700 and h100.scaleup_bw == pytest.approx(450e9)
    assert h100.matmul_efficiency == pytest.approx(794.5 / 989.5)  # stas00 MAMF
    assert Hardware.Cloud.A100_80GB.peak("fp16") == pytest.approx(312e12)
    assert Hardware.Cloud.B200.peak("fp8") == pytest.approx(4500e12)
    assert Hardware.Cloud.MI300X.memory_bytes == 192 * 2**30  # 8 x 24 GiB HBM3
    assert Hardware.Cloud.TPUv4.peak("bf16") == pytest.approx(275e12)


def test_measured_system_power_from_patterson_and_palm():
    # Patterson et al. 2021 Table 3 (average system power per accelerator incl. host share) and PaLM App. B.
    measured = {"TPUv2": 221, "TPUv3": 283, "P100": 271, "V100": 325, "TPUv4": 378.5}
    for key, w in measured.items():
        assert Hardware.Cloud[key].measured_system_w == pytest.approx(w), key
    # Chip TDPs of Patterson Table 3's note: TPUv2 280 W, TPUv3 450 W, V100 300 W; TPU v4: measured max 192 W.
    assert [Hardware.Cloud[k].tdp_w for k in ("TPUv2", "TPUv3", "V100", "TPUv4")] == [280, 450, 300, 192]


def test_prices_and_embodied_carbon_carry_their_source_and_are_never_zero():
    for acc in list(Hardware.Cloud) + list(Hardware.Edge):
        if acc.price_usd is not None:
            assert acc.price_usd > 0 and acc.price_source.strip(), acc.key
        if acc.embodied_kgco2e is not None:
            assert acc.embodied_kgco2e > 0 and acc.embodied_source.strip(), acc.key
        if acc.matmul_efficiency is not None:
            assert acc.matmul_efficiency_source.strip(), acc.key
    assert Hardware.Cloud.V100.price_usd is None  # no sourced price: the cost solver must refuse, not use $0


def test_assumed_values_are_labelled():
    for acc in list(Hardware.Cloud) + list(Hardware.Edge):
        if acc.idle_w is not None:
            assert "idle" in acc.notes.lower(), f"{acc.key}: idle_w needs a note (assumption or source)"
            assert 0 < acc.idle_w < acc.tdp_w
    for node in Systems.Nodes:
        if node.host_power_w is not None:
            assert "host_power_w" in node.notes, f"{node.key}: host_power_w is an assumption; say so"
        if node.max_power_w is not None:
            assert node.max_power_w > node.accelerators_per_node * node.accelerator.tdp_w, node.key
    for fab in Systems.Fabrics:
        assert fab.notes.strip(), f"{fab.key}: latency/efficiency are assumptions; say so in notes"


def test_models_carry_budget_and_year():
    for cat in Models.categories():
        for m in getattr(Models, cat):
            assert m.year and m.seq_len >= 1, m.key
            assert m.published_params, f"{m.key} lacks published_params"
            if m.is_moe:
                assert m.published_active_params, m.key
    assert Models.Language.Llama3_405B.tokens == pytest.approx(15.6e12)
    assert Models.Language.DeepSeek_V3.n_dense_layers == 3


def test_datacenters_and_grids_are_sane():
    for dc in Infrastructure.Datacenters:
        assert 1.0 <= dc.pue < 2.0 and 0 < dc.electricity_usd_per_kwh < 0.5, dc.key
        assert dc.grid.key in Infrastructure.Grids
    for g in Infrastructure.Grids:
        assert 0 < g.gco2_per_kwh < 1200 and g.basis.strip(), g.key
    iowa = Infrastructure.Datacenters.GCP_Iowa
    assert iowa.grid is Infrastructure.Grids.US_Iowa
    assert iowa.cfe_fraction == pytest.approx(0.88)  # Google us-central1 CFE 2025 (grid_intensity.csv)
    # Off-site water only where sourced (Morrison et al. 2025: Texas 1.29, Iowa 3.10 L/kWh).
    assert Infrastructure.Grids.Texas_AustinEnergy.water_l_per_kwh == pytest.approx(1.29)
    assert Infrastructure.Grids.Iowa_AI2.water_l_per_kwh == pytest.approx(3.10)
    assert Infrastructure.Grids.Germany.water_l_per_kwh is None
    # Flat lookup by name finds a datacenter, as the solvers do with strings.
    assert Infrastructure.get("GCP_Iowa") is iowa


def test_clusters_reference_existing_nodes_and_fabrics():
    for f in Systems.Clusters:
        assert f.node.key in Systems.Nodes and f.fabric.key in Systems.Fabrics
        assert f.internode_bw_per_accelerator > 0
    l3 = Systems.Clusters.Llama3_16K
    assert l3.total_accelerators == 16384 and l3.node.nic_bw_per_accelerator == pytest.approx(400e9 / 8)
    assert Systems.Fabrics.RoCE_400G_Oversub.oversubscription == 7
    assert Systems.Clusters.JeanZay_BLOOM.total_accelerators == 384
