"""ServingModel: one replica's TTFT, ITL, memory, KV capacity and speculative decoding (the reasoning wall built on it
is in reasoning.py)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import ConfigError, unexpected_keywords
from ..models.context import check_context
from ..physics import constants as C
from ..physics import serving as PS
from ..physics import serving_spec as SS
from ..physics.serving_moe import ep_active
from ..physics.precision import compute_peak, matmul_ceiling, serving_precision
from ..units import count, quantity, si
from ._common import TableRepr, finite, frozen, resolve_model
from .distributed import DistributedModel, _dims


_HW_TYPES = None


def _hw_types():
    """(Accelerator, Fleet, Node), imported on first use (keeps `import mlsysim` light) and cached."""
    global _HW_TYPES
    if _HW_TYPES is None:
        from ..hardware.accelerator import Accelerator
        from ..systems.system import Fleet, Node
        _HW_TYPES = (Accelerator, Fleet, Node)
    return _HW_TYPES


def resolve_hardware(hw):
    """(accelerator, scale-up bytes/s per direction achieved, scale-up latency s) from an Accelerator, a Node,
    a Fleet or a registry name."""
    Accelerator, Fleet, Node = _hw_types()
    if hw.__class__ is Accelerator:  # the common case first (a solve takes tens of microseconds)
        return hw, (hw.scaleup_bw or 1e9) * 0.8, 3e-6
    if isinstance(hw, str):
        from ..hardware.registry import Hardware
        from ..systems.registry import Systems
        # a node or cluster name gives its node's scale-up links (was "unknown Hardware entry 'DGX_H100'")
        chips, systems = Hardware.all_names(), Systems.Nodes.names() + Systems.Clusters.names()
        if hw not in chips and hw not in systems:
            from ..errors import unknown
            raise unknown("Hardware entry (or Systems node or cluster)", hw, chips + systems)
        hw = Hardware.get(hw) if hw in chips else Systems.get(hw)
    if isinstance(hw, Fleet):
        hw = hw.node
    if isinstance(hw, Node):
        return hw.accelerator, hw.scaleup_bw * hw.scaleup_efficiency, hw.scaleup_latency_s
    if isinstance(hw, Accelerator):
        # NVLink-class chips without a node: the chip's own scale-up figure at the Node default efficiency 0.8
        return hw, (hw.scaleup_bw or 1e9) * 0.8, 3e-6
    raise ConfigError(f"hardware must be an Accelerator, Node, Fleet or Hardware registry name, got {hw!r}")


def check_scaleup_domain(hardware, tp, ep=1, pp=1) -> None:
    """A replica's TP (x EP) group on a Node (or a Fleet's node) must sit inside one node: the serving physics
    runs its all-reduces and all-to-alls at the node's scale-up bandwidth (TP16 on a DGX H100 ran over NVLink).
    A chip with no scale-up link (an edge module, a phone, a custom chip without scaleup_bw) serves on one device
    (its TP all-reduces ran over an invented 1 GB/s link)."""
    Accelerator, Fleet, Node = _hw_types()
    if tp * ep * pp == 1:
        return
    if isinstance(hardware, str):
        from ..hardware.registry import Hardware
        hardware = Hardware.get(hardware) if hardware in Hardware.all_names() else hardware
    if isinstance(hardware, Accelerator) and not hardware.scaleup_bw:
        raise ConfigError(f"{hardware.name} has no scale-up link (scaleup_bw) to split a replica over "
                          f"{tp * ep * pp} devices: use tp_size=1, pp_size=1 (and ep_size=1), or give the chip "
                          f"its scaleup_bw (bytes/s per direction)")
    node = hardware.node if isinstance(hardware, Fleet) else hardware
    if isinstance(node, str):
        from ..systems.registry import Systems
        names = Systems.Nodes.names() + Systems.Clusters.names()
        node = Systems.get(node) if node in names else None
        node = node.node if isinstance(node, Fleet) else node
    if not isinstance(node, Node) or tp * ep <= node.accelerators_per_node:
        return
    n = node.accelerators_per_node
    group = f"tp_size x ep_size = {tp} x {ep} = {tp * ep}" if ep > 1 else f"tp_size={tp}"
    raise ConfigError(f"{group} spans more than one {node.name} ({n} accelerators on its scale-up links); "
                      f"serving models those collectives inside one node: use tp_size{' x ep_size' if ep > 1 else ''}"
                      f" <= {n} and pp_size= to spread a replica over nodes")


@dataclass(frozen=True)
class ServingResult(TableRepr):
    """One replica at a fixed batch. Floats are SI; `ttft`, `itl` (= `tpot`) and throughputs are pint views."""

    model: object
    accelerator: object
    batch_size: int
    input_len: int
    output_len: int
    tp: int
    pp: int
    ttft_s: float
    itl_s: float
    itl_no_spec_s: float
    tokens_per_s: float
    memory_bytes: dict
    kv_capacity: int
    feasible: bool
    binding: str
    speculative_speedup: float
    assumptions: dict = field(default_factory=dict)
    ep: int = 1  # MoE: attention data-parallel over ep ranks of tp x pp devices, experts spread over them

    ttft = quantity("ttft_s", "s", to="ms")
    itl = quantity("itl_s", "s", to="ms")
    tpot = itl
    throughput = quantity("tokens_per_s", "1/s")

    @property
    def tokens_per_s_per_gpu(self) -> float:
        return self.tokens_per_s / (self.tp * self.pp * self.ep)

    @property
    def memory_total(self):
        from ..units import Q
        return Q(sum(self.memory_bytes.values()) / 1e9, "GB")

    def _title(self):
        return f"Serving {self.model.name} on {self.tp * self.pp}x {self.accelerator.name}"

    def _rows(self):
        rows = [("batch x input/output", f"{self.batch_size} x {self.input_len}/{self.output_len}"),
                ("TP x PP", f"{self.tp} x {self.pp}"), ("TTFT", self.ttft), ("ITL (TPOT)", self.itl),
                ("speculative speed-up", self.speculative_speedup), ("output tokens/s", self.tokens_per_s),
                ("KV capacity (sequences)", self.kv_capacity), ("binding", self.binding)]
        rows += [(f"memory {k} (GB/device)", v / 1e9) for k, v in self.memory_bytes.items()]
        rows.append(("feasible", "yes" if self.feasible else "NO: does not fit in memory"))
        return rows


DEFAULT_PROMPT = 2048  # ServingModel's prompt tokens when none is given (assumption: a typical chat/RAG prompt)


class ServingModel:
    """Prefill and decode of one replica (TP x PP devices), on the training kernels.

    >>> from mlsysim import Models, Hardware
    >>> r = ServingModel().solve(Models.Language.Llama3_8B, Hardware.Cloud.H100, seq_len=2048, batch_size=1)
    >>> r.binding
    'memory-bandwidth'
    """

    def solve(self, model, hardware, *, seq_len=None, input_len=None, output_len=256, batch_size=1, tp_size=1,
              pp_size=1, ep_size=1, precision=None, weight_precision=None, kv_precision=None,
              compute_precision=None, prefix_cache_hit=0.0, step_overhead_s=0.0, draft_model=None,
              draft_acceptance_rate=None, draft_tokens=None, mtp_depth=None, **unexpected) -> ServingResult:
        """`seq_len=` or `input_len=`: the prompt (default 2,048 tokens, or what the model's maximum context leaves
        for `output_len`). Speculative decoding: `draft_model=` proposes `draft_tokens` (default 4) per target
        step, or the model's own multi-token-prediction modules do (`mtp_depth=`, DeepSeek-V3: 1); either way
        `draft_acceptance_rate=` is the per-token acceptance."""
        if unexpected:
            raise unexpected_keywords(self.solve, unexpected)
        model = resolve_model(model)
        acc, su_bw, su_lat = resolve_hardware(hardware)
        if seq_len is not None and input_len is not None:
            raise ConfigError("give seq_len= (the prompt length) or input_len=, not both")
        osl = count(output_len, "output_len")
        given = input_len if input_len is not None else seq_len
        # the default prompt: DEFAULT_PROMPT tokens, or what the model's context leaves after the output (a 2,048-token
        # model was refused its own default request); a prompt given is checked as it is
        limit = model.max_context
        default = DEFAULT_PROMPT if limit is None or osl >= limit else min(DEFAULT_PROMPT, limit - osl)
        isl = count(given if given is not None else default, "input_len")
        context = check_context(model, isl, osl)
        if given is None and default < DEFAULT_PROMPT:
            context["prompt"] = (f"{default:,} tokens: the default {DEFAULT_PROMPT:,} cut to fit {model.name}'s "
                                 f"{limit:,}-token context with {osl:,} output tokens")
        b, tp, pp, ep = (count(batch_size, "batch_size"), count(tp_size, "tp_size"), count(pp_size, "pp_size"),
                         count(ep_size, "ep_size"))
        check_scaleup_domain(hardware, tp, ep, pp)
        hit, overhead = prefix_cache_hit, step_overhead_s
        if not (hit.__class__ is float and 0.0 <= hit < 1.0):  # a plain float in range needs no conversion
            hit = si(prefix_cache_hit, "", "prefix_cache_hit", allow_zero=True)
            if not 0 <= hit < 1:
                raise ConfigError(f"prefix_cache_hit must be a fraction in [0, 1), got {hit}")
        if not (overhead.__class__ is float and 0.0 <= overhead < math.inf):
            overhead = si(step_overhead_s, "s", "step_overhead_s", allow_zero=True)
        wb, kb, comp, names = serving_precision(precision, weight_precision, kv_precision, compute_precision)
        peak = compute_peak(acc, comp, names[0])
        d = _dims(model)
        # the training layout rules that apply to a replica (heads, KV heads, layers, experts), one set of messages
        DistributedModel._check_layout(model, d, tp * pp * ep, tp, pp, ep, 1, ep, 1, ep, 1, 2)
        spec = speculation(draft_model, draft_acceptance_rate, draft_tokens, mtp_depth, target=model, ep=ep,
                           lengths=(isl, osl))
        ceiling = matmul_ceiling(acc, comp, C.DEFAULT_MATMUL_EFFICIENCY, C.DEFAULT_FP8_MATMUL_EFFICIENCY) \
            * C.FRAMEWORK_GEMM_FRACTION
        hw = dict(tp=float(tp), pp=float(pp), ep=float(ep), peak=peak, ceiling=ceiling, mem_bw=acc.memory_bw,
                  attn_eff=acc.attention_efficiency, wbytes=wb, kvbytes=kb, su_bw=su_bw, su_lat=su_lat)
        new = max(1.0, isl * (1.0 - hit))
        prefill, _ = PS.pass_time(d, batch=b, new_tokens=new, context=float(isl), decode=False, **hw)
        ctx = isl + osl / 2.0  # mean context over the generation
        step, comm = PS.pass_time(d, batch=b, new_tokens=1.0, context=ctx, decode=True, **hw)
        ttft = prefill + overhead
        itl0 = step + overhead
        itl, speedup = itl0, 1.0
        assumptions = {"precision (weights, KV, compute)": names, "matmul ceiling": ceiling,
                       "decode context": f"{ctx:g} tokens (input + output/2)", **context}
        if spec is not None:
            itl, speedup = self._speculative(d, draft_model, *spec, b, ctx, hw, itl0, overhead, assumptions)
            if spec[2]:
                assumptions["speculative decoding"] += f"; {mtp_note(model, spec[1])}"
        mem = PS.memory(d, batch=float(b), context=float(isl + osl), prefill_tokens=b * new, tp=float(tp),
                        pp=float(pp), ep=float(ep), wbytes=wb, kvbytes=kb)
        mem = {k: float(v) for k, v in mem.items()}
        per_seq = float(PS.kv_bytes_per_seq(d, context=float(isl + osl), tp=float(tp), pp=float(pp), kvbytes=kb))
        if spec is not None:  # the drafter's weights and KV cache, as the fleet holds them (serving_spec): a draft
            # model split like the target, or the MTP modules on the last stage (the draft model's were left out)
            dd = SS.mtp_stack(d, spec[1]) if spec[2] else _dims(resolve_model(draft_model))
            w, kv = (float(x) for x in SS.drafter_memory(dd, mtp=spec[2], context=float(isl + osl), tp=float(tp),
                                                         pp=float(pp), ep=float(ep), wbytes=wb, kvbytes=kb))
            mem["weights"] += w
            mem["kv_cache"] += b / (ep if ep_active(d, ep) else 1.0) * kv
            per_seq += kv
        free = acc.memory_bytes - mem["weights"] - mem["activations"] - mem["workspace"]
        kv_cap = max(0, int(free // per_seq)) * ep  # per attention rank x ranks
        feasible = sum(mem.values()) <= acc.memory_bytes
        t_flops = 2.0 * b * d.mm_params / (tp * pp * ep) / peak
        t_bytes = mem["weights"] * pp / (acc.memory_bw * C.MEMORY_BW_EFFICIENCY)  # all stages' weights, serially
        binding = ("capacity" if not feasible else "interconnect" if comm > max(t_flops, t_bytes)
                   else "compute" if t_flops > t_bytes else "memory-bandwidth")
        tps = b / itl
        if not math.isfinite(ttft + itl + tps):  # the sum of finite values is finite, else finite() names it
            finite({"ttft": ttft, "itl": itl, "tps": tps}, "ServingModel")
        return frozen(ServingResult, {
            "model": model, "accelerator": acc, "batch_size": b, "input_len": isl, "output_len": osl, "tp": tp,
            "pp": pp, "ttft_s": ttft, "itl_s": itl, "itl_no_spec_s": itl0, "tokens_per_s": tps, "memory_bytes": mem,
            "kv_capacity": kv_cap, "feasible": feasible, "binding": binding, "speculative_speedup": speedup,
            "assumptions": assumptions, "ep": ep})

    @staticmethod
    def _speculative(d, draft_model, a, k, mtp, b, ctx, hw, itl0, overhead, assumptions):
        """ITL with a draft (or k MTP modules) proposing k tokens per target verification step, draft cost
        included."""
        if mtp:
            t_draft = PS.mtp_draft_s(d, batch=b, context=ctx, **hw)
        else:
            dd = _dims(resolve_model(draft_model))
            t_draft, _ = PS.pass_time(dd, batch=b, new_tokens=1.0, context=ctx, decode=True, **hw)
        t_verify, _ = PS.pass_time(d, batch=b, new_tokens=float(k + 1), context=ctx, decode=True, **hw)
        e = PS.accepted_per_step(a, k)
        itl = (k * t_draft + t_verify + overhead) / e
        assumptions["speculative decoding"] = (f"{k} drafted tokens{' by MTP modules' if mtp else ''}, acceptance "
                                               f"{a:g}: {e:.3g} tokens per target step (Leviathan et al. 2023)")
        return itl, itl0 / itl


# A draft proposes tokens of the target's tokenizer. Vocabularies of one tokenizer padded differently stay well
# within 5 % of each other (Pythia's 50,304-50,688: 0.8 %); Llama 2's 32,000 against Llama 3's 128,256 are two
# tokenizers. 5 % is an assumption (a margin over padding), not a fitted figure.
DRAFT_VOCAB_TOLERANCE = 0.05
# Drafted tokens (or MTP modules) per step: beyond any published setting (EAGLE-2 and DeepSeek-V3's MTP: <= 8).
MAX_DRAFT = 16


def speculation(draft_model, draft_acceptance_rate, draft_tokens, mtp_depth, target=None, ep=1, lengths=None):
    """Checked speculative-decoding options: None (no speculation) or (acceptance a, drafted tokens k, True where
    the model's own MTP modules draft). Shared by ServingModel and the fleet under load (serving_setup.py). With
    the `target` model, a draft of another tokenizer (vocabulary) is refused; so is a draft model beside expert
    parallelism (the fleet refused it, one replica modelled it); with the request's (input, output) `lengths`, a
    draft model whose maximum context is shorter (it reads the whole sequence too)."""
    if draft_model is not None and ep != 1:
        raise ConfigError("a draft model with ep_size > 1 is not modelled (it would run data-parallel over the "
                          "expert-parallel ranks): draft with the model's own MTP modules (mtp_depth=) or use "
                          "ep_size=1")
    if draft_model is not None and target is not None:
        check_draft_vocab(target, draft_model)
    if draft_model is not None and lengths is not None:
        check_context(resolve_model(draft_model), *lengths, "draft_model")
    if draft_tokens is not None and draft_model is None:
        raise ConfigError("draft_tokens only matters with speculative decoding: give draft_model= and "
                          "draft_acceptance_rate= too, or omit draft_tokens (with mtp_depth= the depth is the "
                          "number of drafted tokens)")
    if mtp_depth is not None:
        if draft_model is not None:
            raise ConfigError("give draft_model= (a separate draft) or mtp_depth= (the model's own "
                              "multi-token-prediction modules), not both")
        mtp_depth = count(mtp_depth, "mtp_depth")
    if draft_model is None and draft_acceptance_rate is None and mtp_depth is None:
        return None
    if (draft_model is None and mtp_depth is None) or draft_acceptance_rate is None:
        raise ConfigError("speculative decoding needs draft_acceptance_rate= and a drafter: draft_model= or "
                          "mtp_depth=")
    a = si(draft_acceptance_rate, "", "draft_acceptance_rate", allow_zero=True)
    if not 0 <= a < 1:
        raise ConfigError(f"draft_acceptance_rate must be in [0, 1), got {a}")
    k = mtp_depth or count(4 if draft_tokens is None else draft_tokens, "draft_tokens")
    if k > MAX_DRAFT:  # a million drafted tokens was "feasible", its verification rows held nowhere
        what = "mtp_depth" if mtp_depth is not None else "draft_tokens"
        raise ConfigError(f"{what}={k} is beyond any published speculative-decoding setting (EAGLE-2, DeepSeek-V3 "
                          f"MTP: at most 8); give at most {MAX_DRAFT}: at acceptance {a:g} a token drafted that "
                          f"far ahead is accepted with probability {a:g}^{k} = {a ** k:.2g}")
    return a, k, mtp_depth is not None


def mtp_note(model, depth) -> str:
    """Whose MTP modules draft: the model's own (DeepSeek-V3 ships one), or a what-if where it ships fewer than
    `depth` (modules of its own block shape, sharing its head, trained for it)."""
    have = model.mtp_modules
    if depth <= have:
        return f"{model.name}'s own multi-token-prediction module{'s' if depth > 1 else ''}"
    return (f"a what-if: {model.name} ships {have or 'no'} MTP module{'' if have == 1 else 's'}, {depth} "
            f"{'is' if depth == 1 else 'are'} assumed, each a block of its own shape sharing its head (DeepSeek-V3's "
            f"design, arXiv:2412.19437 Sec 2.2)")


def check_draft_vocab(target, draft_model) -> None:
    """A draft of another tokenizer (a vocabulary more than DRAFT_VOCAB_TOLERANCE apart) is a ConfigError."""
    draft = resolve_model(draft_model)
    tv, dv = target.vocab, draft.vocab
    if tv and dv and abs(tv - dv) > DRAFT_VOCAB_TOLERANCE * max(tv, dv):
        raise ConfigError(f"draft_model {draft.name} has a vocabulary of {dv:,} tokens, {target.name} one of "
                          f"{tv:,}: a draft must share the target's tokenizer; pick a draft of the same family")
