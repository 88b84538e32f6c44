"""Load one training image as uint8 RGB at the model size, or say why not.

jpg, png, bmp and gif (first frame) through imageio; RGBA is composited on
white and palettes expanded; resizing uses scikit-image with anti-aliasing.
Grayscale images are skipped by default, as the course report did: their
hair and eye colour tags cannot be learned from them.
"""
from __future__ import annotations

import numpy as np

GRAY_TOLERANCE = 6.0  # mean |R-G|, |G-B| below this counts as grayscale


def is_grayscale(rgb: np.ndarray) -> bool:
    rgb = rgb.astype(np.int16)
    return (np.abs(rgb[..., 0] - rgb[..., 1]).mean() < GRAY_TOLERANCE
            and np.abs(rgb[..., 1] - rgb[..., 2]).mean() < GRAY_TOLERANCE)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Any imageio array (H,W), (H,W,1|2|3|4) -> uint8 (H,W,3)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        if np.issubdtype(image.dtype, np.floating):
            image = np.clip(image * (255.0 if image.max() <= 1.0 else 1.0), 0, 255)
        else:
            image = image.astype(np.float64) * (255.0 / max(np.iinfo(image.dtype).max, 1))
        image = image.astype(np.uint8)
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3:
        raise ValueError(f"unsupported image shape {image.shape}")
    channels = image.shape[2]
    if channels == 1:
        return np.repeat(image, 3, axis=2)
    if channels == 2:  # gray + alpha
        image = np.concatenate([np.repeat(image[..., :1], 3, axis=2), image[..., 1:]], axis=2)
        channels = 4
    if channels == 4:
        alpha = image[..., 3:4].astype(np.float32) / 255.0
        rgb = image[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        return np.rint(rgb).astype(np.uint8)
    return image[..., :3]


def load_image(path: str, size: int, keep_grayscale: bool = False) -> tuple[np.ndarray | None, str]:
    """(uint8 [size, size, 3], "") or (None, reason) — never raises for bad files."""
    import imageio.v3 as iio
    from skimage.transform import resize

    try:
        raw = iio.imread(path, index=0)
    except FileNotFoundError:
        return None, "missing file"
    except Exception as exc:  # imageio raises many types for corrupt bytes
        return None, f"unreadable image ({type(exc).__name__})"
    try:
        gray_source = raw.ndim == 2 or (raw.ndim == 3 and raw.shape[2] in (1, 2))
        rgb = to_rgb(raw)
    except (ValueError, TypeError) as exc:
        return None, f"unreadable image ({exc})"
    if rgb.shape[0] < 4 or rgb.shape[1] < 4:
        return None, f"image too small ({rgb.shape[1]}x{rgb.shape[0]})"
    if not keep_grayscale and (gray_source or is_grayscale(rgb)):
        return None, "grayscale"
    if rgb.shape[:2] != (size, size):
        rgb = resize(rgb, (size, size), anti_aliasing=True, preserve_range=True)
        rgb = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return rgb, ""
