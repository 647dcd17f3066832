"""Integrated gradients (Sundararajan et al., 2017) over the word embeddings.

IG_t = Σ_h (x − x′)_t,h · ∫₀¹ ∂F(x′ + α(x − x′)) / ∂x_t,h dα, with the integral taken by a
quadrature rule. The baseline x′ is the [PAD] embedding at every position except [CLS]/[SEP]
(which keep their own), with the same attention mask; for a decoder classifier, whose pad token it never
reads, its EOS embedding instead (`LoadedModel.baseline_token_id`). Completeness says Σ_t IG_t = F(x) − F(x′);
the difference is the convergence delta.

F(x) − F(x′) is known exactly, so the delta is the quadrature's exact error on the sum of the
scores; F is known at every node too, so is the error of every interval between two nodes.
`steps="auto"` uses that: each text starts on 5 nodes and halves, alone, the intervals whose error is
large, until its own delta is within the tolerance (or it has `max_steps` nodes): see
`AdaptiveTrapezoid`. Rows of every text still being refined share the passes. Its `steps` are the
nodes it took (gradient evaluations), no longer the size of a uniform grid. Its options are
`path_steps.PathSteps` (`MethodOptions.path`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import torch

from reportgen.attribution.base import (
    AttributionSettings,
    Attributor,
    TokenScores,
    check_finite,
    target_logit_gradient,
    word_embeddings,
)
from reportgen.attribution.options import MethodOptions
from reportgen.attribution.path_steps import PathSteps
from reportgen.attribution.quadrature import AdaptiveTrapezoid, nodes_and_weights
from reportgen.batching import ChunkRunner, autocast
from reportgen.choices import FIXED_STEPS_DELTA, budgets
from reportgen.loading.attention import trimmed_padding_keys
from reportgen.loading.inputs import EncodedTexts, rows_of
from reportgen.loading.models import LoadedModel

GRID = AdaptiveTrapezoid


def baseline_ids(inputs: EncodedTexts, token_id: int) -> torch.Tensor:
    """`token_id` ([PAD], or a decoder's EOS) everywhere except real special tokens ([CLS], [SEP], BOS), which are
    kept, and padding, which stays padding."""
    keep = inputs.special_tokens_mask.bool() | ~inputs.attention_mask.bool()
    return torch.where(keep, inputs.input_ids, torch.full_like(inputs.input_ids, token_id))


@dataclass
class _Path:
    """The straight paths x′ → x of a batch of texts; a row is one text at one point α of its path."""

    model: LoadedModel
    x: torch.Tensor
    x_base: torch.Tensor
    mask: torch.Tensor
    targets: torch.Tensor
    precision: str
    token_types: torch.Tensor | None = None  # (batch, seq) where the model uses them (a sentence pair)

    def contributions(self, text: torch.Tensor, alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per row, (x − x′) · ∂F/∂x at x′ + α(x − x′) summed over the hidden size (IG's integrand, one
        value per token; the quadrature's weighted sum of these is the scores), and F there."""
        difference = self.x[text] - self.x_base[text]
        points = self.x_base[text] + alpha.view(-1, 1, 1) * difference
        gradient, logits = target_logit_gradient(self.model, points, self.mask[text], self.targets[text],
                                                 self.precision, rows_of(self.token_types, text))
        return (difference * gradient).sum(dim=-1), logits


class IntegratedGradients(Attributor):
    name = "integrated-gradients"

    def __init__(self, settings: AttributionSettings, path: PathSteps | None = None) -> None:
        """`path`: how to walk the paths (its options, `path_steps.PathSteps`); None: 50 Gauss–Legendre steps.
        Options that do not hold: ReportgenError."""
        super().__init__(settings)
        path = path or PathSteps(steps=50)
        path.check()
        self.adaptive = path.adaptive
        self.steps, self.tolerance, self.max_steps = path.steps, path.tolerance, path.max_steps
        self.quadrature = path.rule
        if not self.adaptive:
            self.alphas, self.weights = nodes_and_weights(self.quadrature, self.steps)

    @classmethod
    def from_options(cls, settings: AttributionSettings, options: MethodOptions) -> IntegratedGradients:
        return cls(settings, options.path)

    def rows(self, num_texts: int) -> int:
        """Fixed steps: exact. Auto: the most, `max_steps` per text; a text that settles earlier reports the rest
        through `on_skipped`."""
        return num_texts * (self.max_steps if self.adaptive else self.steps)

    def attribute(self, model: LoadedModel, inputs: EncodedTexts, targets: torch.Tensor) -> TokenScores:
        device = model.device
        x = word_embeddings(model, inputs.input_ids)
        x_base = word_embeddings(model, baseline_ids(inputs, model.baseline_token_id))
        path = _Path(model, x, x_base, inputs.attention_mask.to(device), targets.to(device), self.settings.precision,
                     model.token_types(inputs))
        if self.adaptive:
            return self._adaptive(path)
        scores = self._fixed(path)
        change = self._endpoint_logits(path)
        steps = torch.full((x.shape[0],), self.steps, dtype=torch.long)
        delta = scores.sum(dim=1) - change
        converged = (delta.abs() <= FIXED_STEPS_DELTA * change.abs().clamp(min=1e-12)).cpu()
        return TokenScores(scores, convergence_delta=delta, logit_change=change, steps=steps, converged=converged)

    def _fixed(self, path: _Path) -> torch.Tensor:
        """Σ_k w_k · integrand(α_k) on the rule's `steps` nodes, for every text."""
        alphas = torch.tensor(self.alphas, dtype=torch.float32, device=path.x.device)
        weights = torch.tensor(self.weights, dtype=torch.float32, device=path.x.device)
        scores = torch.zeros(path.x.shape[:2], device=path.x.device)

        def work(start: int, stop: int) -> None:
            # Row r is text r // steps at path step r % steps: chunks may span several texts.
            row = torch.arange(start, stop, device=path.x.device)
            text, step = row // self.steps, row % self.steps
            values, _ = path.contributions(text, alphas[step])
            scores.index_add_(0, text, values * weights[step].view(-1, 1))

        self.runner.run(path.x.shape[0] * self.steps, work)
        check_finite(scores, self.name)
        return scores

    def _adaptive(self, path: _Path) -> TokenScores:
        """Every text's adaptive trapezoid, refined round by round while its delta (or its scores) has not settled.

        Rows wait in one queue in the order they became known; each pass takes the next batch of
        rows, whichever texts they belong to, so passes stay full while texts finish after different
        rounds, and a text that needs more steps never makes another compute more. The first nodes
        are queued shortest text first, so a pass mixes texts of similar length and trimming
        padding keys (attention.py) still pays.
        """
        count, seq = path.x.shape[:2]
        texts = [GRID(seq, self.max_steps, path.x.device) for _ in range(count)]
        by_length = sorted(range(count), key=lambda i: int(path.mask[i].sum()))
        queue = deque((i, k) for i in by_length for k in range(len(GRID.first)))
        scores = torch.zeros(count, seq, device=path.x.device)
        change = torch.zeros(count, device=path.x.device)
        steps = torch.zeros(count, dtype=torch.long)
        converged = torch.zeros(count, dtype=torch.bool)
        score_error = torch.full((count,), math.inf, dtype=torch.float64)

        def work(rows: list[tuple[int, int]]) -> None:
            text = torch.tensor([i for i, _ in rows], device=path.x.device)
            alpha = torch.tensor([texts[i].alphas[k] for i, k in rows], device=path.x.device)
            values, logits = path.contributions(text, alpha)
            for row, (i, k) in enumerate(rows):
                texts[i].record(k, values[row], float(logits[row]))

        while queue:
            batch = [queue.popleft() for _ in range(min(self.runner.batch_size, len(queue)))]
            self.runner.run(len(batch), lambda start, stop: work(batch[start:stop]))
            for i in dict.fromkeys(i for i, _ in batch):
                text = texts[i]
                if text.missing:
                    continue
                text.split()
                current = text.scores()
                check_finite(current, self.name)  # a NaN never settles: stop now, not at --max-steps
                change[i] = text.change()
                mass = float(current.abs().sum())
                limits = budgets(float(change[i]), mass, self.tolerance)
                new = text.refine(*limits)
                if not new:
                    scores[i], steps[i], converged[i] = current, text.size, text.settled(*limits)
                    error = text.score_error()
                    score_error[i] = error / mass if mass > 0 else (0.0 if error == 0 else math.inf)
                    if self.settings.on_skipped is not None:
                        self.settings.on_skipped(self.max_steps - text.size)
                    continue
                queue.extend((i, k) for k in new)
        return TokenScores(scores, convergence_delta=scores.sum(dim=1) - change, logit_change=change, steps=steps,
                           converged=converged, score_error=score_error)

    def _endpoint_logits(self, path: _Path) -> torch.Tensor:
        """F(x) − F(x′) for the target logit, in the same precision as the path (forward only)."""
        x, x_base, mask, targets = path.x, path.x_base, path.mask, path.targets
        change = torch.empty(x.shape[0], dtype=torch.float32, device=x.device)

        def work(start: int, stop: int) -> None:
            both = torch.cat([x[start:stop], x_base[start:stop]])
            types = rows_of(path.token_types, slice(start, stop))
            with torch.inference_mode(), autocast(x.device, self.settings.precision), \
                    trimmed_padding_keys(path.model.module):
                logits = path.model.logits(mask[start:stop].repeat(2, 1), inputs_embeds=both,
                                           token_type_ids=None if types is None else types.repeat(2, 1)).float()
            chosen = logits.gather(1, targets[start:stop].repeat(2).view(-1, 1)).squeeze(1)
            change[start:stop] = chosen[: stop - start] - chosen[stop - start:]

        ChunkRunner(self.runner.batch_size).run(x.shape[0], work)
        return change
