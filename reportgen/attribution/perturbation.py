"""The base of attribution methods that only run the model forward on texts with tokens removed.

Occlusion and Shapley-value methods score a token by how the target logit changes when it (and
others) are removed. `PerturbationAttributor` does the shared part: which positions may be removed
(real tokens, never [CLS]/[SEP] or padding), the batched forward passes through
`reportgen.perturbation` (removal exactly as the faithfulness metrics define it), and the target
logit of each perturbed text. A method says which coalitions it needs (`coalitions`) and how their
logits make scores (`combine`); its `reportgen.methods` record says needs="forward".
"""

from __future__ import annotations

from abc import abstractmethod

import torch

from reportgen.attribution.base import Attributor, TokenScores, check_finite
from reportgen.loading.inputs import EncodedTexts
from reportgen.loading.models import LoadedModel
from reportgen.perturbation import removal_logits


class PerturbationAttributor(Attributor):
    """Scores from forward passes on perturbed texts; no gradients.

    For T texts of S positions a method asks for C coalitions per text: `coalitions` returns (T, C, S)
    bool, True where a position stays. The base runs every (text, coalition) row, C·T rows, through
    the model in batches of `settings.batch_size` and hands `combine` the target logits (T, C).
    """

    @abstractmethod
    def coalitions(self, inputs: EncodedTexts, candidates: torch.Tensor) -> torch.Tensor:
        """(texts, coalitions, seq) bool, True where a position stays; `candidates` (texts, seq) bool marks
        the positions a method may remove. Non-candidate real tokens must stay."""

    @abstractmethod
    def combine(self, logits: torch.Tensor, kept: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """(texts, seq) fp32 scores from the target logits (texts, coalitions) of the `kept` coalitions."""

    def attribute(self, model: LoadedModel, inputs: EncodedTexts, targets: torch.Tensor) -> TokenScores:
        device = model.device
        real = inputs.attention_mask.bool()
        candidates = real & ~inputs.special_tokens_mask.bool()
        kept = self.coalitions(inputs, candidates) & real.unsqueeze(1)
        texts, per_text = kept.shape[:2]
        kept_on_device = kept.to(device)

        def kept_rows(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return rows // per_text, kept_on_device.view(texts * per_text, -1)[rows]

        logits = removal_logits(model, inputs, kept_rows, kept.sum(dim=2), batch_size=self.settings.batch_size,
                                precision=self.settings.precision, on_progress=self.settings.on_progress)
        chosen = targets.to(device).repeat_interleave(per_text).view(-1, 1)
        target_logits = logits.gather(1, chosen).view(texts, per_text)
        scores = self.combine(target_logits, kept_on_device, candidates.to(device)).float()
        check_finite(scores, self.name)
        return TokenScores(scores)
