"""The 14 methods "A Metric Learning Reality Check" (Musgrave et al., ECCV 2020) compared, by
their registered loss names, in the row order of its tables.

A fact about the paper, kept apart from the losses themselves (:mod:`benchmark.losses` builds
them, with torch), so that a table can ask which losses MLRC ran without loading torch.
"""

MLRC2020_METHODS = (
    "contrastive",
    "triplet",
    "ntxent",
    "proxy_nca",
    "margin",
    "margin_per_class",
    "normalized_softmax",
    "cosface",
    "arcface",
    "fastap",
    "snr_contrastive",
    "multi_similarity",
    "multi_similarity_miner",
    "soft_triple",
)
