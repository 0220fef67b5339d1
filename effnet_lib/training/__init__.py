"""One training run: its settings as a record (`config`), what they build (`assemble`), the named
recipes and TensorFlow-style RMSProp (`recipes`, `optim`), the quick and full settings of the
notebooks (`presets`), the loop with resume (`loop`), a run in progress and the end of each epoch
with its divergence checks (`session`), stopping on a signal
(`stopping`), the device and DDP's process group (`distributed`), and the run folder's checkpoints
(`checkpoint`).

It imports the data and the model wings, and nothing downstream of a checkpoint.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "config": ["TrainConfig", "auto_batch_size", "config_key"],
        "assemble": ["dataset_for", "make_model", "open_data"],
        "recipes": ["PAPER_SOURCES", "RECIPES", "Recipe", "Schedule", "make_optimizer"],
        "optim": ["RMSpropTF"],
        "presets": ["full_training_config", "quick_mode_timing", "quick_training_config", "repo_root", "runs_dir"],
        "loop": ["Run", "fit", "train_or_load"],
        "stopping": ["TrainingStopped"],
        "distributed": ["resolve_device"],
        "checkpoint": ["CheckpointError", "RunExistsError", "load_checkpoint"],
    },
)
