"""What people see: displays that draw computed numbers (`plots`, `diagnostic_plots`; `.plot(ax=None)`
returns self), the ipywidgets explorer and its views (`explorer`, `explorer_views`, `explorer_runs`), the static HTML
report (`report`), and the folder of files and figures an evaluation leaves (`outputs`).

The only wing that draws (imports matplotlib); it reads results and never trains.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "plots": [
            "DIMENSION_COLOURS",
            "ConfusionHeatmap",
            "GainOverBase",
            "PredictionGallery",
            "ScalingCurves",
            "TrainingCurves",
            "overlay",
            "cam_figure",
        ],
        "diagnostic_plots": ["EmbeddingMap", "OrderedConfusion", "ReliabilityDiagram"],
        "explorer": ["ConfusionExplorer"],
        "report": ["build_report"],
        "outputs": ["batch_test", "verdict", "write_evaluation"],
    },
)
