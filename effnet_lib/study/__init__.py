"""Experiments: one run trained and evaluated (`pipeline`, also the demo), many runs as a cached
sweep on any executor (`sweeps`, `executors`), the scaling study, the rule its table is read by,
what it says of the paper's claims and its committed results (`scaling_study`, `scaling_analysis`,
`scaling_claims`, `scaling_results`), and the transfer study (`transfer`).

The last wing of the data path: it may import every other; none imports it.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "pipeline": ["Evaluated", "demo", "demo_config", "train_and_evaluate"],
        "sweeps": ["SweepError", "sweep"],
        "executors": ["LocalPool", "Slurm", "open_executor"],
    },
    modules=("scaling_study", "scaling_analysis", "scaling_claims", "scaling_results", "transfer"),
)
