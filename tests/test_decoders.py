"""Every decoder-only sequence classifier in common use (GPT-2, Llama, Qwen2, Qwen3, Mistral, Gemma, Phi-3),
tiny and random, through the report path with every method: each row any method runs is read out at the
text's last real token, whatever the padding, so the report's probabilities, its word-removal values and its
attention scores equal direct calls of the model on each text alone."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import reportgen
from reportgen.loading.decoder import last_real_token, position_ids
from reportgen.loading.device import resolve_device
from reportgen.loading.inputs import encode
from reportgen.loading.models import load_model
from reportgen.methods import METHODS
from tests.test_architectures import MAX_LENGTH, TEXTS, check_every_method
from tests.tiny_models import DECODERS, make_decoder_dir
from tests.tolerances import assert_close_fp32


@torch.no_grad()
def direct_logit(model, ids: list[int], target: int) -> float:
    """The model's target logit for one row of token ids, alone (no padding), called as its model card says."""
    return float(model(input_ids=torch.tensor([ids])).logits[0, target])


@pytest.mark.parametrize("architecture", list(DECODERS))
def test_every_method_on_every_decoder(architecture, tmp_path):
    folder = make_decoder_dir(architecture, tmp_path / architecture, seed=7)
    # Auto steps: tiny random decoders' logits bend sharply along the path, so 16 fixed steps leave large deltas
    explained = reportgen.explain(base=folder, finetuned=folder, texts=TEXTS, method=list(METHODS),
                                  max_length=MAX_LENGTH, device="cpu", quiet=True)
    check_every_method(folder, explained)
    # Word removal: occlusion's value of a word is f(text) − f(text without the word), each row the
    # shortened text alone; the rows reportgen ran were shifted left and re-padded in a batch.
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    for sample, text in zip(explained.report.samples, TEXTS):
        column = sample.models["base"]
        ids = tokenizer(text, max_length=MAX_LENGTH, truncation=True)["input_ids"]
        whole = direct_logit(model, ids, column.target)
        words = [w for w in sample.words if w.start is not None]
        expected = [whole - direct_logit(model, ids[:w.first_token] + ids[w.last_token:], column.target)
                    for w in words]
        got = [column.methods["occlusion"].scores[w.first_token] for w in words]
        assert_close_fp32(torch.tensor(got), torch.tensor(expected), scale=max(abs(whole), 1.0))
    assert all("padded on the right" in (info.note or "") for info in explained.report.meta.models)


def test_the_read_out_is_the_last_real_token_whatever_the_padding(tmp_path):
    """A left-padded batch (rotary positions) and a right-padded one give each text's own logits: the
    positions count real tokens only and the read-out is found from the mask, never from the last position."""
    folder = make_decoder_dir("llama", tmp_path / "llama", seed=3)
    model = load_model(str(folder), role="base", encoder="", pooling="mean-all", device=resolve_device("cpu"))
    alone = torch.cat([model.logits(torch.ones(1, len(ids), dtype=torch.long), input_ids=torch.tensor([ids]))
                       for ids in (model.tokenizer(text)["input_ids"] for text in TEXTS)])
    for side in ("right", "left"):
        model.tokenizer.padding_side = side
        inputs = encode(model.tokenizer, TEXTS, MAX_LENGTH, pad_to_max_length=False)
        assert not inputs.attention_mask.all()
        with torch.no_grad():
            by_ids = model.logits(inputs.attention_mask, input_ids=inputs.input_ids)
            by_embeds = model.logits(inputs.attention_mask, inputs_embeds=model.word_embeddings(inputs.input_ids))
        assert_close_fp32(by_ids, alone, scale=alone.abs().max().clamp(min=1.0))
        assert_close_fp32(by_embeds, alone, scale=alone.abs().max().clamp(min=1.0))
    pad = model.tokenizer.pad_token_id  # a row without real tokens reads its pad token alone
    with torch.no_grad():
        assert_close_fp32(model.logits(torch.zeros(1, 3, dtype=torch.long), input_ids=torch.full((1, 3), pad)),
                          model.logits(torch.ones(1, 1, dtype=torch.long), input_ids=torch.full((1, 1), pad)),
                          scale=alone.abs().max().clamp(min=1.0))
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 0, 0]])
    assert last_real_token(mask).tolist() == [4, 2]
    assert position_ids(mask).tolist() == [[0, 0, 0, 1, 2], [0, 1, 2, 0, 0]]


def test_a_decoder_without_any_pad_token_pads_with_its_eos(tmp_path):
    """Llama ships no pad token and its config names none: reportgen pads with EOS, which the decoder never
    reads, and the header says so; an encoder without one is still refused (tests/test_padding.py)."""
    folder = make_decoder_dir("mistral", tmp_path / "mistral", seed=1)
    assert AutoTokenizer.from_pretrained(folder).pad_token is None
    model = load_model(str(folder), role="finetuned", encoder="", pooling="mean-all", device=resolve_device("cpu"))
    assert model.tokenizer.pad_token == "</s>" and model.tokenizer.padding_side == "right"
    assert "padded with its EOS token (</s>)" in model.info.note



def test_an_empty_text_on_a_decoder_without_bos_reads_its_pad_token_alone(tmp_path):
    """GPT-2's tokenizer adds no special token, so an empty text alone is a batch of zero width: it is widened to
    one padding position, which the decoder reads alone, and every method explains it (no tokens, no words)."""
    folder = make_decoder_dir("gpt2", tmp_path / "gpt2", seed=5)
    loaded = load_model(str(folder), role="base", encoder="", pooling="mean-all", device=resolve_device("cpu"))
    inputs = encode(loaded.tokenizer, [""], MAX_LENGTH, pad_to_max_length=False)
    pad = loaded.tokenizer.pad_token_id
    assert inputs.input_ids.tolist() == [[pad]] and inputs.attention_mask.tolist() == [[0]]
    assert inputs.word_ids == [[]] and inputs.offsets == [[]]
    explained = reportgen.explain(base=folder, finetuned=folder, texts=[""], method=list(METHODS),
                                  max_length=MAX_LENGTH, device="cpu", quiet=True)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        expected = model(input_ids=torch.tensor([[pad]])).logits.softmax(-1)[0]
    sample = explained.report.samples[0]
    assert sample.tokens == [] and sample.words == []
    for column in sample.models.values():
        assert_close_fp32(torch.tensor(column.probabilities), expected, scale=1.0)
        assert set(column.methods) == set(METHODS)
        assert all(list(result.scores) == [] for result in column.methods.values())
