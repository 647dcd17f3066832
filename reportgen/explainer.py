"""Every method for every model: attributions, the faithfulness metrics, the flip tests and the normalised AOPC's
bounds (`Explainer`), each model's share of the work (`Run`), and the options that decide what is computed
(`ExplainOptions`, from `explain_options.py`). `pipeline.explain` drives it. Progress: one bar per stage
(`reportgen.progress`), each stage's total an upper bound on its rows known before its first pass, so no
percentage goes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from reportgen.attribution import AttributionSettings, Attributor, make_attributor
from reportgen.explain_options import ExplainOptions
from reportgen.faithfulness import (
    KS,
    FaithfulnessSettings,
    RandomReference,
    flip,
    forward_rows,
    measure_faithfulness,
    random_reference,
)
from reportgen.faithfulness.naopc import BoundSettings, aopc_bounds, bound_rows, normalise_scores
from reportgen.faithfulness.rows import RemovedRows
from reportgen.loading.inputs import EncodedTexts
from reportgen.loading.models import LoadedModel
from reportgen.methods import REGISTRY
from reportgen.progress import Progress
from reportgen.results import (
    BOUNDS_STAGE,
    FAITHFULNESS_STAGE,
    FLIP_STAGE,
    AopcBounds,
    Flip,
    MethodResult,
    RandomFlips,
    Word,
    stored,
)
from reportgen.stopwatch import Stopwatch


def pad_share(scores: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Share of Σ|score| on padding positions: padding matters when pooling averages over it."""
    magnitude = scores.abs()
    on_padding = (magnitude * (attention_mask == 0)).sum(dim=1)
    return on_padding / magnitude.sum(dim=1).clamp(min=1e-30)



def _finite(values: torch.Tensor | None, i: int) -> float | None:
    """values[i] as a float, None where there are none or it is NaN/inf (not measured for that text)."""
    if values is None or not bool(torch.isfinite(values[i])):
        return None
    return float(values[i])


@dataclass
class Run:
    """One model's share of the work: its inputs, verdicts and the settings its passes use."""

    model: LoadedModel
    inputs: EncodedTexts
    probabilities: torch.Tensor
    predicted: torch.Tensor
    targets: torch.Tensor
    common: torch.Tensor
    batch_size: int
    results: dict[str, list[MethodResult]] = field(default_factory=dict)
    common_scores: dict[str, list[list[float]]] = field(default_factory=dict)
    chance: RandomReference | None = None  # the random orders' rows, shared by every method
    removed: RemovedRows | None = None  # every row with tokens removed, shared by the forward-only measures
    random_flips: list[RandomFlips | None] = field(default_factory=list)
    bounds: list[dict[str, AopcBounds]] = field(default_factory=list)
    attributors: dict[str, Attributor] = field(default_factory=dict)  # by method, built once per model
    chosen: torch.Tensor | None = None  # multi-label: (rows, labels) bool, every label the model predicts
    name: str = "model"  # the model as the progress bars name it ("base", "fine-tuned")


class Explainer:
    """Runs every method for every model, one progress bar per stage."""

    def __init__(self, options: ExplainOptions, progress: Progress, watch: Stopwatch) -> None:
        self.options = options
        self.progress = progress
        self.watch = watch  # seconds per stage: each method, the faithfulness metrics, flip test, AOPC bounds

    def attributor(self, run: Run, method: str) -> Attributor:
        if method not in run.attributors:
            settings = AttributionSettings(batch_size=run.batch_size, precision=self.options.precision,
                                           on_progress=self.progress.update, on_skipped=self.progress.skip)
            run.attributors[method] = make_attributor(method, settings, self.options.method_options)
        return run.attributors[method]

    def method_results(self, run: Run, method: str) -> list[MethodResult]:
        """One method's attributions and faithfulness metrics for one model: a progress stage of its own."""
        attributor = self.attributor(run, method)
        rows = attributor.bound_rows(run.inputs)
        if self.options.faithfulness:
            plan = FaithfulnessSettings(random_orders=self.options.random_orders)
            texts = len(run.inputs)
            rows += forward_rows(texts, plan) if run.chance is None else \
                forward_rows(texts, plan) - forward_rows(texts, plan, methods=0)
        with self.progress.stage(f"{run.name}, {method}", rows):
            return self._method_results(run, method, attributor)

    def _method_results(self, run: Run, method: str, attributor: Attributor) -> list[MethodResult]:
        with self.watch.stage(method):
            result = attributor.attribute(run.model, run.inputs, run.targets)
            scores = result.scores.cpu()
        shares = pad_share(scores, run.inputs.attention_mask).tolist()
        faithfulness = [None] * len(run.inputs)
        if self.options.faithfulness:
            settings = FaithfulnessSettings(random_orders=self.options.random_orders, batch_size=run.batch_size,
                                            precision=self.options.precision, on_progress=self.progress.update)
            with self.watch.stage(FAITHFULNESS_STAGE):
                if run.chance is None:
                    run.chance = random_reference(run.model, run.inputs, run.targets, settings,
                                                  self.removed_rows(run))
                faithfulness = measure_faithfulness(run.model, run.inputs, result.scores, run.targets,
                                                    attributor.signed, settings, run.chance, self.removed_rows(run))
        lengths = run.inputs.lengths()
        return [MethodResult(
            scores=stored(scores[i, : lengths[i]].tolist()), pad_share=shares[i],
            convergence_delta=None if result.convergence_delta is None else float(result.convergence_delta[i]),
            target_logit_change=None if result.logit_change is None else float(result.logit_change[i]),
            faithfulness=faithfulness[i], steps=None if result.steps is None else int(result.steps[i]),
            converged=None if result.converged is None else bool(result.converged[i]),
            score_error=_finite(result.score_error, i), surrogate_fit=_finite(result.fit, i),
        ) for i in range(len(run.inputs))]

    def towards(self, run: Run, method: str, classes: torch.Tensor) -> list[list[float]]:
        """Scores for `classes` (one per text): the report's own where they explain that class (its
        target, or the common class once computed), else one more attribution of those texts (a progress
        stage of its own)."""
        known = [(run.targets, [r.scores for r in run.results[method]])]
        if method in run.common_scores:
            known.append((run.common, run.common_scores[method]))
        scores: list[list[float]] = []
        others = []
        for i in range(len(run.inputs)):
            found = next((s[i] for chosen, s in known if int(chosen[i]) == int(classes[i])), None)
            if found is None:
                others.append(i)
            scores.append(found if found is not None else known[0][1][i])
        if others and REGISTRY[method].class_specific:  # unspecific scores serve every class
            subset, attributor = run.inputs.select(others), self.attributor(run, method)
            with self.progress.stage(f"{run.name}, {method}, another class", attributor.bound_rows(subset)), \
                    self.watch.stage(method):
                extra = attributor.attribute(run.model, subset, classes[others]).scores.cpu()
            for row, i in enumerate(others):
                scores[i] = stored(extra[row, : len(scores[i])].tolist())
        return scores

    def removed_rows(self, run: Run) -> RemovedRows:
        """The model's rows with tokens removed, each computed once for the metrics, flip tests and bounds."""
        if run.removed is None:
            run.removed = RemovedRows(run.model, run.inputs, batch_size=run.batch_size,
                                      precision=self.options.precision)
        return run.removed

    def flip_settings(self, run: Run) -> flip.FlipSettings:
        return flip.FlipSettings(batch_size=run.batch_size, precision=self.options.precision,
                                 on_progress=self.progress.update)

    def flip_counts(self, run: Run, label: str, words: list[list[Word]], rankings: list[list[int]],
                    rows: list[int], reach: list[int]) -> list[Flip]:
        """`flip.flip_counts` as a progress stage: at most one row per word a search may remove (its cap)."""
        settings = self.flip_settings(run)
        with self.progress.stage(f"{run.name}, {label}", sum(min(len(r), settings.cap) for r in rankings)), \
                self.watch.stage(FLIP_STAGE):
            return flip.flip_counts(run.model, run.inputs, words, rankings, rows, reach, settings,
                                    self.removed_rows(run))

    def flips(self, run: Run, words: list[list[Word]]) -> None:
        """The flip test of every method's ranking (evidence for the predicted class) and of the
        seeded random word orders, into each `MethodResult.flip` and `run.random_flips`."""
        texts = range(len(run.inputs))
        candidates = [flip.removable_words(words[i], run.inputs.special_tokens_mask[i]) for i in texts]
        lengths = run.inputs.lengths()
        rankings = []
        for method in self.options.methods:
            scores = self.towards(run, method, run.predicted)
            rankings += [flip.word_ranking(words[i], scores[i], candidates[i], REGISTRY[method].signed) for i in texts]
        rankings += [flip.random_word_ranking(run.inputs.input_ids[i], lengths[i], candidates[i], 0, order)
                     for order in range(self.options.random_orders) for i in texts]
        rows = [i for _ in range(len(self.options.methods) + self.options.random_orders) for i in texts]
        found = self.flip_counts(run, "flip test", words, rankings, rows, [flip.ANY_OTHER] * len(rows))
        for m, method in enumerate(self.options.methods):
            for i in texts:
                run.results[method][i].flip = found[m * len(texts) + i]
        randoms = found[len(self.options.methods) * len(texts):]
        run.random_flips = [RandomFlips([randoms[r * len(texts) + i].k for r in range(self.options.random_orders)],
                                        randoms[i].searched) for i in texts]

    def normalise(self, run: Run) -> None:
        """NAOPC: each text's AOPC bounds for this model, and every method's normalised scores."""
        settings = BoundSettings(ks=KS, batch_size=run.batch_size, precision=self.options.precision,
                                 on_progress=self.progress.update)
        with self.progress.stage(f"{run.name}, normalised AOPC", bound_rows(run.inputs, settings)), \
                self.watch.stage(BOUNDS_STAGE):
            bounds = aopc_bounds(run.model, run.inputs, run.targets, settings, rows=self.removed_rows(run))
        run.bounds = [normalise_scores(b, [run.results[m][i].faithfulness for m in self.options.methods])
                      for i, b in enumerate(bounds)]

    def agreement_flips(self, runs: dict[str, Run], words: list[list[Word]]) -> list[dict[str, Flip]]:
        """Where base and fine-tuned disagree: the fewest words, by the other model's main-method
        evidence for this model's class, whose removal makes this model agree with the other."""
        method = self.options.methods[0]
        flips: list[dict[str, Flip]] = [{} for _ in range(len(words))]
        for role, other in (("base", "finetuned"), ("finetuned", "base")):
            run, ranker = runs[role], runs[other]
            texts = [i for i in range(len(words)) if int(run.predicted[i]) != int(ranker.predicted[i])]
            if not texts:
                continue
            scores = self.towards(ranker, method, run.predicted)
            candidates = {i: flip.removable_words(words[i], run.inputs.special_tokens_mask[i]) for i in texts}
            rankings = [flip.word_ranking(words[i], scores[i], candidates[i], REGISTRY[method].signed) for i in texts]
            found = self.flip_counts(run, "agreement flips", words, rankings, texts,
                                     [int(ranker.predicted[i]) for i in texts])
            for i, found_flip in zip(texts, found):
                flips[i][role] = found_flip
        return flips
