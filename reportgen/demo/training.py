"""The two training regimes, on a pretrained BERT: head only (base) and everything (fine-tuned).

Both models are reportgen's `PooledBertClassifier` (mean over ALL positions, head
Linear-ReLU-Dropout-Linear) and start from the same weights: the pretrained encoder plus one
seeded random head. The base model trains its head on features of the frozen encoder (computed
once, in eval mode, so its many head epochs are cheap); the fine-tuned model trains every weight
with AdamW, a small learning rate for the encoder and a larger one for the fresh head.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import AutoConfig

from reportgen.demo.settings import TrainSettings
from reportgen.errors import ReportgenError
from reportgen.loading.attention import trimmed_padding_keys
from reportgen.loading.classifier import LEGACY_KEYS, PooledBertClassifier, pool
from reportgen.loading.inputs import EncodedTexts

NUM_CLASSES = 2


def load_encoder_weights(bert: nn.Module, encoder_dir: Path) -> None:
    """Copy the pretrained weights from `model.safetensors` into `bert`, every key accounted for."""
    from safetensors.torch import load_file

    path = encoder_dir / "model.safetensors"
    if not path.is_file():
        raise ReportgenError(f"{encoder_dir} has no model.safetensors with the pretrained encoder weights")
    state = {key.removeprefix("bert."): value for key, value in load_file(str(path)).items()}
    state = {key: value for key, value in state.items() if f"bert.{key}" not in LEGACY_KEYS}
    try:
        bert.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ReportgenError(f"{path} does not fit its config.json: {str(exc).splitlines()[0]}") from None


def pretrained_classifier(encoder_dir: Path, settings: TrainSettings) -> PooledBertClassifier:
    """A `PooledBertClassifier`: pretrained encoder, a random head seeded by `settings.seed`."""
    config = AutoConfig.from_pretrained(encoder_dir)
    config._attn_implementation = "sdpa"
    torch.manual_seed(settings.seed)
    model = PooledBertClassifier(config, [config.hidden_size, settings.head_width, NUM_CLASSES],
                                 pooling="mean-all")
    load_encoder_weights(model.bert, encoder_dir)
    return model


def _labels(labels: list[int], inputs: EncodedTexts) -> torch.Tensor:
    if len(labels) != len(inputs):
        raise ValueError(f"{len(labels)} labels for {len(inputs)} texts")
    return torch.tensor(labels, dtype=torch.long)


def _batches(count: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    order = torch.randperm(count, generator=generator)
    return list(order.split(batch_size))


@torch.inference_mode()
def frozen_features(model: PooledBertClassifier, inputs: EncodedTexts, batch_size: int,
                    progress: bool = True) -> torch.Tensor:
    """Pooled encoder outputs (before the head's dropout), eval mode: what the frozen base sees."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    with tqdm(total=len(inputs), desc="base: frozen-encoder features", unit="review", disable=not progress,
              dynamic_ncols=True) as bar, trimmed_padding_keys(model):
        for start in range(0, len(inputs), batch_size):
            mask = inputs.attention_mask[start:start + batch_size].to(device)
            hidden = model.bert(input_ids=inputs.input_ids[start:start + batch_size].to(device),
                                attention_mask=mask).last_hidden_state
            out.append(pool(hidden, mask, model.pooling).float())
            bar.update(len(mask))
    return torch.cat(out)


def train_base(model: PooledBertClassifier, inputs: EncodedTexts, labels: list[int], settings: TrainSettings,
               progress: bool = True) -> None:
    """Head only: the encoder's weights stay exactly the pretrained ones."""
    targets = _labels(labels, inputs)
    model.bert.requires_grad_(False)
    features = frozen_features(model, inputs, settings.batch_size, progress)
    head = nn.Sequential(model.dropout, model.classifier)  # = the module's forward after pooling
    optimizer = torch.optim.AdamW(head.parameters(), lr=settings.head_lr, weight_decay=settings.weight_decay)
    generator = torch.Generator().manual_seed(settings.seed)
    torch.manual_seed(settings.seed)  # dropout
    head.train()
    device = features.device
    for _ in tqdm(range(settings.head_epochs), desc="base: training the head", unit="epoch",
                  disable=not progress, dynamic_ncols=True):
        for batch in _batches(len(features), settings.batch_size, generator):
            loss = nn.functional.cross_entropy(head(features[batch.to(device)]), targets[batch].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model.eval()


def _schedule(optimizer: torch.optim.Optimizer, total_steps: int, warmup: float) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up, then linear decay to zero: the usual BERT fine-tuning schedule."""
    warm = max(1, math.ceil(warmup * total_steps))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total_steps - step) / max(1, total_steps - warm))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train_finetuned(model: PooledBertClassifier, inputs: EncodedTexts, labels: list[int],
                    settings: TrainSettings, progress: bool = True) -> None:
    """Every weight trained end to end, on inputs padded to max_length, as mean-all models are."""
    targets = _labels(labels, inputs)
    model.requires_grad_(True).train()
    head_ids = {id(p) for p in model.classifier.parameters()}
    groups = [{"params": [p for p in model.parameters() if id(p) not in head_ids], "lr": settings.encoder_lr},
              {"params": list(model.classifier.parameters()), "lr": settings.head_lr}]
    optimizer = torch.optim.AdamW(groups, weight_decay=settings.weight_decay)
    steps_per_epoch = math.ceil(len(inputs) / settings.batch_size)
    scheduler = _schedule(optimizer, settings.epochs * steps_per_epoch, settings.warmup)
    generator = torch.Generator().manual_seed(settings.seed)
    torch.manual_seed(settings.seed)  # dropout
    device = next(model.parameters()).device
    running = None
    with tqdm(total=settings.epochs * steps_per_epoch, desc="fine-tuned: training all weights", unit="batch",
              disable=not progress, dynamic_ncols=True) as bar, trimmed_padding_keys(model):
        for _ in range(settings.epochs):
            for batch in _batches(len(inputs), settings.batch_size, generator):
                logits = model(input_ids=inputs.input_ids[batch].to(device),
                               attention_mask=inputs.attention_mask[batch].to(device))
                loss = nn.functional.cross_entropy(logits, targets[batch].to(device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                value = float(loss.detach())
                running = value if running is None else 0.9 * running + 0.1 * value
                bar.set_postfix_str(f"loss {running:.3f}")
                bar.update()
    model.eval()


def split_rows(total: int, settings: TrainSettings) -> tuple[list[int], list[int]]:
    """Seeded, disjoint training and held-out rows: neither model ever trains on a held-out review."""
    if settings.train_size + settings.heldout_size > total:
        raise ReportgenError(f"--train-size plus held-out size exceeds the {total} IMDB reviews")
    order = list(range(total))
    random.Random(settings.seed).shuffle(order)
    return order[: settings.train_size], order[settings.train_size: settings.train_size + settings.heldout_size]
