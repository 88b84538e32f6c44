"""Load one training image as uint8 RGB at the model size, or say why not.

Every file goes through Pillow, which knows each mode and file property:
the EXIF orientation is applied (ImageOps.exif_transpose), an embedded ICC
profile is converted to sRGB, CMYK / YCbCr / LAB / palettes are converted
by Pillow itself (an Adobe CMYK JPEG is not read as RGBA), 16- and 32-bit
grayscale is scaled to 8 bits (not clipped), and any transparency (RGBA,
LA, a palette's transparent index) is composited on white. Animated files
use their first frame. Resizing uses scikit-image with anti-aliasing.
Grayscale images are skipped by default, as the course report did: their
hair and eye colour tags cannot be learned from them.
"""

from __future__ import annotations

import io
import warnings

import numpy as np

GRAY_TOLERANCE = 6.0  # mean |R-G|, |G-B| below this counts as grayscale
GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
MAX_PIXELS = 40_000_000  # larger files are refused (Pillow's decompression-bomb guard stays on)


def is_grayscale(rgb: np.ndarray) -> bool:
    rgb = rgb.astype(np.int16)
    return (
        np.abs(rgb[..., 0] - rgb[..., 1]).mean() < GRAY_TOLERANCE
        and np.abs(rgb[..., 1] - rgb[..., 2]).mean() < GRAY_TOLERANCE
    )


def _on_white(rgba) -> np.ndarray:
    a = np.asarray(rgba, dtype=np.float32)
    alpha = a[..., 3:4] / 255.0
    return np.rint(a[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


def pil_to_rgb(im) -> np.ndarray:
    """A Pillow image of any mode -> uint8 (H, W, 3), transparency on white."""
    from PIL import ImageCms

    icc = im.info.get("icc_profile")
    if icc and im.mode in ("RGB", "RGBA", "CMYK"):
        try:  # the file's colour space -> sRGB (a CMYK JPEG with a press profile, a wide-gamut RGB file)
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
            im = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode=out_mode)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken profile: Pillow's plain conversion below
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        a = np.asarray(im, dtype=np.float64)
        top = (
            1.0
            if im.mode == "F" and a.max(initial=0) <= 1.0
            else (255.0 if a.max(initial=0) <= 255 else 65535.0)
        )
        gray = np.clip(np.rint(a * (255.0 / top)), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if im.mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
    elif im.mode == "PA":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "La", "RGBa"):
        return _on_white(im.convert("RGBA"))
    if "transparency" in im.info and im.mode in ("L", "RGB"):  # a transparent colour key
        return _on_white(im.convert("RGBA"))
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Any (H,W), (H,W,1|2|3|4) array -> uint8 (H,W,3) (kept for array callers)."""
    from PIL import Image

    image = np.asarray(image)
    if image.dtype != np.uint8:
        if np.issubdtype(image.dtype, np.floating):
            image = np.clip(image * (255.0 if image.max() <= 1.0 else 1.0), 0, 255)
        else:
            image = image.astype(np.float64) * (255.0 / max(np.iinfo(image.dtype).max, 1))
        image = image.astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (2, 3, 4)):
        raise ValueError(f"unsupported image shape {image.shape}")
    return pil_to_rgb(Image.fromarray(image))


def open_rgb(path: str) -> tuple[np.ndarray, bool]:
    """(uint8 RGB array, the file is grayscale by its mode). Raises OSError/ValueError for bad files."""
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as im:
            if im.width * im.height > MAX_PIXELS:
                raise ValueError(f"{im.width}x{im.height} is too large")
            im.seek(0)
            im.load()
            gray = im.mode in GRAY_MODES or (im.mode == "P" and _gray_palette(im))
            im = ImageOps.exif_transpose(im)
            return pil_to_rgb(im), gray


def _gray_palette(im) -> bool:
    pal = np.asarray(im.convert("RGB"), dtype=np.int16)
    return bool((pal[..., 0] == pal[..., 1]).all() and (pal[..., 1] == pal[..., 2]).all())


def load_image(path: str, size: int, keep_grayscale: bool = False) -> tuple[np.ndarray | None, str]:
    """(uint8 [size, size, 3], "") or (None, reason) — never raises for bad files."""
    from skimage.transform import resize

    try:
        rgb, gray_source = open_rgb(path)
    except FileNotFoundError:
        return None, "missing file"
    except Exception as exc:  # Pillow raises many types for corrupt bytes
        return None, f"unreadable image ({type(exc).__name__})"
    if rgb.shape[0] < 4 or rgb.shape[1] < 4:
        return None, f"image too small ({rgb.shape[1]}x{rgb.shape[0]})"
    if not keep_grayscale and (gray_source or is_grayscale(rgb)):
        return None, "grayscale"
    if rgb.shape[:2] != (size, size):
        rgb = resize(rgb, (size, size), anti_aliasing=True, preserve_range=True)
        rgb = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return rgb, ""
