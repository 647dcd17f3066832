"""What every attribution method shares: the interface, the embedding path, and batching.

All methods attribute the target class's logit to the *output of the word-embedding layer*
(position and token-type embeddings are added inside the model as usual), one score per token.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from reportgen.attribution.options import MethodOptions
from reportgen.batching import ChunkRunner, autocast
from reportgen.errors import OptionError
from reportgen.loading.attention import trimmed_padding_keys
from reportgen.loading.inputs import EncodedTexts
from reportgen.loading.models import LoadedModel
from reportgen.methods import REGISTRY, MethodInfo


@dataclass
class TokenScores:
    """Per-token scores of a batch of texts, with IG's completeness check where it applies."""

    scores: torch.Tensor  # (batch, seq) fp32; padding positions included
    convergence_delta: torch.Tensor | None = None  # (batch,) Σ scores − (F(x) − F(x′))
    logit_change: torch.Tensor | None = None  # (batch,) F(x) − F(x′)
    steps: torch.Tensor | None = None  # (batch,) IG's gradient evaluations per text (they differ with steps="auto")
    fit: torch.Tensor | None = None  # (batch,) LIME: its surrogate's adjusted R² (choices.adjusted_fit);
    # NaN: no words, or not measurable (fewer samples than words + 2)
    converged: torch.Tensor | None = None  # (batch,) bool: IG's scores accurate or its delta within tolerance
    score_error: torch.Tensor | None = None  # (batch,) IG auto: estimated Σ|score error| / Σ|score|; inf: unknown


@dataclass
class AttributionSettings:
    batch_size: int  # rows (text × path step) per forward/backward pass
    precision: str = "fp32"
    on_progress: Callable[[int], None] | None = None  # rows that ran
    on_skipped: Callable[[int], None] | None = None  # rows of `bound_rows` a method found it need not run


class Attributor(ABC):
    """One attribution method; what it is (signed, class-specific, …) is its `reportgen.methods` record."""

    name: str

    @property
    def info(self) -> MethodInfo:
        return REGISTRY[self.name]

    @property
    def signed(self) -> bool:
        """For/against the target, or magnitude only."""
        return self.info.signed

    @property
    def class_specific(self) -> bool:
        """False: the scores ignore the target (attention rollout), so one run serves every class."""
        return self.info.class_specific

    def __init__(self, settings: AttributionSettings) -> None:
        self.settings = settings
        # One runner per attributor: a batch size that had to shrink stays shrunk for later texts.
        self.runner = ChunkRunner(settings.batch_size, settings.on_progress)

    @classmethod
    def from_options(cls, settings: AttributionSettings, options: MethodOptions) -> Attributor:
        """The attributor for a run's options: a method that takes options overrides this to pick its own part
        (integrated gradients `options.path`, Shapley value sampling `options.shapley`); one without ignores them."""
        return cls(settings)

    @abstractmethod
    def rows(self, num_texts: int) -> int:
        """Forward+backward rows the method needs at most for `num_texts` texts, for progress bars."""

    def bound_rows(self, inputs: EncodedTexts) -> int:
        """The most rows `attribute` runs on these texts, known before it starts (a progress bar's total that
        never grows; rows under the bound that never run are reported through `settings.on_skipped`)."""
        return self.rows(len(inputs))

    @abstractmethod
    def attribute(self, model: LoadedModel, inputs: EncodedTexts, targets: torch.Tensor) -> TokenScores:
        """Scores for `targets[i]`'s logit of text i, on the model's device."""


@contextmanager
def autograd_on() -> Iterator[None]:
    """Autograd recording, whatever mode the caller is in: its `torch.no_grad()`, `torch.set_grad_enabled(False)`
    or `torch.inference_mode()` (a notebook's or a web worker's usual state) hold outside this block and are
    back as they were after it. Every gradient a method takes is taken inside it, backward pass included."""
    with torch.inference_mode(False), torch.enable_grad():
        yield


def outside_inference(tensor: torch.Tensor | None) -> torch.Tensor | None:
    """`tensor`, or a plain copy of an inference tensor (one made under `torch.inference_mode()`), which
    autograd can neither track nor keep for a backward pass; None stays None. Call it inside `autograd_on`."""
    return tensor.clone() if tensor is not None and tensor.is_inference() else tensor


def word_embeddings(model: LoadedModel, input_ids: torch.Tensor) -> torch.Tensor:
    """x: the word-embedding layer's output, detached (parameters never need gradients)."""
    with torch.no_grad():
        return model.word_embeddings(input_ids.to(model.device)).float()


def target_logit_gradient(model: LoadedModel, embeds: torch.Tensor, attention_mask: torch.Tensor,
                          targets: torch.Tensor, precision: str,
                          token_type_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(∂ logit_target / ∂ embeds, target logits) for a batch of rows, in one backward pass.

    token_type_ids: the rows' segments (`LoadedModel.token_types`), None for a single text or a
    model without token types.

    Rows are independent, so the gradient of the *sum* of their target logits is each row's own
    gradient: one backward pass serves the whole batch. Works in any grad mode of the caller (`autograd_on`).
    """
    with autograd_on():
        embeds = outside_inference(embeds).detach().requires_grad_(True)
        attention_mask, targets = outside_inference(attention_mask), outside_inference(targets)
        token_type_ids = outside_inference(token_type_ids)
        with autocast(embeds.device, precision), trimmed_padding_keys(model.module):
            logits = model.logits(attention_mask, inputs_embeds=embeds, token_type_ids=token_type_ids)
        chosen = logits.float().gather(1, targets.view(-1, 1)).squeeze(1)
        (gradient,) = torch.autograd.grad(chosen.sum(), embeds)
    return gradient, chosen.detach()


def check_finite(scores: torch.Tensor, method: str) -> None:
    """A NaN would render as a silently grey report; stop instead."""
    if not torch.isfinite(scores).all():
        raise OptionError(f"{method} produced non-finite scores (NaN or inf); the model's weights or "
                          "logits overflow — try {precision} fp32 or check the checkpoint", "precision")
