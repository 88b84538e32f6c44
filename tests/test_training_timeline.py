"""samples/timeline.gif (issue 34, "watch it learn"): the epoch grids on disk as one looping
animation, in epoch order, at most TIMELINE_FRAMES of them (the last always), each frame the grid's
pixels with its epoch under it, written atomically. On small grids written here (no training)."""

import imageio.v3 as iio
import numpy as np
import pytest


def _write_grids(samples, epochs, size=8, seed=0):
    """A random (so distinct) grid PNG per epoch, as SampleGrids names them; returns epoch -> pixels."""
    from sampling.grid import grid, save_png

    samples.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    written = {}
    for epoch in epochs:
        image = grid(rng.integers(0, 256, (4, size, size, 3), np.uint8) // 64 * 64, 2)  # few colours
        save_png(samples / f"epoch_{epoch:03d}.png", image)
        written[epoch] = image
    return written


def _frames(path):
    """(pixels [n, H, W, 3], per-frame durations in ms, loop count) of a GIF."""
    from PIL import Image

    with Image.open(path) as im:
        durations = []
        for k in range(im.n_frames):
            im.seek(k)
            durations.append(im.info["duration"])
        loop = im.info.get("loop")
    return iio.imread(path, index=None)[..., :3], durations, loop


def test_every_epoch_grid_is_a_frame_in_order_with_its_pixels(tmp_path):
    from training.monitor import FRAME_MS, LAST_FRAME_MS, write_timeline

    samples = tmp_path / "samples"
    grids = _write_grids(samples, [1, 2, 3], size=32)  # wide enough for the caption
    path = write_timeline(samples)
    assert path == samples / "timeline.gif"
    frames, durations, loop = _frames(path)
    assert len(frames) == 3 and loop == 0  # loops forever
    assert durations == [FRAME_MS, FRAME_MS, LAST_FRAME_MS]
    for k, epoch in enumerate(grids):
        h, w = grids[epoch].shape[:2]
        np.testing.assert_array_equal(frames[k, :h, :w], grids[epoch])  # 64 colours: stored exactly
        caption = frames[k, h:]
        assert caption.shape[0] >= 10 and (caption < 128).any()  # "epoch N" written under the grid
    assert not (frames[0, h:] == frames[2, h:]).all()  # each frame's own epoch
    assert sorted(p.name for p in samples.iterdir()) == [
        "epoch_001.png",
        "epoch_002.png",
        "epoch_003.png",
        "timeline.gif",
    ]  # no temporary file left


def test_a_long_run_keeps_48_frames_spread_evenly_with_the_last(tmp_path):
    from training.monitor import TIMELINE_FRAMES, timeline_frames, write_timeline

    samples = tmp_path / "samples"
    grids = _write_grids(samples, range(1, 151), size=4)
    frames, _, _ = _frames(write_timeline(samples))
    assert TIMELINE_FRAMES == 48 and len(frames) == 48
    kept = [epoch for epoch, _ in timeline_frames([(e, None) for e in range(1, 151)])]
    assert kept[0] == 1 and kept[-1] == 150 and len(kept) == 48
    assert set(np.diff(kept)) <= {3, 4}  # evenly spread
    for k in (0, 31, 47):
        h, w = grids[kept[k]].shape[:2]
        np.testing.assert_array_equal(frames[k, :h, :w], grids[kept[k]])


def test_the_animation_is_rebuilt_from_the_grids_on_disk_in_epoch_order(tmp_path):
    """A resumed run has the earlier epochs' grids on disk, not in memory; epoch 1000 comes after 999."""
    from training.monitor import LAST_FRAME_MS, write_timeline

    samples = tmp_path / "samples"
    assert write_timeline(samples.parent) is None  # no grid yet: nothing written
    grids = _write_grids(samples, [998], seed=1)
    frames, durations, _ = _frames(write_timeline(samples))  # the first epoch: one frame
    assert len(frames) == 1 and durations == [LAST_FRAME_MS]
    grids |= _write_grids(samples, [999], seed=3)
    write_timeline(samples)
    grids |= _write_grids(samples, [1000], seed=2)  # a later sitting adds an epoch
    frames, _, _ = _frames(write_timeline(samples))
    assert len(frames) == 3
    for k, epoch in enumerate([998, 999, 1000]):
        h, w = grids[epoch].shape[:2]
        np.testing.assert_array_equal(frames[k, :h, :w], grids[epoch])


def test_a_failed_write_keeps_the_previous_animation(tmp_path, monkeypatch):
    import training.monitor as monitor

    samples = tmp_path / "samples"
    _write_grids(samples, [1, 2])
    before = monitor.write_timeline(samples).read_bytes()
    _write_grids(samples, [3], seed=5)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(iio, "imwrite", full_disk)
    with pytest.raises(OSError):
        monitor.write_timeline(samples)
    assert (samples / "timeline.gif").read_bytes() == before
    assert sorted(p.name for p in samples.iterdir() if not p.name.startswith("epoch_")) == ["timeline.gif"]


def test_grids_of_another_size_are_framed_in_white(tmp_path):
    from training.monitor import captioned, write_timeline

    samples = tmp_path / "samples"
    small = _write_grids(samples, [1], size=4)[1]
    large = _write_grids(samples, [2], size=8, seed=3)[2]
    frames, _, _ = _frames(write_timeline(samples))
    assert frames.shape[1:] == captioned(large, ["epoch 2"], scale=1).shape
    np.testing.assert_array_equal(frames[0, : small.shape[0], : small.shape[1]], small)
    assert (frames[0, : small.shape[0], small.shape[1] :] == 255).all()  # white right of the smaller grid


def test_a_wide_grid_is_shrunk_by_a_whole_factor_to_block_means(tmp_path):
    """A 64 px run's grid (650 px wide) would make a 12 MB animation: wider than FRAME_WIDTH, a frame
    holds the means of k x k blocks of the grid (here 2 x 2 blocks of one colour each: exact)."""
    from sampling.grid import grid, save_png
    from training.monitor import FRAME_WIDTH, write_timeline

    samples = tmp_path / "samples"
    samples.mkdir()
    rng = np.random.default_rng(4)
    small = rng.integers(0, 4, (4, 62, 62, 3)).astype(np.uint8) * 80  # few colours, stored exactly
    faces = small.repeat(2, axis=1).repeat(2, axis=2)  # 124 px faces of 2 x 2 blocks
    wide = grid(faces, 4)  # 4 x 126 + 2 = 506 px: pad and faces start on even pixels
    assert FRAME_WIDTH < wide.shape[1] <= 2 * FRAME_WIDTH
    save_png(samples / "epoch_001.png", wide)
    frames, _, _ = _frames(write_timeline(samples))
    h, w = wide.shape[0] // 2, wide.shape[1] // 2
    assert frames.shape[2] == w  # the caption strip is as wide as the shrunk grid
    np.testing.assert_array_equal(frames[0, :h], wide[::2, ::2])
    assert (frames[0, h:] < 128).any()  # "epoch 1" under it, readable (drawn after shrinking)
    # a grid of mixed pixels: each frame pixel is the rounded mean of its block
    mixed = rng.integers(0, 2, wide.shape).astype(np.uint8) * 255
    mixed[:, :, 1:] = mixed[:, :, :1]  # grey: 0, 255 and their block means (5 levels), stored exactly
    save_png(samples / "epoch_002.png", mixed)
    frames, _, _ = _frames(write_timeline(samples))
    means = mixed.reshape(h, 2, w, 2, 3).astype(float).mean(axis=(1, 3))
    np.testing.assert_array_equal(frames[1, :h], np.round(means).astype(np.uint8))
