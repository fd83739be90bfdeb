"""The published maximum context of a language model (TransformerWorkload.max_context) and the check every
serving face applies: a request whose prompt + output tokens exceed it is refused, as vLLM refuses a request
past max_model_len. Training is not checked (a run can extend the context)."""
from __future__ import annotations

from ..errors import ConfigError

WHAT_IF = "what-if"


def what_if_source(model, new) -> str:
    """The source of a `max_context` the user set (`model.with_(max_context=...)`): a what-if, the published value
    named."""
    was = (f"published {model.max_context:,} tokens ({model.max_context_source})" if model.max_context is not None
           else "no published value")
    shown = f"{new:,}" if isinstance(new, int) else repr(new)  # the record refuses a non-integer next
    now = "no limit checked" if new is None else f"a maximum context of {shown} tokens"
    return f"{WHAT_IF}: {now} set by the user; {was}"


def check_context(model, input_len, output_len=0, what="") -> dict:
    """Refuse `input_len` + `output_len` tokens beyond `model.max_context` (None: unchecked) with a ConfigError
    naming the limit, the model and the fix; returns context_note(model)."""
    limit = getattr(model, "max_context", None)
    source = getattr(model, "max_context_source", "")
    if limit is not None and input_len + output_len > limit:
        asked = (f"input {input_len:,.0f} + output {output_len:,.0f} = {input_len + output_len:,.0f} tokens"
                 if output_len else f"{input_len:,.0f} tokens")
        cited = source.split("; ")[0] or "source not given"
        raise ConfigError(f"{what + ': ' if what else ''}{asked} exceed {model.name}'s maximum context of "
                          f"{limit:,} tokens ({cited}); shorten the prompt or the output to {limit:,} tokens in all, "
                          f"or serve a context-extended variant as a what-if: model.with_(max_context=N) (a scenario: "
                          f"workload.max_context)")
    return context_note(model)


def context_note(model) -> dict:
    """The assumption line of a result built on a what-if maximum context ({} for a published one)."""
    source = getattr(model, "max_context_source", "")
    return {"max context": f"a {source}"} if source.startswith(WHAT_IF) else {}
