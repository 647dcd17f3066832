"""Every encoder sequence classifier in common use, tiny and random, through the report path with
every method: probabilities equal a direct call of the model, integrated gradients adds up (or its
column is flagged), the attention methods equal an explicit loop, and the words cover every token
and every character of the text once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import reportgen
from reportgen.attribution.rollout import readout_weights
from reportgen.loading.device import resolve_device
from reportgen.loading.models import load_model
from reportgen.methods import METHODS
from reportgen.rendering.views.report import build_view
from tests.tiny_models import ARCHITECTURES, make_architecture_dir

MAX_LENGTH = 32
TEXTS = ["the acting was good  and the plot wasn't.\n", "boring, dull music ", "i loved it!"]
IG_FLAGGED = {"deberta-v2"}
"""Tiny random DeBERTa-v2: its embedding LayerNorm varies sharply near the all-padding baseline, so 16
path steps leave a large delta; the report must flag that column instead of passing it off."""


Loader = Callable[..., nn.Module]
"""A model as its card says to load it, `from_pretrained`'s keywords passed on (a PEFT model: base, then adapter)."""


def from_folder(folder: Path) -> Loader:
    return lambda **options: AutoModelForSequenceClassification.from_pretrained(folder, **options)


def explicit_attention_scores(model: nn.Module, tokenizer, text: str, target: int) -> dict[str, torch.Tensor]:
    """Attention rollout and gradient-weighted attention by their papers' recipes, one text, the `model` on
    eager attention, the matrices multiplied out in full: R = M_L ⋯ M_1, then the row the head reads (its first
    token, the mean over tokens for a mean-pooled head, or a decoder's last token)."""
    encoded = tokenizer(text, max_length=MAX_LENGTH, truncation=True, return_tensors="pt")
    embeds = model.get_input_embeddings()(encoded["input_ids"]).detach().requires_grad_(True)
    out = model(inputs_embeds=embeds, attention_mask=encoded["attention_mask"], output_attentions=True)
    gradients = torch.autograd.grad(out.logits[0, target], out.attentions)
    n = encoded["input_ids"].shape[1]
    eye = torch.eye(n)
    if hasattr(model, "score"):  # a decoder classifier reads its last token (the text is alone: no padding)
        readout = eye[n - 1]
    elif getattr(model.config, "classifier_pooling", "cls") == "mean":
        readout = torch.full((n,), 1.0 / n)
    else:
        readout = eye[0]
    scores = {}
    for method, layer in (("attention-rollout", lambda a, g: (0.5 * a.mean(dim=0) + 0.5 * eye)
                           / (0.5 * a.mean(dim=0) + 0.5 * eye).sum(dim=-1, keepdim=True)),
                          ("attention-gradient", lambda a, g: eye + (g * a).clamp(min=0).mean(dim=0))):
        flow = eye
        for attention, gradient in zip(out.attentions, gradients):
            flow = layer(attention[0].detach(), gradient[0]) @ flow
        scores[method] = readout @ flow
    return scores


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_every_method_on_every_architecture(architecture, tmp_path):
    folder = make_architecture_dir(architecture, tmp_path / architecture, seed=7)
    explained = reportgen.explain(base=folder, finetuned=folder, texts=TEXTS, method=list(METHODS), steps=16,
                                  max_length=MAX_LENGTH, device="cpu", faithfulness=False, quiet=True)
    check_every_method(folder, explained, ig_flagged=architecture in IG_FLAGGED)


@torch.no_grad()
def direct(model: nn.Module, tokenizer, texts: list[str]) -> torch.Tensor:
    """The model's probabilities for each text alone, called as its model card says: the reference."""
    return torch.cat([model(**tokenizer(text, max_length=MAX_LENGTH, truncation=True, return_tensors="pt")).logits
                      for text in texts]).softmax(-1)


def check_every_method(folder: Path, explained: reportgen.ExplainedReport, ig_flagged: bool = False,
                       references: dict[str, Loader] | None = None) -> None:
    """The report of TEXTS (tokenizer in `folder`): for each role of `references` (default: the base column,
    the model in `folder`), probabilities equal a direct call of that model on each text alone and the
    attention methods an explicit loop; words cover every token and character once, special tokens are never
    words nor top words, and integrated gradients adds up unless `ig_flagged` (then its column is flagged)."""
    report = explained.report
    view = build_view(report)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    references = references or {"base": from_folder(folder)}
    models = {role: load(attn_implementation="eager").eval() for role, load in references.items()}
    probabilities = {role: direct(model, tokenizer, TEXTS) for role, model in models.items()}
    specials = set(tokenizer.all_special_tokens)
    sentences = explained.sentences()
    for i, (sample, text) in enumerate(zip(report.samples, TEXTS)):
        for role, expected in probabilities.items():
            torch.testing.assert_close(torch.tensor(sample.models[role].probabilities), expected[i], atol=1e-5,
                                       rtol=1e-4)
        # every token in exactly one word, in order; every character of the text outside whitespace too
        assert [t for w in sample.words for t in range(w.first_token, w.last_token)] == list(range(len(sample.tokens)))
        spans = [(w.start, w.end) for w in sample.words if w.start is not None]
        assert all(text[s:e] == text[s:e].strip() != "" for s, e in spans)
        covered = [c for s, e in spans for c in range(s, e)]
        assert len(covered) == len(set(covered)) and covered == sorted(covered)
        assert {c for c, ch in enumerate(text) if not ch.isspace()} == set(covered)
        assert not any(w.text in specials for w in sample.words if w.start is not None)
        assert not any(f"*{special}*" in sentences[i] for special in specials)
        for shown in (view, build_view(report, granularity="wordpiece")):  # special tokens are never top words
            tops = {top.token for block in shown.samples[i].methods for column in block.columns
                    for top in column.top_for + column.top_against}
            assert tops and not tops & specials, tops
        for role, model in models.items():
            explicit = explicit_attention_scores(model, tokenizer, text, sample.models[role].target)
            for method, expected in explicit.items():
                torch.testing.assert_close(torch.tensor(sample.models[role].methods[method].scores), expected,
                                           rtol=1e-4, atol=1e-6 * float(expected.abs().max()))
        for column, model in zip(view.samples[i].methods[0].columns, sample.models.values()):
            result = model.methods["integrated-gradients"]
            converged = result.adds_up(report.meta.tolerance)  # fixed steps: within choices.FIXED_STEPS_DELTA
            assert converged != ig_flagged, (folder.name, result)
            assert (column.delta_warning is None) == converged
    assert "<html" in explained.html()


def test_a_mean_pooled_head_is_read_out_as_its_mean(tmp_path):
    """ModernBERT with `classifier_pooling: mean` averages the real tokens: the attention methods read
    out that mean, not the first token."""
    folder = make_architecture_dir("modernbert", tmp_path / "modernbert", seed=7)
    model = load_model(str(folder), role="base", encoder="", pooling="mean-all", device=resolve_device("cpu"))
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    torch.testing.assert_close(readout_weights(model, mask), mask.float() / mask.sum(dim=1, keepdim=True))
