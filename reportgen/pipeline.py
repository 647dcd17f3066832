"""From loaded models and texts to a `Report`: predict, choose targets, attribute, package.

This is the one code path behind `reportgen report` and `reportgen demo`.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from datetime import datetime, timezone

import torch
from tqdm.auto import tqdm

import reportgen
from reportgen.attribution import AttributionSettings, make_attributor
from reportgen.batching import default_batch_size
from reportgen.errors import ReportgenError
from reportgen.inference import predict_logits
from reportgen.loading.inputs import EncodedTexts, encode
from reportgen.loading.models import LoadedModel, check_max_length
from reportgen.results import ModelAttribution, Report, ReportMeta, SampleResult

TARGETS_HELP = "predicted (each model's own predicted class), label (the true label), or a class index"


@dataclass
class ExplainOptions:
    method: str = "integrated-gradients"
    steps: int = 50
    quadrature: str = "gauss-legendre"
    target: str = "predicted"
    max_length: int = 512
    batch_size: int | None = None  # None: pick for the device
    precision: str = "fp32"
    progress: bool = True


@dataclass
class Texts:
    """What to explain: texts with their dataset rows and labels (None where unknown)."""

    texts: list[str]
    indices: list[int | None]
    labels: list[int | None]
    class_names: list[str] | None = None
    dataset: str | None = None
    split: str | None = None


def choose_targets(target: str, predicted: torch.Tensor, labels: list[int | None], num_classes: int) -> torch.Tensor:
    """The class whose logit each text's attribution explains."""
    if target == "predicted":
        return predicted
    if target == "label":
        missing = [i for i, label in enumerate(labels) if label is None]
        if missing:
            raise ReportgenError("--target label: some texts have no label; use --target predicted")
        return torch.tensor(labels, dtype=torch.long)
    if target.isdigit() and int(target) < num_classes:
        return torch.full_like(predicted, int(target))
    raise ReportgenError(f"--target '{target}': use {TARGETS_HELP} below {num_classes}")


def resolve_class_names(given: list[str] | None, num_classes: int) -> list[str]:
    if given is None:
        return [f"class {i}" for i in range(num_classes)]
    if len(given) != num_classes:
        raise ReportgenError(f"{len(given)} class names ({', '.join(given)}) for models with {num_classes} "
                             "classes; fix --label-names")
    return list(given)


def pad_share(scores: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Share of Σ|score| on padding positions: padding matters when pooling averages over it."""
    magnitude = scores.abs()
    on_padding = (magnitude * (attention_mask == 0)).sum(dim=1)
    return on_padding / magnitude.sum(dim=1).clamp(min=1e-30)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.machine()})"


def explain_model(model: LoadedModel, inputs: EncodedTexts, texts: Texts, options: ExplainOptions,
                  bar: tqdm) -> list[ModelAttribution]:
    """Predict, choose targets and attribute for one model, on its own padding."""
    batch_size = options.batch_size or default_batch_size(model.device)
    logits = predict_logits(model, inputs, batch_size=batch_size, precision=options.precision)
    probabilities = logits.softmax(dim=-1).cpu()
    predicted = probabilities.argmax(dim=-1)
    targets = choose_targets(options.target, predicted, texts.labels, model.info.num_classes)
    settings = AttributionSettings(batch_size=batch_size, precision=options.precision, on_progress=bar.update)
    attributor = make_attributor(options.method, settings, steps=options.steps, quadrature=options.quadrature)
    result = attributor.attribute(model, inputs, targets)
    scores = result.scores.cpu()
    shares = pad_share(scores, inputs.attention_mask).tolist()
    lengths = inputs.lengths()
    out = []
    for i in range(len(inputs)):
        out.append(ModelAttribution(
            probabilities=probabilities[i].tolist(), predicted=int(predicted[i]), target=int(targets[i]),
            scores=scores[i, : lengths[i]].tolist(), pad_share=shares[i],
            convergence_delta=None if result.convergence_delta is None else float(result.convergence_delta[i]),
            target_logit_change=None if result.logit_change is None else float(result.logit_change[i]),
        ))
    return out


def explain(models: dict[str, LoadedModel], texts: Texts, options: ExplainOptions) -> Report:
    """Explain every text with every model; tokens must agree across models to be shown side by side."""
    check_max_length(models, options.max_length)
    num_classes = {m.info.num_classes for m in models.values()}
    if len(num_classes) != 1:
        raise ReportgenError("the models have different numbers of classes: "
                             + ", ".join(f"{role} {m.info.num_classes}" for role, m in models.items()))
    class_names = resolve_class_names(texts.class_names, num_classes.pop())
    encoded = {role: encode(m.tokenizer, texts.texts, options.max_length, m.info.pads_to_max_length)
               for role, m in models.items()}
    tokens = {role: encoded[role].tokens(m.tokenizer) for role, m in models.items()}
    first_role = next(iter(models))
    for role in models:
        if tokens[role] != tokens[first_role]:
            raise ReportgenError(f"the {first_role} and {role} models split the texts into different wordpieces; "
                                 "side-by-side reports need models with the same tokenizer (--encoder)")
    attributor_rows = make_attributor(options.method, AttributionSettings(batch_size=1), steps=options.steps,
                                      quadrature=options.quadrature).rows(len(texts.texts))
    per_model: dict[str, list[ModelAttribution]] = {}
    with tqdm(total=attributor_rows * len(models), desc=options.method, unit="pass",
              disable=not options.progress, leave=False) as bar:
        for role, model in models.items():
            bar.set_postfix_str(role)
            per_model[role] = explain_model(model, encoded[role], texts, options, bar)
    samples = [
        SampleResult(index=texts.indices[i], label=texts.labels[i], text=texts.texts[i],
                     tokens=tokens[first_role][i], truncated=encoded[first_role].truncated[i],
                     models={role: per_model[role][i] for role in models})
        for i in range(len(texts.texts))
    ]
    any_model = next(iter(models.values()))
    meta = ReportMeta(
        method=options.method,
        steps=options.steps if options.method == "integrated-gradients" else None,
        quadrature=options.quadrature if options.method == "integrated-gradients" else None,
        target=options.target, device=device_name(any_model.device), max_length=options.max_length,
        class_names=class_names, dataset=texts.dataset, split=texts.split,
        created=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        versions=versions(), models=[m.info for m in models.values()], precision=options.precision,
    )
    return Report(meta=meta, samples=samples)


def versions() -> dict[str, str]:
    import transformers

    return {"reportgen": reportgen.__version__, "torch": torch.__version__,
            "transformers": transformers.__version__, "python": platform.python_version()}
