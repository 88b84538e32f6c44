"""Near copies: how close generated faces come to the training images. A GAN trained on a
small set can learn to redraw its training images; a good tag score would then be a
photocopier's (issue 34).

The distance is the data pipeline's own test of "the same picture"
(preprocess/duplicates.py): the mean absolute difference, in 0-255 levels, of two 16x16
colour thumbnails (block means). A thumbnail keeps a face's layout and colours and drops the
pixel noise in which a redrawn copy differs from its original, and the threshold that groups
twins before the held-out split (PIXEL_TOLERANCE, measured on the anime set: twins < 1, JPEG
re-encodes < 3.3, different faces > 8) is then the threshold for a near copy, so a generated face
counts as a copy exactly when the pipeline would have called it a training image's twin. Each
face is compared with every training image and with its mirror image (a flip is the cheapest
copy, and the pipeline groups mirrored twins too).

A count alone cannot say what "far" is, so the same distance is measured for real held-out
faces, which have no twin in training (the split keeps twins together, unless --duplicates
ignore): a median of generated faces far below theirs means that the generator stays closer to
its training images than new faces do.

The search is exact in the distance that judges, not in the one that searches: the absolute
difference has no matrix-product form (brute force took 40 s of CPU for 1k x 30k thumbnails, one
orientation), so the CANDIDATES nearest images by Euclidean distance (a matrix product) are
measured exactly. A twin is close in both measures, so it is missed only if 16 other images are
nearer to it in Euclidean terms; a far face's figure may be a little above its true nearest.
1k generated and 500 held-out 64 px faces against 30k training images: 6 s of CPU on one core
of an AMD EPYC (2 s of it the training thumbnails).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from preprocess.duplicates import PIXEL_TOLERANCE, THUMB_SIDE, colour_thumbnails
from sampling.generation import Request, generate_requests

CANDIDATES = 16  # nearest images by Euclidean distance that are measured exactly
_CHUNK = 256  # query rows per matrix product (x 30k training images: 30 MB of distances)
CLOSEST_SHOWN = 8  # the generated faces nearest a training image that the picture shows
REFERENCE_FACES = 500  # held-out real faces measured at most (a seeded draw: a median's reference)


@dataclass
class Nearest:
    """For each query face: `distance` to its nearest training image or mirror image (the
    smaller), its row `index` in the training images, whether the nearest was the `mirrored`
    image, and the two orientations' distances apart (`as_is`, `to_mirror`)."""

    distance: np.ndarray
    index: np.ndarray
    mirrored: np.ndarray
    as_is: np.ndarray
    to_mirror: np.ndarray


def thumbnails(images: np.ndarray) -> np.ndarray:
    """float32 [N, THUMB_SIDE * THUMB_SIDE * 3]: preprocess.duplicates' thumbnails, flattened."""
    return colour_thumbnails(images).reshape(len(images), -1)


def nearest_training(queries: np.ndarray, training: np.ndarray) -> Nearest:
    """Each query face's nearest training image, as it is and mirrored. uint8 [N, H, W, 3] (or
    float in [-1, 1]) on both sides, of any sizes."""
    if len(training) == 0:
        raise ValueError("no training images to compare with")
    return _nearest_both(queries, thumbnails(training))


def _nearest_both(queries: np.ndarray, train: np.ndarray) -> Nearest:
    """nearest_training against training thumbnails made once (they take most of the time)."""
    faces = colour_thumbnails(queries)
    # |q - mirror(t)| is |mirror(q) - t| with its elements reordered: mirror the queries, not 30k images
    as_is, i_as_is = _nearest(faces.reshape(len(faces), -1), train)
    to_mirror, i_mirror = _nearest(faces[:, :, ::-1].reshape(len(faces), -1), train)
    mirrored = to_mirror < as_is
    index = np.where(mirrored, i_mirror, i_as_is)
    return Nearest(np.minimum(as_is, to_mirror), index, mirrored, as_is, to_mirror)


def _nearest(queries: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean absolute difference, row) of each query's nearest row of `train` among its CANDIDATES
    nearest by Euclidean distance."""
    centre = np.float32(127.5)  # smaller squares: float32's rounding stays far below a twin's distance
    train = train - centre
    norms = np.einsum("ij,ij->i", train, train)
    k = min(CANDIDATES, len(train))
    distances, rows = [], []
    for s in range(0, len(queries), _CHUNK):
        q = queries[s : s + _CHUNK] - centre
        squared = norms[None] - 2.0 * (q @ train.T)  # + |q|^2, the same along each row
        cand = (
            np.argpartition(squared, k - 1, axis=1)[:, :k]
            if k < len(train)
            else np.broadcast_to(np.arange(len(train)), (len(q), k))
        )
        exact = np.abs(q[:, None, :] - train[cand]).mean(axis=2)
        best = exact.argmin(axis=1)
        distances.append(exact[np.arange(len(q)), best])
        rows.append(cand[np.arange(len(q)), best])
    if not distances:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    return np.concatenate(distances), np.concatenate(rows).astype(np.int64)


def copy_figures(generated: np.ndarray, training: np.ndarray, heldout: np.ndarray) -> tuple[dict, Nearest]:
    """The figures of copies.json (distances in 0-255 levels) and the generated faces' Nearest."""
    if len(training) == 0:
        raise ValueError("no training images to compare with")
    train = thumbnails(training)
    gen = _nearest_both(generated, train)
    real = _nearest_both(heldout, train) if len(heldout) else None
    copies = gen.distance <= PIXEL_TOLERANCE
    result = {
        "distance": f"mean absolute difference (0-255) of {THUMB_SIDE}x{THUMB_SIDE} colour thumbnails, "
        "to the nearest training image or its mirror image",
        "near_copy_at": PIXEL_TOLERANCE,
        "generated": len(generated),
        "training_images": len(training),
        "near_copies": int(copies.sum()),
        "near_copy_fraction": float(copies.mean()) if len(copies) else float("nan"),
        "near_copies_mirrored": int((copies & gen.mirrored).sum()),
        "median_nearest_generated": _median(gen.distance),
        "median_nearest_generated_as_is": _median(gen.as_is),
        "median_nearest_generated_mirrored": _median(gen.to_mirror),
        "heldout_faces": len(heldout),
        "median_nearest_heldout": _median(real.distance) if real else float("nan"),
        "heldout_near_copies": int((real.distance <= PIXEL_TOLERANCE).sum()) if real else 0,
    }
    return result, gen


def _median(values: np.ndarray) -> float:
    return round(float(np.median(values)), 3) if len(values) else float("nan")


def copies_line(result: dict) -> str:
    """The one line train.py prints at the end of a run (from the figures, or copies.json's: NaN as null)."""
    held = result["median_nearest_heldout"]
    held = "none held out" if held is None or held != held else f"{held:.1f}"
    return (
        f"near copies: {result['near_copies']} of {result['generated']} generated faces "
        f"(nearest training image or its mirror: median {result['median_nearest_generated']:.1f}; "
        f"held-out real faces: {held}; a copy is <= {result['near_copy_at']:g}: mean difference "
        f"of {THUMB_SIDE}x{THUMB_SIDE} thumbnails, 0-255)"
    )


def generated_faces(generator, data, *, n_per_combo: int = 2, seed: int = 0) -> np.ndarray:
    """uint8 faces, `n_per_combo` for each tag combination of the training rows (the draw of
    evaluate.metrics: one seeded noise draw over the combinations in their sorted order)."""
    from evaluate.metrics import training_combinations

    groups = list(data.vocab.groups)
    tagsets = [generator.vocab.tagset(dict(zip(groups, c))) for c in training_combinations(data)]
    requests = [Request(t.file_stem, t.text, [t] * n_per_combo) for t in tagsets]
    return np.concatenate(generate_requests(generator, requests, seed))


def measure_copies(generator, data, *, n_per_combo: int = 2, seed: int = 0) -> tuple[dict, np.ndarray]:
    """copy_figures for `generator` (see generated_faces) against `data`'s training images, with up
    to REFERENCE_FACES held-out real faces (a draw seeded by `seed`) as the reference; returns the
    figures (with the CLOSEST_SHOWN nearest pairs listed) and their picture (closest_picture)."""
    faces = generated_faces(generator, data, n_per_combo=n_per_combo, seed=seed)
    train_rows, held_rows = data.train_indices(), data.holdout_indices()
    if len(held_rows) > REFERENCE_FACES:
        held_rows = np.sort(np.random.default_rng(seed).choice(held_rows, REFERENCE_FACES, replace=False))
    training = data.images[train_rows]
    result, gen = copy_figures(faces, training, data.images[held_rows])
    order = np.argsort(gen.distance, kind="stable")[:CLOSEST_SHOWN]
    result |= {
        "n_per_combo": n_per_combo,
        "seed": seed,
        "closest": [
            {
                "generated": int(i),
                "training_id": str(data.ids[train_rows[gen.index[i]]]),
                "distance": round(float(gen.distance[i]), 3),
                "mirrored": bool(gen.mirrored[i]),
            }
            for i in order
        ],
    }
    return result, closest_picture(
        faces[order], training[gen.index[order]], gen.mirrored[order], gen.distance[order]
    )


def closest_picture(faces: np.ndarray, nearest: np.ndarray, mirrored: np.ndarray, distances: np.ndarray):
    """Two labelled rows: the generated faces, and under each its nearest training image (flipped
    when its mirror image was the nearer), each column headed by the distance."""
    from sampling.grid import grid

    shown = np.where(mirrored[:, None, None, None], nearest[:, :, ::-1], nearest)
    heads = [f"{d:.1f}{' (m)' if m else ''}" for d, m in zip(distances, mirrored)]
    scale = max(1, 64 // faces.shape[1]) if len(faces) else 1
    return grid(
        np.concatenate([faces, shown]),
        max(1, len(faces)),
        ["generated", "nearest training"],
        scale=scale,
        col_labels=heads,
    )
