"""Where the images come from and how they reach the network: a name turned into an ordinary image
folder (`datasets`: the built-in textures of `builtin`, the Fashion-MNIST subset of `fashion`,
downloads in `downloads`); the folder's classes, its 80/20 split and manifest (`folders`, with `layout` for which
subfolders are splits); reading one image and why a file is unreadable (`images`); augmentation
settings (`transforms`); the decoded cache and batches (`loaders`).

It knows nothing of the model or of training.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "folders": [
            "IMAGE_EXTENSIONS",
            "DataError",
            "ImageFolder",
            "list_classes",
            "list_images",
            "open_image_folder",
            "split_per_class",
        ],
        "images": ["load_image", "unreadable_reason"],
        "layout": ["LayoutError", "find_splits"],
        "transforms": ["EVAL_RESIZE_RATIO", "Transforms"],
        "loaders": ["ImageDataset", "decode_all", "make_loader"],
        "downloads": ["DATASETS", "DownloadError", "download", "fetch", "fetch_files"],
    },
    modules=("datasets", "builtin", "fashion", "downloads"),
)
