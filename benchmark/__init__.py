"""A fair benchmark for deep metric learning (MLRC protocol, mean-field losses)."""

__version__ = "0.1.0"
