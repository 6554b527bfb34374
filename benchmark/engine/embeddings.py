"""Computing a dataset's embeddings, and concatenating those of several models."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from benchmark.data.device_transform import collate_fn_of, device_transform_of
from benchmark.data.worker_processes import exit_quietly_on_stop_signals, stop_signals_deferred
from benchmark.engine.device import RunDevice


@torch.no_grad()
def embed(
    model: torch.nn.Module,
    dataset: Dataset,
    run_device: RunDevice,
    *,
    batch_size: int = 128,
    num_workers: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The raw embeddings of every item of ``dataset`` (in order) and their labels.

    The model is placed on ``run_device`` and runs in eval mode without gradients, under the
    run's precision settings; it is put back in its previous mode afterwards. Batches of uint8
    items are finished on the device by the dataset's device transform.

    Returns:
        ``(embeddings, labels)``: a float32 ``(N, D)`` tensor on the run's device and an int64
        ``(N,)`` tensor on the CPU.
    """
    run_device.place_model(model)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=run_device.pin_memory,
        collate_fn=collate_fn_of(dataset),
        worker_init_fn=exit_quietly_on_stop_signals,
    )
    finish = device_transform_of(dataset)
    was_training = model.training
    model.eval()
    embeddings, labels = [], []
    try:
        with stop_signals_deferred():  # its workers are forked here
            batches = iter(loader)
        for images, batch_labels in batches:
            with run_device.autocast():
                batch = model(run_device.place_images(images, finish))
            embeddings.append(batch.float())
            labels.append(torch.as_tensor(batch_labels).to(torch.int64))
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
