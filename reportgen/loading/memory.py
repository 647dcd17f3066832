"""How much memory a model needs, read from its config before any weight loads, and the precision a large
model computes in on a GPU.

- Weights: a model of `HALF_PRECISION_ABOVE` parameters or more (1 B: Qwen2.5-1.5B, Llama-3-8B, Mistral-7B, …)
  keeps its weights in bfloat16 on a CUDA device (float16 where the GPU has no bfloat16) and runs every pass
  under autocast in that type; smaller models, and every model on a CPU, are upcast to fp32 (`precision`).
- Before its weights load, a model whose weights alone would not fit in the memory free on its device (GPU
  memory, or the CPU's available RAM) is refused in one line (`check_fits`).
- `bytes_per_row` estimates the activations one row (one text, or one path step of integrated gradients) keeps
  for a backward pass; docs/models.md tabulates it for common models.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import PretrainedConfig

from reportgen.choices import role_word
from reportgen.errors import OptionError

HALF_PRECISION_ABOVE = 1_000_000_000
"""Parameters from which a model on a CUDA device keeps half-precision weights (fp32 would take 4 bytes each:
32 GB for an 8 B model, two of which a report holds at once)."""
GB = 1e9


def parameter_count(config: PretrainedConfig) -> int:
    """The parameters of the sequence classifier `config` describes, counted exactly on the meta device (no memory)."""
    from transformers import AutoModelForSequenceClassification

    with torch.device("meta"):
        model = AutoModelForSequenceClassification.from_config(config)
    return sum(p.numel() for p in model.parameters())


def computation_dtype(device: torch.device, parameters: int, bf16_supported: bool | None = None) -> torch.dtype:
    """float32, or on a CUDA device for a model of HALF_PRECISION_ABOVE parameters or more, bfloat16 (float16 on a GPU
    without it; `bf16_supported` None: ask torch)."""
    if device.type != "cuda" or parameters < HALF_PRECISION_ABOVE:
        return torch.float32
    if bf16_supported is None:
        bf16_supported = torch.cuda.is_bf16_supported()
    return torch.bfloat16 if bf16_supported else torch.float16


def available_bytes(device: torch.device) -> int | None:
    """Memory free for new tensors on `device`: a GPU's free memory, a CPU's MemAvailable; None where unknown."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_fits(config: PretrainedConfig, role: str, spec: str, device: torch.device) -> None:
    """ReportgenError, before any weight loads, when the weights of the model `config` describes, in the precision
    it computes in on `device`, exceed the memory free there."""
    free = available_bytes(device)
    if free is None:
        return
    try:
        parameters = parameter_count(config)
    except Exception:  # a config transformers cannot build here: its own load says why, in one line
        return
    dtype = computation_dtype(device, parameters)
    need = parameters * torch.finfo(dtype).bits // 8
    if need > free:
        where = "GPU memory free on " + str(device) if device.type == "cuda" else "memory available"
        raise OptionError(f"the {role_word(role)} model '{spec}' ({parameters / 1e9:.1f} B parameters) needs "
                          f"{need / GB:.1f} GB for its weights alone in {str(dtype).removeprefix('torch.')}, more "
                          f"than the {free / GB:.1f} GB of {where}; use a device with more memory ({{device}}), or "
                          "a smaller model", "device")


def bytes_per_row(config: PretrainedConfig, tokens: int, value_bytes: int = 4, attention: bool = False) -> int:
    """Estimated activation memory one row keeps for a backward pass (bytes): per layer, tokens × (10·hidden +
    2·intermediate) values (the inputs of its linear maps, norms and activation, as Korthikanti et al. 2022 count
    them, without dropout masks), plus, for the attention methods (`attention`: eager attention, probabilities kept),
    2·heads·tokens² values; then the word embeddings. An estimate to size a GPU by, not a bound."""
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    hidden = text.hidden_size
    inner = getattr(text, "intermediate_size", None) or getattr(text, "n_inner", None) or 4 * hidden
    heads = text.num_attention_heads
    per_layer = tokens * (10 * hidden + 2 * inner) + (2 * heads * tokens * tokens if attention else 0)
    return (text.num_hidden_layers * per_layer + tokens * hidden) * value_bytes
