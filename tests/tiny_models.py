"""Tiny random Hugging Face classifiers of other architectures, with their tokenizers, built offline.

The byte-level BPE tokenizer (RoBERTa's kind) is trained in the test session on the builders'
word list, so every lower-case English text tokenizes, and spaces, newlines and double spaces give
the `Ġ`/`Ċ` tokens of a real RoBERTa tokenizer.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase

from tests.builders import LETTERS, PUNCTUATION, WORDS

ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # ids 0-4, as in roberta-base


def byte_level_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """A RoBERTa tokenizer (byte-level BPE, `<s>`/`</s>`, padding id 1) with a few hundred merges."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    corpus = [" ".join(WORDS), " ".join(LETTERS), " ".join(PUNCTUATION)] * 3
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=420, min_frequency=1, special_tokens=ROBERTA_SPECIALS,
                            show_progress=False)
    bpe.save_model(str(folder))
    tokenizer = RobertaTokenizerFast(vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"))
    tokenizer.save_pretrained(folder)
    return tokenizer


def save_model(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, folder: Path) -> Path:
    model.eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_config(config_class: type[PretrainedConfig], tokenizer: PreTrainedTokenizerBase, **extra) -> PretrainedConfig:
    return config_class(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, num_labels=2, pad_token_id=tokenizer.pad_token_id, **extra)


def make_roberta_dir(folder: Path, seed: int, max_positions: int = 66) -> Path:
    """roberta-base in miniature: positions numbered from padding index 1 + 1, so 64 tokens fit in 66."""
    from transformers import RobertaConfig, RobertaForSequenceClassification

    tokenizer = byte_level_tokenizer(folder)
    torch.manual_seed(seed)
    config = tiny_config(RobertaConfig, tokenizer, max_position_embeddings=max_positions, bos_token_id=0,
                         eos_token_id=2)
    return save_model(RobertaForSequenceClassification(config), tokenizer, folder)


def make_deberta_v2_dir(folder: Path, seed: int) -> Path:
    """DeBERTa-v3 in miniature: relative attention, no absolute positions, no SDPA in transformers."""
    from transformers import DebertaV2Config, DebertaV2ForSequenceClassification

    tokenizer = byte_level_tokenizer(folder)
    torch.manual_seed(seed)
    config = tiny_config(DebertaV2Config, tokenizer, max_position_embeddings=64, relative_attention=True,
                         position_biased_input=False, pos_att_type=["p2c", "c2p"], max_relative_positions=-1,
                         position_buckets=16)
    return save_model(DebertaV2ForSequenceClassification(config), tokenizer, folder)
