"""The embedding map: each image's pooled features (the penultimate layer, saved by `evaluate`
next to its predictions) projected to 2-D, and its nearest training images in feature space.

`project` offers PCA (instant, linear: keeps the large-scale layout, mixes neighbourhoods) and
t-SNE (a minute or two at 11,535 images on 2 cores, keeps neighbourhoods: confused classes show as
touching or interleaved clouds). The explorer uses t-SNE by default and computes it once:
`projection` caches the result next to the features (benchmarks/explorer_latency.md measures both
methods, time and how well each keeps an image's neighbours). Fixed seeds throughout.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.neighbors import NearestNeighbors

from ..errors import ParameterError
from ..files import atomic_write_bytes

__all__ = ["METHODS", "project", "projection", "nearest", "NeighbourIndex", "neighbourhood_kept"]

METHODS = ("tsne", "pca")


def project(features: np.ndarray, method: str = "tsne", seed: int = 0) -> np.ndarray:
    """features (n x d) -> 2-D coordinates (n x 2), float32. t-SNE starts from PCA to 50 dimensions."""
    x = np.asarray(features, dtype=np.float32)
    if method not in METHODS:
        raise ParameterError(f"projection {method!r}: choose one of {', '.join(METHODS)}")
    if len(x) < 4:
        return np.zeros((len(x), 2), np.float32)
    reduced = PCA(n_components=min(50, x.shape[1], len(x)), random_state=seed).fit_transform(x)
    if method == "pca":
        return reduced[:, :2].astype(np.float32)
    perplexity = min(30.0, (len(x) - 1) / 3)
    return (
        TSNE(2, perplexity=perplexity, init="pca", random_state=seed, n_jobs=1)
        .fit_transform(reduced)
        .astype(np.float32)
    )


def projection(features: np.ndarray, folder: str | Path | None, method: str = "tsne") -> np.ndarray:
    """`project`, cached in `folder` under a name that depends on the features and the method, so
    it is computed once per evaluation (and again only if the features change)."""
    if folder is None:
        return project(features, method)
    digest = hashlib.sha256(np.ascontiguousarray(features, dtype=np.float32).tobytes()).hexdigest()[:12]
    path = Path(folder) / f"projection-{method}-{digest}.npy"
    if path.is_file():
        return np.load(path, allow_pickle=False)
    xy = project(features, method)
    buf = io.BytesIO()
    np.save(buf, xy)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buf.getvalue())
    except OSError as e:  # a read-only or full cache folder costs the cache, not the map
        warnings.warn(
            f"{path.parent}: cannot keep the projection there ({e.strerror}); it is computed again next "
            f"time: give a writable cache_dir",
            stacklevel=2,
        )
    return xy


def _unit(rows) -> np.ndarray:
    rows = np.atleast_2d(np.asarray(rows, np.float32))
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)  # a zero row stays zero


class NeighbourIndex:
    """Reference rows normalised once, so that each query costs one matrix product: the explorer
    asks for an image's nearest training images on every click (normalising 11,535 x 1,280
    features each time took half the click)."""

    def __init__(self, reference: np.ndarray):
        self.unit = _unit(reference)

    def query(self, query: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """Indices and cosine distances of the k reference rows nearest to each query row, nearest first."""
        dist = 1 - _unit(query) @ self.unit.T
        k = min(k, len(self.unit))
        part = np.argpartition(dist, k - 1, axis=1)[:, :k]
        idx = np.take_along_axis(part, np.take_along_axis(dist, part, 1).argsort(1, kind="stable"), 1)
        return idx, np.take_along_axis(dist, idx, 1)


def nearest(query: np.ndarray, reference: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Indices and cosine distances of the k reference rows nearest to each query row."""
    return NeighbourIndex(reference).query(query, k)


def neighbourhood_kept(features: np.ndarray, xy: np.ndarray, k: int = 10) -> float:
    """Share of each image's k nearest neighbours in feature space that stay among its k nearest on
    the map (1: every neighbourhood kept), averaged over the images."""
    high = NearestNeighbors(n_neighbors=k + 1).fit(features).kneighbors(features, return_distance=False)[:, 1:]
    low = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy, return_distance=False)[:, 1:]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(high, low)]))
