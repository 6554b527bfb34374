"""MLRC's other eight methods, taken from pytorch-metric-learning by name (not re-implemented).

"A Metric Learning Reality Check" (Musgrave et al., ECCV 2020) compared 14 methods; six of them
are the paper's baselines (``baselines.py``). What MLRC did not search takes PML's defaults here
(MLRC's per-loss configs are not public); no miner except for MS+Miner, as MLRC. Pair-based
losses see batches of m images per class, the classification losses (class weights or centers,
no pairs needed) one image per class. Margin and Margin/class learn their boundary beta, trained
without weight decay as MLRC's ``*_no_weight_decay`` runs were. Search spaces and evidence:
``results/reference/mlrc-search-spaces.md``, section 3.
"""

from __future__ import annotations

import torch
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning import regularizers as pml_regularizers

from benchmark.losses._registry import register_loss
from benchmark.losses.pml_wrappers import MLRCSparseCentersRegularizer, NormalizedEmbeddingsLoss


@register_loss("triplet", display="Triplet", kind="pair")
def build_triplet(num_classes: int, embedding_size: int, margin: float = 0.05) -> torch.nn.Module:
    """Triplet margin loss over every triplet of the batch (PML TripletMarginLoss).

    margin: the Euclidean distance (on normalised embeddings) by which a negative must be
    farther from the anchor than the positive.
    """
    return pml_losses.TripletMarginLoss(margin=margin)


@register_loss("ntxent", display="NTXent", kind="pair")
def build_ntxent(
    num_classes: int, embedding_size: int, temperature: float = 0.07
) -> torch.nn.Module:
    """NT-Xent (InfoNCE) loss over the positive pairs of the batch (PML NTXentLoss).

    temperature: divides the cosine similarities before the softmax; smaller is sharper.
    """
    return pml_losses.NTXentLoss(temperature=temperature)


@register_loss(
    "margin", display="Margin", kind="pair", has_parameters=True, parameter_weight_decay=0.0
)
def build_margin(
    num_classes: int, embedding_size: int, margin: float = 0.2, init_beta: float = 1.2
) -> torch.nn.Module:
    """Margin loss with one learned boundary beta (PML MarginLoss, learn_beta).

    margin: how far below the boundary beta positive distances, and above it negative distances,
    must lie (Euclidean, on normalised embeddings); init_beta: the starting value of beta,
    whose learning rate is ``loss_lr``.
    """
    return pml_losses.MarginLoss(margin=margin, beta=init_beta, learn_beta=True)


@register_loss(
    "margin_per_class",
    display="Margin/class",
    kind="pair",
    has_parameters=True,
    parameter_weight_decay=0.0,
)
def build_margin_per_class(
    num_classes: int, embedding_size: int, margin: float = 0.2, init_beta: float = 1.2
) -> torch.nn.Module:
    """Margin loss with a learned boundary beta per class (PML MarginLoss, num_classes).

    margin: how far below its anchor's class beta positive distances, and above it negative
    distances, must lie; init_beta: the starting value of every class's beta, whose learning
    rate is ``loss_lr``.
    """
    return pml_losses.MarginLoss(
        margin=margin, beta=init_beta, learn_beta=True, num_classes=num_classes
    )


@register_loss(
    "normalized_softmax", display="Norm. Softmax", kind="classification", has_parameters=True
)
def build_normalized_softmax(
    num_classes: int, embedding_size: int, temperature: float = 0.05
) -> torch.nn.Module:
    """Softmax over cosine similarities to learned class weights (PML NormalizedSoftmaxLoss).

    temperature: divides the cosine similarities before the softmax; smaller is sharper.
    """
    return pml_losses.NormalizedSoftmaxLoss(num_classes, embedding_size, temperature=temperature)


@register_loss("fastap", display="FastAP", kind="pair")
def build_fastap(num_classes: int, embedding_size: int, num_bins: int = 10) -> torch.nn.Module:
    """FastAP: average precision from soft histograms of distances (PML FastAPLoss).

    num_bins: the number of histogram bins over the squared distances [0, 4].
    """
    return pml_losses.FastAPLoss(num_bins=int(num_bins))


@register_loss("snr_contrastive", display="SNR Cont.", kind="pair")
def build_snr_contrastive(
    num_classes: int,
    embedding_size: int,
    pos_margin: float = 0.0,
    neg_margin: float = 1.0,
    regularizer_weight: float = 0.0,
) -> torch.nn.Module:
    """Contrastive loss on signal-to-noise-ratio distances (PML SignalToNoiseRatioContrastiveLoss).

    pos_margin: SNR distance below which positive pairs incur no loss; neg_margin: SNR distance
    above which negative pairs incur no loss; regularizer_weight: weight of PML's
    ZeroMeanRegularizer (mean |sum of an embedding's entries|) on the normalised embeddings.
    """
    regularizer = pml_regularizers.ZeroMeanRegularizer() if regularizer_weight > 0 else None
    loss = pml_losses.SignalToNoiseRatioContrastiveLoss(
        pos_margin=pos_margin,
        neg_margin=neg_margin,
        embedding_regularizer=regularizer,
        embedding_reg_weight=regularizer_weight,
    )
    return NormalizedEmbeddingsLoss(loss)


@register_loss("soft_triple", display="SoftTriple", kind="classification", has_parameters=True)
def build_soft_triple(
    num_classes: int,
    embedding_size: int,
    centers_per_class: int = 10,
    la: float = 20.0,
    gamma: float = 0.1,
    reg_weight: float = 0.2,
    margin: float = 0.01,
) -> torch.nn.Module:
    """SoftTriple: softmax over classes each held by several learned centers (PML SoftTripleLoss).

    centers_per_class: the centers of each class; la: the logit scale (lambda); gamma: the
    temperature of the softmax that weighs a class's centers (PML divides by it); reg_weight:
    weight of the regulariser that merges a class's redundant centers, the mean distance of its
    centers as MLRC's PML version computed it (:class:`MLRCSparseCentersRegularizer`: today's
    PML halves it); 0 turns it off (it holds two (C x centers)^2 masks, out of reach on SOP), as
    does a single center per class; margin: subtracted from the similarity to the true class.
    """
    regularizer = None
    if reg_weight > 0 and centers_per_class > 1:
        regularizer = MLRCSparseCentersRegularizer(num_classes, int(centers_per_class))
    return pml_losses.SoftTripleLoss(
        num_classes,
        embedding_size,
        centers_per_class=int(centers_per_class),
        la=la,
        gamma=gamma,
        margin=margin,
        weight_regularizer=regularizer,
        weight_reg_weight=reg_weight,
    )
