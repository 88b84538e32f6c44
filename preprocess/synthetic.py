"""Procedural anime-ish faces with a given hair and eye colour.

Tests and benchmarks use these instead of the real data set: they cover all
12 hair and 10 eye colours of the real set, vary in shape with the seed, and
come with tag CSVs in the three formats the readers accept. Asked for
(`marks=`), some faces also wear visible other tags (glasses, a hat, a smile),
so that a test of other tags checks something the pixels really show; the
2017 CSV's other random tags stay invisible, as noisy tags of real CSVs are.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HAIR_COLOURS = [
    "aqua",
    "black",
    "blonde",
    "blue",
    "brown",
    "gray",
    "green",
    "orange",
    "pink",
    "purple",
    "red",
    "white",
]
EYE_COLOURS = ["aqua", "black", "blue", "brown", "green", "orange", "pink", "purple", "red", "yellow"]

COLOURS: dict[str, tuple[int, int, int]] = {
    "aqua": (40, 220, 220),
    "black": (25, 25, 30),
    "blonde": (245, 225, 110),
    "blue": (40, 70, 225),
    "brown": (120, 70, 30),
    "gray": (140, 140, 145),
    "green": (40, 170, 60),
    "orange": (250, 140, 20),
    "pink": (250, 150, 200),
    "purple": (130, 50, 190),
    "red": (215, 30, 35),
    "white": (248, 248, 248),
    "yellow": (240, 220, 30),
}
SKIN = (250, 220, 195)
BACKGROUNDS = [(235, 235, 240), (210, 225, 245), (245, 230, 215), (225, 240, 225)]
# Other tags drawn as visible marks (write_synthetic_set's marks=); each face wears each asked mark with
# probability MARK_P, drawn from its own generator so that the faces without marks stay those of the
# default set. INVISIBLE_TAGS: the 2017 CSV's random other tags, which nothing in the image shows.
MARKS = ("glasses", "hat", "smile")
MARK_P = 0.5
INVISIBLE_TAGS = ("long hair", "smile", "blush", "short hair", "open mouth")
FRAME = (25, 25, 30)
HAT = (60, 35, 95)


def hair_region(size: int) -> np.ndarray:
    """Boolean mask of pixels that are hair in every drawing (the fringe
    above the forehead), used to read back the hair colour of a sample."""
    mask = np.zeros((size, size), bool)
    mask[int(0.10 * size) : int(0.24 * size), int(0.30 * size) : int(0.70 * size)] = True
    return mask


def eye_region(size: int) -> np.ndarray:
    """Boolean mask of the irises' centres (both eyes)."""
    mask = np.zeros((size, size), bool)
    y0, y1 = int(0.52 * size), int(0.60 * size)
    for cx in (0.38, 0.62):
        mask[y0:y1, int((cx - 0.035) * size) : int((cx + 0.035) * size) + 1] = True
    return mask


def draw_face(
    hair: str, eyes: str, size: int = 64, rng: np.random.Generator | None = None, marks=()
) -> np.ndarray:
    """One uint8 RGB face [size, size, 3], wearing the `marks` (names of MARKS) asked for."""
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
    rr, cc = ellipse(
        size * 0.74, size * 0.5, max(size * 0.012, 1), size * rng.uniform(0.03, 0.06), shape=img.shape[:2]
    )
    img[rr, cc] = (180, 80, 90)
    return wear_marks(img, marks)


def wear_marks(img: np.ndarray, marks) -> np.ndarray:
    """Draw the `marks` (names of MARKS) on a uint8 RGB face, in place, at the places of a face crop
    (eyes a little below the middle, the mouth at three quarters down); returns it."""
    unknown = set(marks) - set(MARKS)
    if unknown:
        raise ValueError(f"no drawing for {sorted(unknown)}; the marks are {MARKS}")
    for mark in MARKS:  # a fixed order: the hat over the fringe, then the frames, then the mouth
        if mark in marks:
            _MARK_DRAWERS[mark](img, img.shape[0])
    return img


def _glasses(img: np.ndarray, size: int) -> None:
    """Dark square frames around both eyes and a bridge between them; only the frame's line is
    drawn, around the eye white, so the iris (and eye_region) keeps its colour."""
    from skimage.draw import rectangle_perimeter

    cy, half_h, half_w = 0.56 * size, 0.105 * size, 0.095 * size
    thick = max(1, round(0.025 * size))
    for cx in (0.38 * size, 0.62 * size):
        for t in range(thick):
            start, end = (cy - half_h - t, cx - half_w - t), (cy + half_h + t, cx + half_w + t)
            rr, cc = rectangle_perimeter(start, end, shape=img.shape[:2])
            img[rr, cc] = FRAME
    y0 = int(round(cy - half_h))
    img[y0 : y0 + thick, int(0.38 * size + half_w) : int(np.ceil(0.62 * size - half_w)) + 1] = FRAME


def _hat(img: np.ndarray, size: int) -> None:
    """A solid crown and a wide brim over the top of the head, above the fringe that hair_region reads."""
    crown = int(0.07 * size)
    img[:crown, int(0.25 * size) : int(0.75 * size)] = HAT
    img[crown : max(int(0.10 * size), crown + 1), int(0.10 * size) : int(0.90 * size)] = HAT


def _smile(img: np.ndarray, size: int) -> None:
    """A wide open smile over the plain mouth: the lower half of a dark ellipse, flat side up."""
    from skimage.draw import ellipse

    cy = 0.71 * size
    rr, cc = ellipse(cy, 0.5 * size, max(0.10 * size, 3.0), 0.14 * size, shape=img.shape[:2])
    lower = rr >= int(round(cy))
    img[rr[lower], cc[lower]] = (90, 15, 30)


_MARK_DRAWERS = {"glasses": _glasses, "hat": _hat, "smile": _smile}


def write_synthetic_set(
    out_dir: str | Path,
    n_per_combo: int,
    *,
    size: int = 64,
    seed: int = 0,
    hair: list[str] | None = None,
    eyes: list[str] | None = None,
    formats: tuple[str, ...] = ("2018", "2017", "header"),
    marks: tuple[str, ...] = (),
) -> Path:
    """Write images/<id>.jpg for every hair x eye pair (n_per_combo each) and
    tags_2018.csv / tags_2017.csv / tags_header.csv. Returns out_dir.

    `marks` (names of MARKS): each face wears each of them with probability MARK_P, and the 2017 and
    header CSVs name the ones it wears as other tags (the 2018 format has colours only). Without
    marks the output is the same as before they existed."""
    import imageio.v3 as iio

    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    mark_rng = np.random.default_rng([seed, 34])  # its own draws: the faces' own stay the default set's
    rows = []
    for h in hair or HAIR_COLOURS:
        for e in eyes or EYE_COLOURS:
            for _ in range(n_per_combo):
                image_id = len(rows)
                worn = tuple(m for m in marks if mark_rng.random() < MARK_P)
                iio.imwrite(out / "images" / f"{image_id}.jpg", draw_face(h, e, size, rng, worn), quality=95)
                rows.append((image_id, h, e, worn))
    if "2018" in formats:
        with open(out / "tags_2018.csv", "w", newline="") as fh:
            for image_id, h, e, _ in rows:
                fh.write(f"{image_id},{h} hair {e} eyes\n")
    if "2017" in formats:
        with open(out / "tags_2017.csv", "w", newline="") as fh:
            for image_id, h, e, worn in rows:
                tags = [f"{h} hair:{int(rng.integers(50, 900))}", f"{e} eyes:{int(rng.integers(20, 300))}"]
                tags += [
                    f"{x}:{int(rng.integers(1, 500))}"
                    for x in INVISIBLE_TAGS
                    if rng.random() < 0.5 and x not in marks
                ]  # a tag drawn as a mark is named only where it is drawn
                tags += [f"{m}:{int(rng.integers(1, 500))}" for m in worn]
                fh.write(f"{image_id}," + "\t".join(tags) + "\n")
    if "header" in formats:
        with open(out / "tags_header.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["image", "tags"])
            for image_id, h, e, worn in rows:
                writer.writerow([f"{image_id}.jpg", ", ".join([f"{h} hair", f"{e} eyes", *worn])])
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
