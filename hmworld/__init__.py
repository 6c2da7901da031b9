"""hmworld: HM-World-style hybrid-memory video datasets and a HyDRA reference trainer."""

__version__ = "0.1.0"
