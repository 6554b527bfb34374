"""Computing a dataset's embeddings, and concatenating those of several models."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from benchmark.engine.device import autocast, memory_format, resolve_device


@torch.no_grad()
def embed(
    model: torch.nn.Module,
    dataset: Dataset,
    *,
    batch_size: int = 128,
    device: str | torch.device = "auto",
    num_workers: int = 0,
    amp: bool = False,
    channels_last: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The raw embeddings of every item of ``dataset`` (in order) and their labels.

    The model runs in eval mode without gradients and is put back in its previous mode.
    ``amp`` and ``channels_last`` only take effect on CUDA.

    Returns:
        ``(embeddings, labels)``: a float32 ``(N, D)`` tensor and an int64 ``(N,)`` tensor,
        both on the CPU.
    """
    device = resolve_device(device)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
    )
    was_training = model.training
    model.eval()
    image_format = memory_format(device, channels_last)
    embeddings, labels = [], []
    try:
        for images, batch_labels in loader:
            images = images.to(device, non_blocking=True, memory_format=image_format)
            with autocast(device, amp):
                batch = model(images)
            embeddings.append(batch.float().cpu())
            labels.append(torch.as_tensor(batch_labels).to(torch.int64).cpu())
    finally:
        model.train(was_training)
    if not embeddings:
        raise ValueError("cannot embed an empty dataset")
    return torch.cat(embeddings), torch.cat(labels)


def concatenate_embeddings(embeddings: list[torch.Tensor]) -> torch.Tensor:
    """L2-normalise each model's embeddings, concatenate them, and normalise the result.

    This is MLRC's "concatenated" evaluation: 4 folds' 128-d embeddings give one 512-d one.
    """
    if not embeddings:
        raise ValueError("need at least one set of embeddings")
    parts = [F.normalize(torch.as_tensor(e).float(), dim=1) for e in embeddings]
    return F.normalize(torch.cat(parts, dim=1), dim=1)
