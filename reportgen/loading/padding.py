"""The pad token every model's inputs are built with: a tokenizer without one gets its model's.

reportgen's pad token does three jobs: it pads a batch to one width (masked out by the attention mask,
except for a mean-all model, which averages over padding too), it is integrated gradients' baseline
token x′ at every word position, and it is the token that removed words leave behind at the end of a
row (occlusion, Shapley value sampling, the faithfulness metrics). In the last two the model *sees* it,
so it cannot be any token: the one the model itself declares as padding (its config's `pad_token_id`,
which decoder classifiers also use to find a text's last token) is the only choice that is the model's
own. A tokenizer without a pad token (GPT-2 style) gets that one, and the model's note says so; when the
config names none either, an encoder is refused before any work.

A decoder classifier (`loading.decoder`) never sees its padding: reportgen pads it on the right, its causal
attention keeps every real token from attending to a later position, and the read-out is the last real
token, found from the attention mask; removed words leave padding at the end of the row, after the read-out;
and integrated gradients' baseline for a decoder is the zero vector, not the pad embedding (docs/maths.md).
So where neither its tokenizer nor its config names a pad token (Llama, Mistral), it pads with its EOS token,
as transformers' documentation advises, and the note says so.
"""

from __future__ import annotations

import copy

from transformers import PretrainedConfig, PreTrainedTokenizerBase

from reportgen.choices import role_word
from reportgen.errors import ReportgenError


def with_pad_token(tokenizer: PreTrainedTokenizerBase, config: PretrainedConfig | None,
                   role: str, *, decoder: bool = False) -> tuple[PreTrainedTokenizerBase, str | None]:
    """(`tokenizer` itself and None if it has a pad token; else a copy padding with the config's
    `pad_token_id` (a decoder without one: its EOS token), and the note that says so). The tokenizer passed in
    is never changed.

    ReportgenError when neither the tokenizer nor the config names a pad token (nor, for a decoder, an EOS
    token), or the config's `pad_token_id` is not a token of the tokenizer."""
    if tokenizer.pad_token_id is not None:
        return tokenizer, None
    pad_id = getattr(config, "pad_token_id", None)
    if decoder and not isinstance(pad_id, int) and tokenizer.eos_token_id is not None:
        padded = copy.deepcopy(tokenizer)
        padded.pad_token = padded.eos_token
        return padded, (f"neither its tokenizer nor its config names a pad token: padded with its EOS token "
                        f"({padded.eos_token}), which the decoder never reads")
    if not isinstance(pad_id, int) or isinstance(pad_id, bool):
        raise ReportgenError(
            f"the {role_word(role)} model's tokenizer has no pad token and its config no pad_token_id; reportgen pads "
            "texts with it and uses it as integrated gradients' baseline and for removed words, so name the one the "
            "model was trained with: set pad_token_id in its config.json (e.g. its eos_token_id), or give the "
            "tokenizer a pad token (tokenizer.pad_token = …)")
    if not 0 <= pad_id < len(tokenizer):
        raise ReportgenError(f"the {role_word(role)} model's tokenizer has no pad token, and its config's pad_token_id "
                             f"{pad_id} is not one of the tokenizer's {len(tokenizer):,} tokens; set pad_token_id in "
                             "its config.json to a token id of its tokenizer, or give the tokenizer a pad token")
    padded = copy.deepcopy(tokenizer)
    padded.pad_token = padded.convert_ids_to_tokens(pad_id)
    if padded.pad_token_id != pad_id:  # a token string that several ids share: it would not map back
        raise ReportgenError(f"the {role_word(role)} model's tokenizer has no pad token, and its config's pad_token_id "
                             f"{pad_id} ({padded.pad_token!r}) does not map back to one id; give the tokenizer a pad "
                             "token")
    return padded, (f"its tokenizer has no pad token: padded with the config's pad_token_id {pad_id} "
                    f"({padded.pad_token}), also integrated gradients' baseline and the token of removed words")
