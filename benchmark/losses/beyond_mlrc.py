"""Published metric-learning losses that PML ships and MLRC never ran, taken from PML by name.

Chosen to cover what MLRC left out: the losses most cited after it (Circle, SupCon, Sub-center
ArcFace), pair weightings it did not test (Tuplet Margin, Lifted Structure), a second
histogram-based loss next to FastAP (Histogram), and the proxy-free original of ProxyNCA (NCA).
Their search spaces follow MLRC's style (``search_spaces/<name>.yaml`` says why each bound).
"""

from __future__ import annotations

import torch
from pytorch_metric_learning import losses as pml_losses

from benchmark.losses._registry import register_loss
from benchmark.losses.pml_wrappers import ZeroWithoutPositivesLoss


@register_loss("circle", display="Circle", kind="pair")
def build_circle(
    num_classes: int, embedding_size: int, m: float = 0.4, gamma: float = 80.0
) -> torch.nn.Module:
    """Circle loss: pair similarities weighted by their distance to the optimum (PML CircleLoss).

    m: the relaxation margin (optima 1 + m and -m, decision margins 1 - m and m on the cosine
    similarity); gamma: the scale of the log-sum-exp (inverse temperature).
    """
    return pml_losses.CircleLoss(m=m, gamma=gamma)


@register_loss("supcon", display="SupCon", kind="pair")
def build_supcon(
    num_classes: int, embedding_size: int, temperature: float = 0.1
) -> torch.nn.Module:
    """Supervised contrastive loss: NT-Xent with every same-class item a positive (PML SupConLoss).

    temperature: divides the cosine similarities before the softmax; smaller is sharper.
    """
    return pml_losses.SupConLoss(temperature=temperature)


@register_loss(
    "subcenter_arcface", display="Sub-center ArcFace", kind="classification", has_parameters=True
)
def build_subcenter_arcface(
    num_classes: int,
    embedding_size: int,
    margin: float = 28.6,
    scale: float = 64.0,
    sub_centers: int = 3,
) -> torch.nn.Module:
    """ArcFace whose class weight is the nearest of several sub-centers (PML SubCenterArcFaceLoss).

    margin: the additive angular margin, in degrees; scale: the logit scale; sub_centers: the
    learned sub-centers of each class.
    """
    return pml_losses.SubCenterArcFaceLoss(
        num_classes=num_classes,
        embedding_size=embedding_size,
        margin=margin,
        scale=scale,
        sub_centers=int(sub_centers),
    )


@register_loss("tuplet_margin", display="Tuplet Margin", kind="pair")
def build_tuplet_margin(
    num_classes: int,
    embedding_size: int,
    margin: float = 5.73,
    scale: float = 64.0,
    variance_weight: float = 0.5,
    pos_eps: float = 0.01,
    neg_eps: float = 0.01,
) -> torch.nn.Module:
    """Tuplet margin loss plus its paper's intra-pair variance loss (PML, as MultipleLosses).

    margin: the angular margin subtracted from the anchor-positive angle, in degrees; scale: the
    logit scale of the log-sum-exp; variance_weight: the weight of the intra-pair variance loss
    (0: the tuplet margin loss alone); pos_eps, neg_eps: how far below (above) the batch's mean
    cosine a positive (negative) pair may lie, as a fraction of it, before it is penalised.
    Defaults: the paper's, with PML's weights 1 and 0.5.
    """
    tuplet = pml_losses.TupletMarginLoss(margin=margin, scale=scale)
    if variance_weight == 0:
        return tuplet
    variance = pml_losses.IntraPairVarianceLoss(pos_eps=pos_eps, neg_eps=neg_eps)
    return pml_losses.MultipleLosses([tuplet, variance], weights=[1.0, variance_weight])


@register_loss("lifted_structure", display="Lifted Struct.", kind="pair")
def build_lifted_structure(
    num_classes: int, embedding_size: int, pos_margin: float = 0.0, neg_margin: float = 1.0
) -> torch.nn.Module:
    """Lifted structured loss: each positive pair against all its negatives (PML LiftedStructureLoss).

    pos_margin: distance below which positive pairs incur no loss; neg_margin: distance above
    which negative pairs incur no loss (Euclidean, on normalised embeddings).
    """
    return pml_losses.LiftedStructureLoss(neg_margin=neg_margin, pos_margin=pos_margin)


@register_loss("histogram", display="Histogram", kind="pair")
def build_histogram(num_classes: int, embedding_size: int, n_bins: int = 100) -> torch.nn.Module:
    """Histogram loss: the overlap of positive and negative similarity histograms (PML HistogramLoss).

    n_bins: the number of histogram bins over the cosine similarities [-1, 1].
    """
    return pml_losses.HistogramLoss(n_bins=int(n_bins))


@register_loss("nca", display="NCA", kind="pair")
def build_nca(num_classes: int, embedding_size: int, softmax_scale: float = 1.0) -> torch.nn.Module:
    """Neighbourhood components analysis: softmax over the batch's other items (PML NCALoss).

    softmax_scale: multiplies the negated Euclidean distances (normalised embeddings) before the
    softmax (inverse temperature). A batch without a positive pair gives 0 (PML: NaN).
    """
    return ZeroWithoutPositivesLoss(pml_losses.NCALoss(softmax_scale=softmax_scale))
