"""What a trained network gets right and wrong: predictions (`predict`), kept with their provenance
and read back (`results`),
per-class metrics on plain arrays (`metrics`), and the analyses of errors class by class:
the weakest classes and confused pairs (`error_analysis`), label issues, calibration and run
against run (`diagnostics`), the embedding map (`embedding`), Grad-CAM (`gradcam`), which classes
really changed (`changes`), temperature scaling (`temperature`) and the relabelling file (`relabel`).

It reads checkpoints (`training.checkpoint`), never trains, and draws nothing.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "predict": ["EvaluationSet", "Predictor", "evaluation_samples"],
        "results": ["EvalResult"],
        "metrics": ["Report", "confusion_matrix", "per_class_table", "report", "top_confusions", "top_k_accuracy"],
        "error_analysis": ["ErrorAnalysis"],
        "diagnostics": [
            "calibration",
            "calibration_by_class",
            "class_calibration",
            "compare_results",
            "compare_runs",
            "confusion_clusters",
            "ece_floor",
            "label_issues",
            "nearest_of_classes",
            "overlapping_classes",
        ],
        "embedding": ["NeighbourIndex", "project", "projection"],
        "gradcam": ["cam_layer", "grad_cam"],
        "changes": ["class_changes"],
        "temperature": ["fit_temperature", "temperature_report"],
        "relabel": ["write_relabel_file"],
    },
    modules=("relabel",),
)
