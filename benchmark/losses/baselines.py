"""The seven baselines of the paper, taken from pytorch-metric-learning by name (not re-implemented)."""

from __future__ import annotations

import torch
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning import miners as pml_miners

from benchmark.losses._registry import register_loss
from benchmark.losses.pml_wrappers import MinedLoss


@register_loss("contrastive", display="Cont.", kind="pair")
def build_contrastive(
    num_classes: int, embedding_size: int, pos_margin: float = 0.0, neg_margin: float = 1.0
) -> torch.nn.Module:
    """Contrastive loss (PML ContrastiveLoss, Euclidean distance on normalised embeddings)."""
    return pml_losses.ContrastiveLoss(pos_margin=pos_margin, neg_margin=neg_margin)


@register_loss("multi_similarity", display="MS", kind="pair")
def build_multi_similarity(
    num_classes: int,
    embedding_size: int,
    alpha: float = 2.0,
    beta: float = 50.0,
    base: float = 0.5,
) -> torch.nn.Module:
    """MultiSimilarity loss (PML MultiSimilarityLoss)."""
    return pml_losses.MultiSimilarityLoss(alpha=alpha, beta=beta, base=base)


@register_loss("multi_similarity_miner", display="MS+Miner", kind="pair")
def build_multi_similarity_miner(
    num_classes: int,
    embedding_size: int,
    alpha: float = 2.0,
    beta: float = 50.0,
    base: float = 0.5,
    epsilon: float = 0.1,
) -> torch.nn.Module:
    """MultiSimilarity loss on the pairs of PML's MultiSimilarityMiner."""
    return MinedLoss(
        pml_losses.MultiSimilarityLoss(alpha=alpha, beta=beta, base=base),
        pml_miners.MultiSimilarityMiner(epsilon=epsilon),
    )


@register_loss("arcface", display="ArcFace", kind="classification", has_parameters=True)
def build_arcface(
    num_classes: int, embedding_size: int, margin: float = 28.6, scale: float = 64.0
) -> torch.nn.Module:
    """ArcFace loss (PML ArcFaceLoss; margin in degrees; owns class weights W)."""
    return pml_losses.ArcFaceLoss(num_classes, embedding_size, margin=margin, scale=scale)


@register_loss("cosface", display="CosFace", kind="classification", has_parameters=True)
def build_cosface(
    num_classes: int, embedding_size: int, margin: float = 0.35, scale: float = 64.0
) -> torch.nn.Module:
    """CosFace loss (PML CosFaceLoss; owns class weights W)."""
    return pml_losses.CosFaceLoss(num_classes, embedding_size, margin=margin, scale=scale)


@register_loss("proxy_nca", display="ProxyNCA", kind="classification", has_parameters=True)
def build_proxy_nca(
    num_classes: int, embedding_size: int, softmax_scale: float = 1.0
) -> torch.nn.Module:
    """ProxyNCA loss (PML ProxyNCALoss; owns proxies)."""
    return pml_losses.ProxyNCALoss(num_classes, embedding_size, softmax_scale=softmax_scale)


@register_loss("proxy_anchor", display="ProxyAnch.", kind="classification", has_parameters=True)
def build_proxy_anchor(
    num_classes: int, embedding_size: int, margin: float = 0.1, alpha: float = 32.0
) -> torch.nn.Module:
    """ProxyAnchor loss (PML ProxyAnchorLoss; owns proxies)."""
    return pml_losses.ProxyAnchorLoss(num_classes, embedding_size, margin=margin, alpha=alpha)
