"""What train.py shows of a run while it trains, as trainer callbacks (the
trainer itself only logs numbers):

- `SampleGrids`: the same noise and tags every epoch (samples/epoch_NNN.png,
  a timeline; samples/step_NNNNNNN.png every --sample-every steps and at the last step),
  each row labelled with its tags, also in TensorBoard; and the epoch grids as one animation,
  samples/timeline.gif (write_timeline), rebuilt from the PNGs at each epoch's end;
- `FilterSheets`: a contact sheet of the real images the filter left out, each labelled with
  its id and loss in the order of the trainer's epoch_NNN.csv (filtered/epoch_NNN.png, also in
  TensorBoard as filter/left_out);
- `QualityMetrics`: the tag checker's metrics every --eval-every steps into RUN/eval.csv (evaluate.metrics:
  the targets' figures, and KID and sharpness), scored on the generator in memory (no export, no
  reload), and one line with them;
- `NearCopies`: at the end of the run, how close its faces come to the training images
  (evaluate.copies: RUN/copies.json, RUN/copies.png and one line);
- `TagSupport`: at the end of a run with other tags, which of them the data supports
  (evaluate.tag_support: RUN/tag_support.json, a line per tag and a warning per unsupported one).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from checker.checker import find_checker_dir, load_checker
from common import jsonio
from common.files import atomic_path, atomic_write
from evaluate.copies import copies_line, measure_copies
from evaluate.metrics import eval_line, evaluate_generator, write_results
from evaluate.tag_support import shared_tags, tag_support
from evaluate.tag_support_record import SUPPORT_NAME, support_record, support_said
from sampling.generation import to_uint8
from sampling.grid import grid, save_png
from sampling.runtime import LoadedGenerator, keras_infer
from training.run_checker import RunChecker, run_checker_dir
from training.trainer import Trainer, TrainerCallback

CONTACT_SHEET_IMAGES = 64
CONTACT_SHEET_COLUMNS = 8
TIMELINE_NAME = "timeline.gif"
TIMELINE_FRAMES = 48  # at most: a long run's epochs are taken evenly, the first and the last always
FRAME_WIDTH = 480  # px at most: a wider grid (64 px faces and up) is shrunk by a whole factor in the GIF
FRAME_MS, LAST_FRAME_MS = 400, 2000  # the last grid (the model now) stays up before the loop starts again
COPIES_NAME, COPIES_PICTURE = "copies.json", "copies.png"
COPIES_PER_COMBO = 2  # generated faces per training tag combination measured for near copies


def fixed_sample_plan(vocab, config, n_rows: int = 8, n_cols: int = 8):
    """The same z and tags every epoch, so the grids form a timeline: rows of ({group: value}, other tags).
    Rows walk through the hair colours, pairing each with a different eye colour. With other tags in the
    vocabulary the second half of the rows repeats the first half's colours with one other tag each (the
    first n_rows / 2 tags in turn), so those tags are seen against the same faces without them."""
    hair = vocab.groups.get("hair", [])
    combos = [tuple(c["tags"].get(g) for g in vocab.groups) for c in vocab.combos] if vocab.combos else []
    picked = []
    plain_rows = n_rows // 2 if vocab.other_tags else n_rows
    for i in range(min(plain_rows, max(len(hair), 1))):
        wanted_hair = hair[(i * max(len(hair), 1)) // plain_rows % len(hair)] if hair else None
        options = [c for c in combos if c and c[0] == wanted_hair] or combos
        picked.append(options[(i * 3) % len(options)])
    rows = [(dict(zip(vocab.groups, combo)), ()) for combo in picked]
    if vocab.other_tags:
        rows += [
            (values, (vocab.other_tags[i % len(vocab.other_tags)],))
            for i, (values, _) in enumerate(list(rows))
        ]
    rng = np.random.default_rng(config.seed + 12345)
    z = rng.uniform(-1, 1, (n_cols, config.nz)).astype(np.float32)
    eps = rng.standard_normal((n_cols, config.embed_dim)).astype(np.float32)
    return rows, z, eps


class SampleGrids(TrainerCallback):
    def on_train_begin(self, trainer: Trainer) -> None:
        self.tag_rows, self.z, self.eps = fixed_sample_plan(trainer.vocab, trainer.config)
        folder = trainer.run_dir / "samples"
        folder.mkdir(exist_ok=True)
        self.labels = [trainer.vocab.text(values, extras) for values, extras in self.tag_rows]
        (folder / "fixed_tags.txt").write_text("".join(label + "\n" for label in self.labels))
        if any(folder.glob("epoch_*.png")):  # a resumed run (perhaps begun before the animation existed)
            write_timeline(folder)

    def _grid(self, trainer: Trainer) -> np.ndarray:
        generator = trainer.sampling_generator()  # G's moving average when it is on
        n_rows = len(self.tag_rows)
        conds = [trainer.vocab.condition_from_values(values, extras) for values, extras in self.tag_rows]
        cond = np.repeat(np.stack(conds), len(self.z), 0)  # row by row, the same noise in each row
        z, eps = np.tile(self.z, (n_rows, 1)), np.tile(self.eps, (n_rows, 1))
        inputs = [z, cond, eps] if trainer.config.cond_augment else [z, cond]
        # one call for the whole grid: a Keras call per row costs more than the tiny nets' work
        return grid(to_uint8(generator(inputs, training=False).numpy()), len(self.z), self.labels)

    def on_step_end(self, trainer: Trainer, step: int) -> None:
        every = trainer.config.sample_every
        if every and step % every == 0:
            save_png(trainer.run_dir / "samples" / f"step_{step:07d}.png", self._grid(trainer))

    def on_epoch_end(self, trainer: Trainer, epoch: int, left_out) -> None:
        image = self._grid(trainer)
        save_png(trainer.run_dir / "samples" / f"epoch_{epoch:03d}.png", image)
        write_timeline(trainer.run_dir / "samples")
        trainer.log_image("samples/fixed_noise", image)

    def on_train_end(self, trainer: Trainer, step: int) -> None:
        """The model the run ends with (its export), also when the last step is mid-epoch."""
        path = trainer.run_dir / "samples" / f"step_{step:07d}.png"
        if not path.exists():
            save_png(path, self._grid(trainer))


def epoch_grids(samples: Path) -> list[tuple[int, Path]]:
    """(epoch, path) of samples/epoch_NNN.png in epoch order (epoch_1000 after epoch_999)."""
    found = [(p.stem.split("_", 1)[1], p) for p in samples.glob("epoch_*.png")]
    return sorted((int(n), p) for n, p in found if n.isdigit())


def timeline_frames(grids: list[tuple[int, Path]]) -> list[tuple[int, Path]]:
    """At most TIMELINE_FRAMES of the grids, spread evenly, keeping the first and the last."""
    if len(grids) <= TIMELINE_FRAMES:
        return list(grids)
    return [grids[i] for i in np.unique(np.linspace(0, len(grids) - 1, TIMELINE_FRAMES).round().astype(int))]


def write_timeline(samples: Path) -> Path | None:
    """samples/timeline.gif from the epoch grids on disk (so a resumed run's covers its earlier
    epochs too): each grid as it is (shrunk, when wider than FRAME_WIDTH), with "epoch N" under it,
    looping forever; written atomically. None when there is no grid yet.

    A GIF stores every frame whole: 60 full grids of a 64 px run took 12.5 MB. Shrunk by 2 (faces
    of 32 px, the row labels too small to read: the PNGs keep them) and 48 frames, 2.9 MB."""
    import imageio.v3 as iio

    frames = timeline_frames(epoch_grids(samples))
    if not frames:
        return None
    pictures = [
        captioned(timeline_frame(iio.imread(path)[..., :3]), [f"epoch {epoch}"], scale=1)
        for epoch, path in frames
    ]
    height, width = max(p.shape[0] for p in pictures), max(p.shape[1] for p in pictures)
    canvas = np.full((len(pictures), height, width, 3), 255, np.uint8)  # a grid of another size: white around
    for frame, picture in zip(canvas, pictures):
        frame[: picture.shape[0], : picture.shape[1]] = picture
    durations = [FRAME_MS] * (len(frames) - 1) + [LAST_FRAME_MS]
    path = samples / TIMELINE_NAME
    with atomic_path(path, suffix=".gif") as tmp:  # (Pillow takes one frame's duration as a number only)
        iio.imwrite(
            tmp,
            gif_colours(canvas),
            extension=".gif",
            duration=durations if len(frames) > 1 else LAST_FRAME_MS,
            loop=0,
        )
    return path


def timeline_frame(grid_image: np.ndarray) -> np.ndarray:
    """The grid as the animation shows it: means of k x k pixel blocks, k the least whole factor that
    brings it to FRAME_WIDTH or narrower (1: unchanged; the last rows and columns that fill no block
    are dropped)."""
    k = -(-grid_image.shape[1] // FRAME_WIDTH)
    if k == 1:
        return grid_image
    h, w = grid_image.shape[0] // k * k, grid_image.shape[1] // k * k
    blocks = grid_image[:h, :w].reshape(h // k, k, w // k, k, 3).astype(np.float32)
    return blocks.mean(axis=(1, 3)).round().astype(np.uint8)


def gif_colours(frames: np.ndarray) -> np.ndarray:
    """Each frame of more than 256 colours cut to 256 (Pillow's fast octree, no dithering); the GIF
    writer then stores every frame as it is. Its own median cut took 15 s of CPU for 60 grids of a
    64 px run (an AMD EPYC core), this 2 s with the writing, 7 levels of 255 from the PNGs on average
    (median cut: 5). A frame of 256 colours or fewer is stored exactly."""
    from PIL import Image

    method, dither = Image.Quantize.FASTOCTREE, Image.Dither.NONE
    out = []
    for frame in frames:
        colours = np.unique(frame.reshape(-1, 3).astype(np.uint32) @ np.array([65536, 256, 1], np.uint32))
        if len(colours) > 256:
            frame = Image.fromarray(frame).quantize(256, method=method, dither=dither)
            frame = np.asarray(frame.convert("RGB"))
        out.append(frame)
    return np.stack(out)


def captioned(image: np.ndarray, lines: list[str], scale: int = 2) -> np.ndarray:
    """A face enlarged `scale` times with its caption lines under it (white strip, black text)."""
    from PIL import Image, ImageDraw, ImageFont

    from sampling.grid import upscale

    face = upscale(np.asarray(image, np.uint8), scale)
    font = ImageFont.load_default()
    strip = Image.new("RGB", (face.shape[1], 12 * len(lines) + 2), (255, 255, 255))
    draw = ImageDraw.Draw(strip)
    for k, line in enumerate(lines):
        draw.text((2, 1 + 12 * k), line, fill=(0, 0, 0), font=font)
    return np.concatenate([face, np.asarray(strip)], axis=0)


def filter_sheet(images: np.ndarray, ids: list[str], losses: list[str]) -> np.ndarray:
    """The contact sheet of the images the filter left out: each cell labelled with its
    data id and reconstruction loss, in the order of filtered/epoch_NNN.csv."""
    cells = [
        captioned(img, [f"id {i}", f"loss {float(l):.4g}" if l else ""])
        for img, i, l in zip(images, ids, losses)
    ]
    return grid(np.stack(cells), CONTACT_SHEET_COLUMNS)


class FilterSheets(TrainerCallback):
    def on_epoch_end(self, trainer: Trainer, epoch: int, left_out) -> None:
        if left_out is None or not len(left_out):
            return
        import csv

        rows = left_out[:CONTACT_SHEET_IMAGES]
        listing = trainer.run_dir / "filtered" / f"epoch_{epoch:03d}.csv"
        loss_by_id = {}
        if listing.exists():
            with open(listing, newline="") as fh:
                loss_by_id = {r["id"]: r["loss"] for r in csv.DictReader(fh)}
        ids = [str(trainer.data.ids[r]) for r in rows]
        sheet = filter_sheet(trainer.data.images[rows], ids, [loss_by_id.get(i, "") for i in ids])
        save_png(trainer.run_dir / "filtered" / f"epoch_{epoch:03d}.png", sheet)
        trainer.log_image("filter/left_out", sheet)


def run_generator(trainer: Trainer) -> LoadedGenerator:
    """The generator in memory (G's moving average when on) as the samplers and metrics take a model."""
    return LoadedGenerator(
        trainer.run_dir,
        trainer.config,
        trainer.vocab,
        "tensorflow",
        keras_infer(trainer.sampling_generator()),
    )


class QualityMetrics(TrainerCallback):
    def __init__(self, checker, every: int):
        self.checker, self.every = checker, every

    def on_train_begin(self, trainer: Trainer) -> None:
        own = run_checker_dir(trainer.run_dir)  # trained by RunChecker for tags --checker lacks
        if own is not None:
            self.checker = load_checker(own)

    def on_step_end(self, trainer: Trainer, step: int) -> None:
        if step % self.every:
            return
        generator = run_generator(trainer)
        result = evaluate_generator(
            generator, self.checker, trainer.data, n_per_combo=2, seed=trainer.config.seed
        )
        result |= {"cpu_seconds": round(trainer.cpu_seconds(), 1)}
        write_results(trainer.run_dir, result, step)
        trainer.log_scalars(result, "quality")
        trainer.say(eval_line(result, step))


class NearCopies(TrainerCallback):
    """Small data invites copying: at the end of every run, the distance of its faces
    (COPIES_PER_COMBO per training tag combination, the run's seed) to their nearest training
    image and its mirror, beside held-out real faces' (evaluate.copies), and the near copies."""

    def on_train_end(self, trainer: Trainer, step: int) -> None:
        generator = run_generator(trainer)
        result, picture = measure_copies(
            generator, trainer.data, n_per_combo=COPIES_PER_COMBO, seed=trainer.config.seed
        )
        save_png(trainer.run_dir / COPIES_PICTURE, picture)
        atomic_write(trainer.run_dir / COPIES_NAME, jsonio.dumps({"step": step} | result, indent=1) + "\n")
        trainer.say(copies_line(result))


class TagSupport(TrainerCallback):
    """A CSV's other tags may be invisible in the images (noisy tags): at the end of a run with other
    tags, the checker that reads them measures each one (evaluate.tag_support: TAG_FACES faces per
    tag with the run's seed, and the real held-out faces), so that an unsupported tag is said, not
    silently promised. No other tags, or no checker that reads them: nothing."""

    def on_train_end(self, trainer: Trainer, step: int) -> None:
        if not trainer.vocab.other_tags:
            return
        found = support_checker(trainer)
        if found is None:
            return
        folder, checker = found
        generator = run_generator(trainer)
        figures = tag_support(checker, trainer.data, generator, seed=trainer.config.seed)
        record = support_record(figures, step=step, seed=trainer.config.seed, checker=str(folder))
        atomic_write(trainer.run_dir / SUPPORT_NAME, jsonio.dumps(record, indent=1) + "\n")
        for line in support_said(figures):
            trainer.say(line)


def support_checker(trainer: Trainer):
    """(folder, Checker) of the checker that reads the run's other tags: RUN/checker (RunChecker's, for
    tags the given one lacks), else --checker when it reads any of them; None without one."""
    given = find_checker_dir(trainer.config.checker) if trainer.config.checker else None
    for folder in (run_checker_dir(trainer.run_dir), given):
        if folder is not None:
            checker = load_checker(folder)
            if shared_tags(trainer.vocab, checker):
                return folder, checker
    return None


def training_callbacks(config, checker=None) -> list[TrainerCallback]:
    """The callbacks train.py trains with: sample grids and their animation, filter contact
    sheets, near copies and which tags the data supports at the end and, with --eval-every, the
    quality metrics (`checker` loaded beforehand)."""
    callbacks = [RunChecker(), SampleGrids(), FilterSheets(), NearCopies(), TagSupport()]
    if config.eval_every:
        callbacks.append(QualityMetrics(checker, config.eval_every))
    return callbacks
