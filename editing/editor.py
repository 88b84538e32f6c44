"""Find a face in the generator and draw it again with other tags (issue 25).

Gradient search inverts G: from many random z (scored by one forward pass)
the best few are refined with Adam so that G(z, c_source) reproduces the
face, z kept in [-1, 1]. G is cut at its 8x8 feature map h0 (the output of
`g_h0`): beside z, the search may fit a small per-image offset of h0, which
holds what z alone cannot (the exact shape of a fringe, a pose), while the
tags still reach every decoder scale through the condition embedding, so an
edit changes the colours and keeps the offset. The edit is
G(z*, c_edit) with the offset scaled down where the edited (and, less, the
kept) groups live, c_edit the source's tags where the user named no group,
and the face's own pixels wherever the edited groups do not live
(FaceEditor.draw).

Needs TensorFlow (gradients), so it is not on the no-TF fast path:
generate.py imports it only for --edit, the studio only on an upload.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sampling.generation import draw_z, to_uint8
from tags.canonical import TagSet
from tags.parser import Query


@dataclass(frozen=True)
class SearchSettings:
    """How hard to look and how an edit is drawn (the search and the regions chosen with
    bench/quality/edit_quality.py on 30 held-out faces of --seed 0, keep_face on 120 others; the
    figures in docs/recolour.md are other faces). The offset's gain in a cell is
    1 - max(region_fade x edited groups' region, kept_fade x kept groups')."""

    starts: int = 64  # random z scored by one forward pass
    kept: int = 2  # best starts refined by gradient search, side by side
    steps: int = 50  # Adam steps
    lr: float = 0.05
    offset: bool = True  # also fit a per-image offset of G's 8x8 feature map
    offset_weight: float = 0.5  # L2 pull of the offset towards 0 (keeps the edit's colours free)
    regions: bool = True  # an edit changes only where its groups live (see FaceEditor.draw)
    region_low: float = 0.1  # a group's region: where its colours move G's pixels by more than
    region_high: float = 0.4  # low (fully at high) x the most they move anywhere in the face
    region_fade: float = 0.5  # how far the offset gives way inside an edited group's region (1: fully)
    kept_fade: float = 0.4  # how far it gives way where the kept groups live (the reconstruction too)
    keep_face: bool = True  # outside the edited groups' region an edit is the face's own pixels (False:
    # blended back to the reconstruction where only the kept groups live, as before issue 35)
    face_blend: float = 1.5  # ... and G's edit alone where that region reaches 1 / face_blend


@dataclass
class Found:
    """A face found in the generator: the face, its tags, noise and feature-map offset."""

    source: TagSet
    z: np.ndarray  # float32 [nz] in [-1, 1]
    offset: np.ndarray  # float32 [8, 8, filters] (zeros without the offset)
    loss: float  # mean |x - G| + mean (x - G)^2 of G(z, c) + offset, the search's fit (before kept_fade)
    face: np.ndarray = field(repr=False, compare=False)  # uint8 [S, S, 3]: the image searched for
    # (the FaceEditor that drew them, its regions): drawn once per face and editor; dataclasses.replace
    # resets it
    regions: tuple | None = field(default=None, init=False, repr=False, compare=False)


def edited_tags(source: TagSet, query: Query, vocab) -> TagSet:
    """The source's tags with the groups named in `query` replaced (and its
    extras, when it names any): "green hair" keeps the source's eye colour."""
    values = {**source.as_dict(), **query.values}
    extras = query.extras if query.extras else source.extras
    return vocab.tagset(values, extras)


def sweep_tags(source: TagSet, group: str, vocab) -> list[TagSet]:
    """The source's tags with `group` set to each of its values in turn."""
    return [vocab.tagset({**source.as_dict(), group: value}, source.extras) for value in vocab.groups[group]]


class FaceEditor:
    """Inverts one Keras generator; the traced search step is reused for every face."""

    def __init__(self, generator, config, vocab, settings: SearchSettings = SearchSettings()):
        import keras
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()  # the same --seed, the same pixels
        self.config, self.vocab, self.settings = config, vocab, settings
        h0 = generator.get_layer("g_h0").output
        embedding = generator.get_layer("g_embed").output[0]
        self._front = keras.Model(generator.inputs, [h0, embedding])  # (z, cond[, eps]) -> (h0, embedding)
        self._back = keras.Model([h0, embedding], generator.output)  # -> image
        k = settings.kept
        self._z = tf.Variable(tf.zeros((k, config.nz)))
        self._offset = tf.Variable(tf.zeros((k, *h0.shape[1:])))
        self._cond = tf.Variable(tf.zeros((k, vocab.dim)))
        self._target = tf.Variable(tf.zeros((k, config.image_size, config.image_size, 3)))
        self._variables = [self._z, self._offset] if settings.offset else [self._z]
        self._optimizer = keras.optimizers.Adam(settings.lr)
        self._optimizer.build(self._variables)
        self._step = tf.function(
            self._search_step, autograph=False
        )  # no tensor branches: trace, don't convert

    @classmethod
    def open(cls, model_dir, settings: SearchSettings = SearchSettings()) -> "FaceEditor":
        """Load G and trace the search step (TensorFlow's start-up lines hidden unless verbose)."""
        from common.quiet import silenced
        from sampling.runtime import load_keras_generator

        with silenced(stdout=False):
            generator, config, vocab = load_keras_generator(model_dir)
            editor = cls(generator, config, vocab, settings)
            editor._step()  # the trace is start-up work, not the first face's; find() resets the variables
        return editor

    # ------------------------------------------------------------ drawing
    def _inputs(self, z, cond):
        inputs = [z, cond]
        if self.config.cond_augment:  # eps at 0: the mean embedding
            inputs.append(np.zeros((len(z), self.config.embed_dim), np.float32))
        return inputs

    def _draw(self, z, offset, cond) -> np.ndarray:
        h0, embedding = self._front(self._inputs(z, cond), training=False)
        return self._back([h0 + offset, embedding], training=False).numpy()

    def draw(self, found: Found, tagsets: list[TagSet]) -> np.ndarray:
        """uint8 [n, S, S, 3]: the found face under each tag set.

        With `regions` (the default) a tag set that changes some groups of the source changes the
        face only where those groups live: there the feature-map offset (which holds the source's
        own colours) gives way to the new tags, and elsewhere the pixels are the face's own
        (`keep_face`), so "green hair" keeps the source's eyes as they are, not as G draws their tag.
        A group's region is where G, at the found z, moves the pixels when that group alone runs
        through its colours; G alone says so, not the checker that grades the edit. With
        `kept_fade`, the offset also gives way a little where the kept groups live, so their colours
        are the tags' as G draws them rather than whatever the offset absorbed (small eyes, mostly):
        the reconstruction's, and an edit's where the edited groups' region covers them."""
        return to_uint8(self._drawn(found, tagsets))

    def _drawn(self, found: Found, tagsets: list[TagSet]) -> np.ndarray:
        """`draw` in G's own range [-1, 1], float32. An edit of some groups is blended back to the face
        by 1 - face_blend x the edited groups' region (`keep_face`; 1.5 rather than 1 keeps an eye edit's
        new colour to the irises' rims), or, without it, to the reconstruction as drawn here (kept fade
        included) by how much more the kept groups live in a pixel than the edited."""
        n, s = len(tagsets), self.settings
        z = np.repeat(found.z[None], n, 0)
        offset = np.repeat(found.offset[None], n, 0)
        conds = self.vocab.conditions(tagsets)
        changed = [[g for g in self.vocab.groups if t.get(g) != found.source.get(g)] for t in tagsets]
        if not s.regions or not (any(changed) or s.kept_fade > 0):
            return self._draw(z, offset, conds)
        regions = self.regions(found)
        groups = list(self.vocab.groups)
        asked = np.stack([self._union(regions, c) for c in changed])
        kept = np.stack([self._union(regions, [g for g in groups if g not in c]) for c in changed])
        fade = np.maximum(s.region_fade * asked, s.kept_fade * kept)
        images = self._draw(z, offset * self._offset_gain(fade), conds)
        if any(changed):
            if s.keep_face:
                back = found.face.astype(np.float32) / 127.5 - 1.0
                weights = 1.0 - np.clip(s.face_blend * asked, 0.0, 1.0)
            else:
                back, weights = self._drawn(found, [found.source])[0], np.clip(kept - asked, 0.0, 1.0)
            for i, c in enumerate(changed):
                if c and len(c) < len(groups):
                    weight = weights[i][..., None]
                    images[i] = weight * back + (1.0 - weight) * images[i]
        return images

    def _union(self, regions: dict[str, np.ndarray], groups: list[str]) -> np.ndarray:
        size = self.config.image_size
        return np.max([regions[g] for g in groups], 0) if groups else np.zeros((size, size))

    def _offset_gain(self, fade: np.ndarray) -> np.ndarray:
        """float32 [n, 8, 8, 1]: 1 - fade (per pixel, [n, S, S]) pooled to the offset's 8x8 cells."""
        n, cells = fade.shape[0], self._offset.shape[1]
        cell = self.config.image_size // cells
        pooled = fade.reshape(n, cells, cell, cells, cell).mean((2, 4))
        return (1.0 - np.clip(pooled, 0.0, 1.0)[..., None]).astype(np.float32)

    def regions(self, found: Found) -> dict[str, np.ndarray]:
        """`_regions(found)`, drawn once per found face and editor (a sweep and its edits share them;
        another editor, with other region settings or another G, draws its own)."""
        if found.regions is None or found.regions[0] is not self:
            found.regions = (self, self._regions(found))
        return found.regions[1]

    def _regions(self, found: Found) -> dict[str, np.ndarray]:
        """{group: float [S, S] in [0, 1]}: where that group's colours move G's pixels (each other
        value of the group drawn at the found z and offset, against the reconstruction), smoothed and
        scaled by its largest move (region_low..region_high of it ramp 0 -> 1)."""
        from scipy.ndimage import gaussian_filter

        s, source, out = self.settings, found.source, {}
        recon = self._draw(found.z[None], found.offset[None], self.vocab.conditions([source]))[0]
        for group, values in self.vocab.groups.items():
            others = [
                self.vocab.tagset({**source.as_dict(), group: v}, source.extras)
                for v in values
                if v != source.get(group)
            ]
            if not others:
                out[group] = np.zeros(recon.shape[:2])
                continue
            k = len(others)
            drawn = self._draw(
                np.repeat(found.z[None], k, 0),
                np.repeat(found.offset[None], k, 0),
                self.vocab.conditions(others),
            )
            move = gaussian_filter(np.abs(drawn - recon).mean((0, 3)), 1.5)
            scaled = move / max(float(move.max()), 1e-6)
            out[group] = np.clip((scaled - s.region_low) / (s.region_high - s.region_low), 0.0, 1.0)
        return out

    # ------------------------------------------------------------ search
    def _pixel_loss(self, image, target):
        import tensorflow as tf

        diff = image - target
        return tf.reduce_mean(tf.abs(diff), [1, 2, 3]) + tf.reduce_mean(tf.square(diff), [1, 2, 3])

    def _search_step(self):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            h0, embedding = self._front(self._inputs(self._z, self._cond), training=False)
            image = self._back([h0 + self._offset, embedding], training=False)
            per_start = self._pixel_loss(image, self._target)
            pull = self.settings.offset_weight * tf.reduce_mean(tf.square(self._offset), [1, 2, 3])
            loss = tf.reduce_sum(per_start + pull)
        grads = tape.gradient(loss, self._variables)
        self._optimizer.apply_gradients(zip(grads, self._variables))
        self._z.assign(tf.clip_by_value(self._z, -1.0, 1.0))
        return per_start

    def find(self, image: np.ndarray, source: TagSet, seed: int = 0) -> Found:
        """The z (and offset) with which G draws `image` (uint8 [S, S, 3]) under `source`."""
        import tensorflow as tf

        s, size = self.settings, self.config.image_size
        if image.shape != (size, size, 3):
            raise ValueError(f"image must be {size}x{size}x3, not {image.shape}")
        target = image.astype(np.float32)[None] / 127.5 - 1.0
        cond = self.vocab.condition(source)[None]
        starts = draw_z(np.random.default_rng([seed, 25]), s.starts, self.config.nz)
        zeros = np.zeros((s.starts, *self._offset.shape[1:]), np.float32)
        first = self._draw(starts, zeros, np.repeat(cond, s.starts, 0))
        scores = np.abs(first - target).mean((1, 2, 3)) + np.square(first - target).mean((1, 2, 3))
        best = np.argsort(scores, kind="stable")[: s.kept]
        self._z.assign(starts[best])
        self._offset.assign(np.zeros(self._offset.shape, np.float32))
        self._cond.assign(np.repeat(cond, s.kept, 0))
        self._target.assign(np.repeat(target, s.kept, 0))
        for variable in self._optimizer.variables:  # a fresh Adam (moments, step count) for every face
            if variable is not self._optimizer.learning_rate:
                variable.assign(tf.zeros_like(variable))
        for _ in range(s.steps):
            self._step()
        # the loss of the last step is that of the variables before its update: score them as they are now
        z, offset = (
            self._z.numpy(),
            self._offset.numpy() if s.offset else np.zeros(self._offset.shape, np.float32),
        )
        final = self._draw(z, offset, np.repeat(cond, s.kept, 0))
        losses = np.abs(final - target).mean((1, 2, 3)) + np.square(final - target).mean((1, 2, 3))
        pick = int(np.argmin(losses))
        return Found(source, z[pick], offset[pick], float(losses[pick]), image)
