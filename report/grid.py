"""Compose sample images into one grid PNG, with optional row labels and a
per-cell coloured border per tag group (green = right, red = wrong).
numpy + Pillow only (the fast generation path uses it)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

GREEN = (30, 170, 60)
RED = (220, 30, 40)
PAD = 2


def upscale(images: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscaling of [..., H, W, C] by an integer factor."""
    if scale <= 1:
        return images
    return images.repeat(scale, axis=-3).repeat(scale, axis=-2)


def _draw_borders(cell: np.ndarray, marks) -> np.ndarray:
    """One border ring per group, outermost = first group."""
    cell = cell.copy()
    width = max(1, cell.shape[0] // 32)
    for i, ok in enumerate(marks):
        colour = GREEN if ok else RED
        a, b = i * width, (i + 1) * width
        cell[a:b, a:cell.shape[1] - a] = colour
        cell[cell.shape[0] - b:cell.shape[0] - a, a:cell.shape[1] - a] = colour
        cell[a:cell.shape[0] - a, a:b] = colour
        cell[a:cell.shape[0] - a, cell.shape[1] - b:cell.shape[1] - a] = colour
    return cell


def _label_strip(labels: list[str], height: int, rows: int, pad: int) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    width = max(int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(t, font=font)) for t in labels) + 8
    strip = Image.new("RGB", (width, rows * (height + pad) + pad), (255, 255, 255))
    draw = ImageDraw.Draw(strip)
    for r, text in enumerate(labels):
        draw.text((4, pad + r * (height + pad) + height // 2 - 6), text, fill=(0, 0, 0), font=font)
    return np.asarray(strip)


def grid(images: np.ndarray, ncols: int, labels: list[str] | None = None, scale: int = 1,
         borders: list | None = None, pad: int = PAD) -> np.ndarray:
    """uint8 [n, h, w, 3] -> one uint8 image; `labels` one per row; `borders`
    one list of per-group booleans per cell (or None for no border)."""
    images = upscale(np.asarray(images, np.uint8), scale)
    n = len(images)
    ncols = max(1, min(ncols, n)) if n else 1
    nrows = max(1, -(-n // ncols))
    h, w = (images.shape[1:3] if n else (8, 8))
    canvas = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, ncols)
        cell = images[i]
        if borders is not None and borders[i] is not None:
            cell = _draw_borders(cell, borders[i])
        canvas[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = cell
    if labels:
        labels = (list(labels) + [""] * nrows)[:nrows]
        canvas = np.concatenate([_label_strip(labels, h, nrows, pad), canvas], axis=1)
    return canvas


def save_png(path: str | Path, image: np.ndarray) -> Path:
    """Atomic PNG write (temp file + rename)."""
    import imageio.v3 as iio

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.png")
    iio.imwrite(tmp, image)
    os.replace(tmp, path)
    return path
