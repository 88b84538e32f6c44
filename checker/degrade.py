"""Image degradations that keep colours: blur, noise, JPEG artefacts, shifts.

The tag checker is trained on real faces but judges generated ones, which
are softer and noisier. Training it under these degradations (never hue or
colour changes: colours are the labels) makes its reading hold on generated
images; `ROBUSTNESS_SUITE` is what its held-out accuracy is reported under.
numpy, scipy and Pillow only; images are uint8 [n, h, w, 3].
"""

from __future__ import annotations

import io

import numpy as np

MAX_BLUR_SIGMA = 2.0
MAX_NOISE = 0.05  # standard deviation as a fraction of the 0-255 range
JPEG_QUALITY = (30, 90)
MAX_SHIFT = 4  # pixels, each way (edge pixels repeat)

# name -> (kind, strength): the fixed degradations the checker's accuracy is reported under
ROBUSTNESS_SUITE = {
    "clean": ("none", 0.0),
    "blur_sigma1": ("blur", 1.0),
    "blur_sigma2": ("blur", 2.0),
    "noise_0.05": ("noise", 0.05),
    "jpeg_q30": ("jpeg", 30),
}


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    if sigma <= 0:
        return image
    out = gaussian_filter(image.astype(np.float32), sigma=(sigma, sigma, 0), mode="reflect")
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def noise(image: np.ndarray, sd: float, rng: np.random.Generator) -> np.ndarray:
    out = image.astype(np.float32) + rng.normal(0.0, sd * 255.0, image.shape)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


def shift(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    h, w = image.shape[:2]
    padded = np.pad(image, [(MAX_SHIFT, MAX_SHIFT), (MAX_SHIFT, MAX_SHIFT), (0, 0)], mode="edge")
    return padded[MAX_SHIFT - dy : MAX_SHIFT - dy + h, MAX_SHIFT - dx : MAX_SHIFT - dx + w]


def apply(images: np.ndarray, kind: str, strength: float, seed: int = 0) -> np.ndarray:
    """One fixed degradation of ROBUSTNESS_SUITE on every image."""
    rng = np.random.default_rng(seed)
    images = np.asarray(images, np.uint8)
    if kind == "none":
        return images
    if kind == "blur":
        return np.stack([blur(im, strength) for im in images])
    if kind == "noise":
        return np.stack([noise(im, strength, rng) for im in images])
    if kind == "jpeg":
        return np.stack([jpeg(im, int(strength)) for im in images])
    raise ValueError(f"unknown degradation {kind!r}")


def random_degrade(images: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """Training augmentation: each image independently gets, each with probability p,
    a blur (sigma up to 2), noise (up to 0.05), a JPEG round trip (quality 30-90)
    and a shift (up to 4 px); colours are never changed. Blur and shift are
    given for 64 px faces and scale with the image size."""
    out = np.array(images, np.uint8, copy=True)
    scale = out.shape[1] / 64 if out.ndim == 4 else 1.0
    max_shift = max(1, round(MAX_SHIFT * scale))
    for i in range(len(out)):
        im = out[i]
        if rng.random() < p:
            im = blur(im, rng.uniform(0.3, MAX_BLUR_SIGMA) * scale)
        if rng.random() < p:
            im = noise(im, rng.uniform(0.0, MAX_NOISE), rng)
        if rng.random() < p:
            im = jpeg(im, rng.integers(*JPEG_QUALITY, endpoint=True))
        if rng.random() < p:
            im = shift(im, *rng.integers(-max_shift, max_shift + 1, 2))
        out[i] = im
    return out
