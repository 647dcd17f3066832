"""The two models and how they run (`ModelOptions`), as every command that loads them takes them: declared once
(`option_spec.option`), from which `report`, `scan` and `corpus` get the same --base … --precision options
(`cli_options.model_options`), and checked here, torch-free, before anything heavy loads."""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass
from pathlib import PurePath
from typing import Any

from reportgen.choices import POOLINGS, PRECISIONS
from reportgen.errors import OptionError
from reportgen.loading.adapter_files import check_adapters
from reportgen.loading.hub import check_model_exists
from reportgen.option_spec import option

AUTO = "auto"

DEVICE_FORM = re.compile(r"auto|cpu|cuda(?::(\d+))?")
"""The devices --device/device= takes, as written (stripped, lower-cased): whether one is there is known only
once torch loads (`loading.device.resolve_device`)."""


def unknown_device(spec: str) -> OptionError | None:
    """The error for a device string of no known form (None where its form is known): torch-free."""
    if isinstance(spec, str) and DEVICE_FORM.fullmatch(spec.strip().lower()):
        return None
    return OptionError(f"{{device}}: unknown device {spec!r}; use auto, cpu, cuda or cuda:N", "device")

BATCH_HELP = {
    "report": "Rows per forward/backward pass (for integrated gradients a row is one text at one path step). "
              "auto: 256 on a GPU, halved on out-of-memory; 16 on a CPU.",
    "scan": "Texts per forward pass (a scan computes no gradients). auto: 256 on a GPU, halved on "
            "out-of-memory; 16 on a CPU.",
    "corpus": "Texts per batch: each batch is attributed by both models and saved as one Parquet part (for "
              "integrated gradients, passes of this many text × step rows). auto: 256 on a GPU, halved on "
              "out-of-memory; 16 on a CPU.",
}
"""--batch-size's help by command: what a row is differs (a scan has no backward passes)."""


def batch_size_from_text(text: str) -> int | str:
    """--batch-size as written: a whole number becomes an int, anything else stays for `check()` to judge."""
    return int(text) if text.isdigit() else text


@dataclass
class ModelOptions:
    """The two models (paths or hub ids; from `reportgen.explain`, modules in memory too) and how they are loaded
    and run."""

    base: str | Any = option(
        MISSING, metavar="MODEL",
        help="The base model: a mean-pooled BERT state-dict checkpoint (.pth/.pt/.bin/.safetensors; "
             "docs/models.md), or a Hugging Face sequence classifier (BERT, RoBERTa, XLM-RoBERTa, DistilBERT, "
             "ALBERT, ELECTRA, DeBERTa-v2/v3, ModernBERT, MPNet; decoders GPT-2, Llama, Qwen2/3, Mistral, Gemma, "
             "Phi-3) as a model directory or hub id, or a PEFT adapter folder (see --adapter-base).")
    finetuned: str | Any = option(MISSING, metavar="MODEL", help="The fine-tuned model, given like --base.")
    encoder: str = option(
        "bert-base-uncased", metavar="NAME_OR_DIR",
        help="Config and tokenizer for state-dict checkpoints: a hub id or a local model directory.")
    adapter_base: str | None = option(
        None, metavar="NAME_OR_DIR",
        help="The base model of a PEFT adapter given as --base or --finetuned (a folder with adapter_config.json; "
             "needs pip install \"reportgen-saliency[peft]\"): a local model directory or hub id. Default: the "
             "base_model_name_or_path its adapter_config.json names.")
    pooling: str = option(
        "mean-all", choices=POOLINGS,
        help="How state-dict checkpoints pool BERT's outputs: mean-all averages all positions, padding included "
             "(inputs are then padded to --max-length, as in training); masked-mean averages real tokens; cls takes "
             "[CLS]. Hugging Face models use their own head.")
    max_length: int = option(512, type=int, help="Tokens per text after truncation ([CLS] and [SEP] included).")
    device: str = option(AUTO, help="auto (a GPU when there is one), cpu, cuda or cuda:N.")
    batch_size: int | str = option(AUTO, from_text=batch_size_from_text, help=BATCH_HELP["report"])
    precision: str = option(
        "fp32", choices=PRECISIONS,
        help="Arithmetic for the forward pass. bf16/fp16 autocast is faster on GPUs; fp32 is the reference.")

    @property
    def rows_per_batch(self) -> int | None:
        """--batch-size as a number, None for auto (picked for the device)."""
        return None if self.batch_size == AUTO else int(self.batch_size)

    def check(self) -> None:
        """What can be known before torch loads: local model files that are not there, an adapter folder without
        its weights, an --adapter-base that is not there or that no model is an adapter for
        (`adapter_files.check_adapters`), an unknown pooling or precision, a max length under 2 (whether it fits a
        model's position embeddings is known once it loads: `loading.models.check_max_length`), a device of no
        known form, a batch size neither auto nor a positive whole number (OptionError naming the option)."""
        paths: dict[str, str | None] = {}
        for role in ("base", "finetuned"):
            spec = getattr(self, role)
            paths[role] = str(spec) if isinstance(spec, (str, PurePath)) else None
            if paths[role] is not None:  # a module in memory (reportgen.explain) is there
                check_model_exists(paths[role], role)
        check_adapters(paths, None if self.adapter_base is None else str(self.adapter_base))
        if self.pooling not in POOLINGS:
            raise OptionError(f"{{pooling}}: unknown pooling '{self.pooling}'; choose one of {', '.join(POOLINGS)}",
                              "pooling")
        if self.precision not in PRECISIONS:
            raise OptionError(f"{{precision}}: unknown precision '{self.precision}'; choose one of "
                              f"{', '.join(PRECISIONS)}", "precision")
        size = self.batch_size
        if size != AUTO and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
            raise OptionError(f"{{batch_size}} must be 'auto' or a positive whole number (got '{size}')",
                              "batch_size")
        if self.max_length < 2:
            raise OptionError(f"{{max_length}} must be at least 2 (got {self.max_length})", "max_length")
        if (error := unknown_device(self.device)) is not None:
            raise error
