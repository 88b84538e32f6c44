"""Procedural anime-ish faces with a given hair and eye colour.

Tests and benchmarks use these instead of the real data set: they cover all
12 hair and 10 eye colours of the real set, vary in shape with the seed, and
come with tag CSVs in the three formats the readers accept.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HAIR_COLOURS = ["aqua", "black", "blonde", "blue", "brown", "gray", "green", "orange",
                "pink", "purple", "red", "white"]
EYE_COLOURS = ["aqua", "black", "blue", "brown", "green", "orange", "pink", "purple", "red", "yellow"]

COLOURS: dict[str, tuple[int, int, int]] = {
    "aqua": (40, 220, 220), "black": (25, 25, 30), "blonde": (245, 225, 110), "blue": (40, 70, 225),
    "brown": (120, 70, 30), "gray": (140, 140, 145), "green": (40, 170, 60), "orange": (250, 140, 20),
    "pink": (250, 150, 200), "purple": (130, 50, 190), "red": (215, 30, 35), "white": (248, 248, 248),
    "yellow": (240, 220, 30),
}
SKIN = (250, 220, 195)
BACKGROUNDS = [(235, 235, 240), (210, 225, 245), (245, 230, 215), (225, 240, 225)]


def hair_region(size: int) -> np.ndarray:
    """Boolean mask of pixels that are hair in every drawing (the fringe
    above the forehead), used to read back the hair colour of a sample."""
    mask = np.zeros((size, size), bool)
    mask[int(0.10 * size): int(0.24 * size), int(0.30 * size): int(0.70 * size)] = True
    return mask


def eye_region(size: int) -> np.ndarray:
    """Boolean mask of the irises' centres (both eyes)."""
    mask = np.zeros((size, size), bool)
    y0, y1 = int(0.52 * size), int(0.60 * size)
    for cx in (0.38, 0.62):
        mask[y0:y1, int((cx - 0.035) * size): int((cx + 0.035) * size) + 1] = True
    return mask


def draw_face(hair: str, eyes: str, size: int = 64, rng: np.random.Generator | None = None) -> np.ndarray:
    """One uint8 RGB face [size, size, 3]."""
    from skimage.draw import ellipse, polygon

    rng = rng or np.random.default_rng(0)
    s = size / 64.0
    img = np.empty((size, size, 3), np.uint8)
    img[:] = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
    hair_rgb = np.array(COLOURS[hair]) + rng.integers(-12, 13, 3)
    hair_rgb = np.clip(hair_rgb, 0, 255)
    shadow = np.clip(hair_rgb * 0.75, 0, 255)
    length = rng.uniform(0.75, 1.0)  # hair length
    width = rng.uniform(0.40, 0.48)
    # back hair: a big ellipse behind the face, reaching down by `length`
    rr, cc = ellipse(size * 0.45, size * 0.5, size * 0.45 * length + 2 * s, size * width, shape=img.shape[:2])
    img[rr, cc] = shadow
    # face
    face_w = rng.uniform(0.27, 0.32)
    rr, cc = ellipse(size * 0.58, size * 0.5, size * 0.28, size * face_w, shape=img.shape[:2])
    img[rr, cc] = SKIN
    # fringe: hair cap over the top of the head with a jagged lower edge
    top = size * 0.05
    n_spikes = int(rng.integers(3, 6))
    xs = np.linspace(size * 0.18, size * 0.82, n_spikes * 2 + 1)
    ys = [size * (0.36 if i % 2 else 0.26) + rng.uniform(-2, 2) * s for i in range(len(xs))]
    poly_r = np.concatenate([[top, top], ys[::-1]])
    poly_c = np.concatenate([[size * 0.18, size * 0.82], xs[::-1]])
    rr, cc = polygon(poly_r, poly_c, shape=img.shape[:2])
    img[rr, cc] = hair_rgb
    rr, cc = ellipse(size * 0.22, size * 0.5, size * 0.17, size * 0.33, shape=img.shape[:2])
    img[rr, cc] = hair_rgb
    # eyes: white, coloured iris, dark pupil, highlight
    eye_rgb = np.clip(np.array(COLOURS[eyes]) + rng.integers(-10, 11, 3), 0, 255)
    for cx in (0.38, 0.62):
        cx = cx * size + rng.uniform(-0.5, 0.5) * s
        cy = size * 0.56
        rr, cc = ellipse(cy, cx, size * 0.075, size * 0.065, shape=img.shape[:2])
        img[rr, cc] = (255, 255, 255)
        rr, cc = ellipse(cy, cx, size * 0.07, size * 0.05, shape=img.shape[:2])
        img[rr, cc] = eye_rgb
        rr, cc = ellipse(cy + 0.01 * size, cx, size * 0.025, size * 0.02, shape=img.shape[:2])
        img[rr, cc] = (20, 20, 25)
    # mouth
    rr, cc = ellipse(size * 0.74, size * 0.5, max(size * 0.012, 1), size * rng.uniform(0.03, 0.06),
                     shape=img.shape[:2])
    img[rr, cc] = (180, 80, 90)
    return img


def write_synthetic_set(out_dir: str | Path, n_per_combo: int, *, size: int = 64, seed: int = 0,
                        hair: list[str] | None = None, eyes: list[str] | None = None,
                        formats: tuple[str, ...] = ("2018", "2017", "header")) -> Path:
    """Write images/<id>.jpg for every hair x eye pair (n_per_combo each) and
    tags_2018.csv / tags_2017.csv / tags_header.csv. Returns out_dir."""
    import imageio.v3 as iio

    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for h in hair or HAIR_COLOURS:
        for e in eyes or EYE_COLOURS:
            for _ in range(n_per_combo):
                image_id = len(rows)
                iio.imwrite(out / "images" / f"{image_id}.jpg", draw_face(h, e, size, rng), quality=95)
                rows.append((image_id, h, e))
    if "2018" in formats:
        with open(out / "tags_2018.csv", "w", newline="") as fh:
            for image_id, h, e in rows:
                fh.write(f"{image_id},{h} hair {e} eyes\n")
    if "2017" in formats:
        extras = ["long hair", "smile", "blush", "short hair", "open mouth"]
        with open(out / "tags_2017.csv", "w", newline="") as fh:
            for image_id, h, e in rows:
                tags = [f"{h} hair:{int(rng.integers(50, 900))}", f"{e} eyes:{int(rng.integers(20, 300))}"]
                tags += [f"{x}:{int(rng.integers(1, 500))}" for x in extras if rng.random() < 0.5]
                fh.write(f"{image_id}," + "\t".join(tags) + "\n")
    if "header" in formats:
        with open(out / "tags_header.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["image", "tags"])
            for image_id, h, e in rows:
                writer.writerow([f"{image_id}.jpg", f"{h} hair, {e} eyes"])
    return out


def add_twins(out_dir: str | Path, source_ids, *, quality: int = 95) -> list[str]:
    """A near-duplicate of each of `source_ids` (already in out_dir's
    tags_2018.csv): the image flipped left-right and re-encoded, under the id
    `<id>m`, with the same tags. Returns the new ids."""
    import imageio.v3 as iio

    out = Path(out_dir)
    tags = dict(line.split(",", 1) for line in (out / "tags_2018.csv").read_text().splitlines())
    added = []
    with open(out / "tags_2018.csv", "a", newline="") as fh:
        for source in map(str, source_ids):
            twin = f"{source}m"
            image = iio.imread(out / "images" / f"{source}.jpg")
            iio.imwrite(out / "images" / f"{twin}.jpg", image[:, ::-1], quality=quality)
            fh.write(f"{twin},{tags[source]}\n")
            added.append(twin)
    return added
