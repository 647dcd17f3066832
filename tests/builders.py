"""Tiny real models and datasets, built inside the test session (no hub, no downloads)."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import replace
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

from reportgen.attribution.integrated_gradients import baseline_ids
from reportgen.inference import predict_logits
from reportgen.loading.classifier import PooledBertClassifier
from reportgen.loading.inputs import EncodedTexts
from reportgen.loading.models import LoadedModel

WORDS = ("the a an and or but not no very good great bad awful movie film plot acting actor story "
         "it is was this that i loved hated boring wonderful terrible best worst fun dull script "
         "scene scenes ending music character characters watch watched time really just so too").split()
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"
PUNCTUATION = list(".,!?'\"()<>/{}*-:;&=")


def vocabulary() -> list[str]:
    """Any lower-case text tokenizes: known words whole, the rest letter by letter."""
    return SPECIAL + PUNCTUATION + list(LETTERS) + [f"##{c}" for c in LETTERS] + WORDS


def make_encoder_dir(path: Path, hidden: int = 32, layers: int = 2, max_positions: int = 128) -> Path:
    """A BERT config and tokenizer directory, like a local `bert-base-uncased` but tiny."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "vocab.txt").write_text("\n".join(vocabulary()) + "\n")
    (path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer", "do_lower_case": True}))
    AutoTokenizer.from_pretrained(path).save_pretrained(path)  # the same files a hub BERT has
    config = BertConfig(vocab_size=len(vocabulary()), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=4, intermediate_size=2 * hidden, max_position_embeddings=max_positions)
    config.save_pretrained(path)
    return path


def make_classifier(encoder_dir: Path, seed: int, head_width: int = 16, num_classes: int = 2,
                    pooling: str = "mean-all") -> PooledBertClassifier:
    """The user's module with random weights; a large-ish head so predictions are not all ties."""
    torch.manual_seed(seed)
    config = BertConfig.from_pretrained(encoder_dir)
    model = PooledBertClassifier(config, [config.hidden_size, head_width, num_classes], pooling=pooling)
    with torch.no_grad():
        for parameter in model.classifier.parameters():
            parameter.mul_(4.0)
    return model.eval()


def save_checkpoint(model: torch.nn.Module, path: Path, legacy_position_ids: bool = False) -> Path:
    """`torch.save(model.state_dict(), path)`, optionally with the buffer older transformers saved."""
    state = dict(model.state_dict())
    if legacy_position_ids:
        positions = model.bert.config.max_position_embeddings
        state["bert.embeddings.position_ids"] = torch.arange(positions).unsqueeze(0)
    torch.save(state, path)
    return path


def load_user_module(encoder_dir: Path, checkpoint: Path, pooling: str = "mean-all") -> PooledBertClassifier:
    """The user's module loaded by hand (`torch.load` + `load_state_dict`), not through reportgen's loader:
    the reference that reportgen's predictions and gradients are checked against."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    state.pop("bert.embeddings.position_ids", None)
    config = BertConfig.from_pretrained(encoder_dir)
    linear = sorted(int(key.split(".")[1]) for key in state if key.startswith("classifier.") and key.endswith("weight"))
    widths = [config.hidden_size] + [state[f"classifier.{i}.weight"].shape[0] for i in linear]
    module = PooledBertClassifier(config, widths, pooling=pooling)
    module.load_state_dict(state)
    return module.eval()


def make_hf_dir(encoder_dir: Path, path: Path, seed: int, num_labels: int = 2, problem_type: str | None = None,
                bias: list[float] | None = None, second_segment_scale: float = 1.0, head_scale: float = 1.0,
                label_names: list[str] | None = None) -> Path:
    """A BERT sequence classifier directory. `second_segment_scale` scales token type 1's embedding, so
    that a sentence pair's segments visibly change the logits (a path that drops token type ids then
    fails the tests); `head_scale` scales the head's weights (probabilities far from uniform); `bias`: the
    head's bias (a multi-label model's labels above or below 0.5); `label_names`: the config's id2label (default:
    transformers' placeholders LABEL_0, LABEL_1, …)."""
    torch.manual_seed(seed)
    config = BertConfig.from_pretrained(encoder_dir)
    config.num_labels = num_labels
    config.problem_type = problem_type
    if label_names is not None:
        config.id2label = dict(enumerate(label_names))
        config.label2id = {name: i for i, name in enumerate(label_names)}
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.bert.embeddings.token_type_embeddings.weight[1].mul_(second_segment_scale)
        model.classifier.weight.mul_(head_scale)
        if bias is not None:
            model.classifier.bias.copy_(torch.tensor(bias))
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(encoder_dir).save_pretrained(path)
    return path


REVIEWS = [
    ("this movie was great and the acting was wonderful", 1),
    ("awful plot, boring scenes and the worst ending", 0),
    ("<script>alert('x')</script> {{ 7*7 }} & not so good", 0),
    ("i loved it! the best film, really fun", 1),
    ("it was not good. not good at all. " * 30, 0),  # longer than a small --max-length
    ("dull characters but great music", 1),
]


def write_dataset(path: Path, fmt: str, text_column: str = "text", label_column: str | None = "label") -> Path:
    """The same rows as csv, json (array), jsonl, parquet or a save_to_disk directory."""
    import datasets

    columns: dict[str, list] = {text_column: [text for text, _ in REVIEWS]}
    if label_column:
        columns[label_column] = [label for _, label in REVIEWS]
    if fmt == "json":
        rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
        path.write_text(json.dumps(rows))
        return path
    table = datasets.Dataset.from_dict(columns)
    if fmt == "csv":
        table.to_csv(str(path), index=False)
    elif fmt == "jsonl":
        table.to_json(str(path), lines=True)
    elif fmt == "parquet":
        table.to_parquet(str(path))
    elif fmt == "disk":
        features = table.features.copy()
        if label_column:
            features[label_column] = datasets.ClassLabel(names=["neg", "pos"])
        datasets.DatasetDict({"test": table.cast(features)}).save_to_disk(str(path))
    else:
        raise ValueError(fmt)
    return path


def random_texts(count: int, seed: int = 0) -> list[str]:
    """Texts of 1 to 60 words, so some are cut at a small --max-length and lengths vary a lot."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 60))) for _ in range(count)]


def write_csv(path: Path, texts: list[str], labels: list[int] | None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"] if labels is not None else ["text"])
        for i, text in enumerate(texts):
            writer.writerow([text, labels[i]] if labels is not None else [text])
    return path


def endpoint_logits(model: LoadedModel, inputs: EncodedTexts,
                    targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(F(x), F(x′)), each (batch,): the target logits at the texts and at integrated gradients' baseline
    (`baseline_ids`), the terms whose size a logit change and a convergence delta round at
    (tests.tolerances.delta_magnitude)."""
    baseline = replace(inputs, input_ids=baseline_ids(inputs, model.baseline_token_id))
    chosen = [predict_logits(model, encoded, batch_size=len(inputs)).gather(1, targets.view(-1, 1)).squeeze(1).cpu()
              for encoded in (inputs, baseline)]
    return chosen[0], chosen[1]
