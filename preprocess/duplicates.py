"""Near-duplicate images: the same picture under another id, flipped left-right
or re-encoded. Scraped sets are full of them, and a twin on each side of the
held-out split makes "held out" a copy of training (issue 24).

A 64-bit DCT hash of each image and of its mirror finds the candidates, and
a small colour thumbnail confirms each pair, so a hash collision (common
between simple drawings) cannot chain two unrelated groups together. Groups
are the connected components of the confirmed pairs, so they are transitive.
"""

from __future__ import annotations

import numpy as np

HASH_SIDE = 32  # the hash is the sign pattern of the 8x8 lowest frequencies of a 32x32 grey DCT
HASH_DISTANCE = 8  # bits: candidate pairs (on the anime set twins differ by <= 2, other faces by >= 4)
THUMB_SIDE = 16
# Mean absolute difference (0-255) of two 16x16 colour thumbnails of one picture. Measured at 64x64: the
# anime set's twins < 1, a resize < 0.8, a JPEG re-encode at quality 90 < 2.1 (75: < 3.3), different
# faces > 8; two synthetic faces of one tag combination (preprocess/synthetic.py) > 2.8, so they stay apart.
PIXEL_TOLERANCE = 2.5
_CHUNK = 512  # rows per block of the pair search (smaller blocks stay in the CPU cache)


def near_duplicate_groups(images: np.ndarray) -> np.ndarray:
    """int64 [N] group labels 0..G-1 (numbered in order of first appearance):
    images that are the same picture, flipped left-right, or re-encoded share
    a label. `images`: uint8 [N, H, W, 3], or float in [-1, 1]."""
    n = len(images)
    if n == 0:
        return np.zeros(0, np.int64)
    hashes, mirrored = _hashes(_small_grey(images))
    thumbs = colour_thumbnails(images)
    rows, cols = _confirmed_pairs(hashes, mirrored, thumbs)
    return _components(n, rows, cols)


def _levels(images: np.ndarray) -> np.ndarray:
    """The images as float32 levels 0-255 (uint8 as they are, floats from [-1, 1])."""
    if images.dtype == np.uint8:
        return images.astype(np.float32)
    return np.clip((images.astype(np.float32) + 1.0) * 127.5, 0, 255)


def _chunked(images: np.ndarray, fn) -> np.ndarray:
    """fn over blocks of images (the whole set as float would be gigabytes)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"thumbnails and hashes take [N, H, W, 3] images, not shape {images.shape}")
    return np.concatenate([fn(_levels(images[s : s + _CHUNK])) for s in range(0, len(images), _CHUNK)])


def _small_grey(images: np.ndarray) -> np.ndarray:
    """float32 [N, HASH_SIDE, HASH_SIDE] grey levels 0-255."""
    weights = np.array([0.299, 0.587, 0.114], np.float32)
    return _chunked(images, lambda part: _shrink(part @ weights, HASH_SIDE))


def colour_thumbnails(images: np.ndarray) -> np.ndarray:
    """float32 [N, THUMB_SIDE, THUMB_SIDE, 3] colour block means: the confirmation test of a pair here,
    and evaluate.copies' distance to the training images (the same test of "the same picture")."""
    return _chunked(images, lambda part: np.stack([_shrink(part[..., c], THUMB_SIDE) for c in range(3)], -1))


def _shrink(grey: np.ndarray, side: int) -> np.ndarray:
    """[N, side, side] block means (images smaller than `side`, or not a multiple
    of it, are resampled by nearest rows and columns first)."""
    n, h, w = grey.shape
    if h % side or w % side:
        k = -(-max(h, w) // side)  # whole blocks of k x k pixels
        grey = grey[:, np.arange(side * k) * h // (side * k)][:, :, np.arange(side * k) * w // (side * k)]
        n, h, w = grey.shape
    return grey.reshape(n, side, h // side, side, w // side).mean(axis=(2, 4))


def _hashes(small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint64 [N] DCT hashes of [N, HASH_SIDE, HASH_SIDE] grey images and of their
    mirror images. A mirror flips the sign of the odd horizontal frequencies, so
    one DCT gives both."""
    import scipy.fft

    low = scipy.fft.dctn(small, axes=(1, 2), norm="ortho")[:, :8, :8]
    flip = np.where(np.arange(8) % 2, -1.0, 1.0).astype(low.dtype)
    return _bits(low), _bits(low * flip)


def _bits(low: np.ndarray) -> np.ndarray:
    flat = low.reshape(len(low), 64)
    above = flat > np.median(flat[:, 1:], axis=1, keepdims=True)  # the mean (DC term) says nothing of shape
    return np.packbits(above, axis=1).view(">u8").ravel().astype(np.uint64)


def _confirmed_pairs(hashes, mirrored, thumbs):
    """(rows, cols) of the pairs i < j that are one picture: hashes within
    HASH_DISTANCE (as they are, or j mirrored) and thumbnails within
    PIXEL_TOLERANCE. Each chunk of rows is compared with the rows after it
    only, so the work is half of all pairs."""
    n = len(hashes)
    mirror_thumbs = thumbs[:, :, ::-1]
    rows, cols = [], []
    for s in range(0, n, _CHUNK):
        block = hashes[s : s + _CHUNK, None]
        for other, partners in ((hashes, thumbs), (mirrored, mirror_thumbs)):
            i, j = np.nonzero(np.bitwise_count(block ^ other[None, s:]) <= HASH_DISTANCE)
            i, j = i + s, j + s
            keep = i < j
            i, j = i[keep], j[keep]
            same = np.abs(thumbs[i] - partners[j]).mean(axis=(1, 2, 3)) <= PIXEL_TOLERANCE
            rows.append(i[same])
            cols.append(j[same])
    return np.concatenate(rows), np.concatenate(cols)


def _components(n: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Connected components, relabelled 0..G-1 in order of first appearance."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    _, first = np.unique(labels, return_index=True)
    rank = np.empty(len(first), np.int64)
    rank[labels[np.sort(first)]] = np.arange(len(first))
    return rank[labels]
