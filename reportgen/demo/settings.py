"""What the demo trains with (`TrainSettings`): torch-free, so the command line checks it before torch loads."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from reportgen.errors import ReportgenError


@dataclass(frozen=True)
class TrainSettings:
    """Everything that changes the trained weights; the cache key is made from it."""

    max_length: int = 256
    train_size: int = 800
    heldout_size: int = 400
    epochs: int = 2  # fine-tuning passes over the training reviews
    seed: int = 0
    batch_size: int = 16
    encoder_lr: float = 5e-5
    head_lr: float = 1e-3
    head_epochs: int = 40  # the base head's passes over the cached features (cheap)
    head_width: int = 256
    weight_decay: float = 0.01
    warmup: float = 0.1  # share of fine-tuning steps with a rising learning rate

    def check(self) -> None:
        for name in ("train_size", "heldout_size", "epochs", "batch_size", "head_epochs"):
            if getattr(self, name) < 1:
                raise ReportgenError(f"--{name.replace('_', '-')} must be at least 1 (got {getattr(self, name)})")
        if not 8 <= self.max_length <= 512:
            raise ReportgenError(f"--max-length must be between 8 and 512 for the demo (got {self.max_length})")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
