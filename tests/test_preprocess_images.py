"""preprocess.images.load_image: every image mode through Pillow's own conversion (issue 15)."""

import pytest


def _hair_blue_eyes_red(size=48):
    from preprocess.synthetic import draw_face

    return draw_face("blue", "red", size)


@pytest.mark.parametrize("k", [0, 60])
def test_cmyk_jpegs_convert_as_pillow_does(tmp_path, k):
    """A CMYK JPEG (K=0 and K>0) decodes to Pillow's own RGB conversion: not RGBA, not 'grayscale'."""
    import numpy as np
    from PIL import Image

    from preprocess.images import load_image

    rgb = _hair_blue_eyes_red()
    cmy = 255 - rgb.astype(np.int16)
    cmyk = np.concatenate([np.clip(cmy - k, 0, 255), np.full(rgb.shape[:2] + (1,), k)], axis=2).astype(
        np.uint8
    )
    path = tmp_path / f"face_k{k}.jpg"
    Image.fromarray(cmyk, "CMYK").save(path, quality=95)
    with Image.open(path) as im:
        assert im.mode == "CMYK"
        reference = np.asarray(im.convert("RGB"))
    img, reason = load_image(str(path), 48)
    assert reason == "", reason
    assert np.abs(img.astype(int) - reference.astype(int)).max() <= 1
    from preprocess.synthetic import hair_region

    hair = img[hair_region(48)].mean(axis=0)
    assert np.argmax(hair) == 2, hair  # blue hair stays blue (CMYK read as RGBA turned it cream)


def test_palette_with_transparency_and_la_composite_on_white(tmp_path):
    import numpy as np
    from PIL import Image

    from preprocess.images import load_image

    rgb = _hair_blue_eyes_red()
    p = Image.fromarray(rgb).quantize(64)
    p.info["transparency"] = 0
    p.save(tmp_path / "p.png", transparency=0)
    with Image.open(tmp_path / "p.png") as im:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
    reference = np.rint(rgba[..., :3] * rgba[..., 3:] / 255 + 255 * (1 - rgba[..., 3:] / 255)).astype(
        np.uint8
    )
    img, reason = load_image(str(tmp_path / "p.png"), 48)
    assert reason == "" and np.array_equal(img, reference)
    assert (reference == 255).all(axis=2).any()  # the transparent colour really became white

    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    la = Image.fromarray(
        np.stack([gray, np.where(np.arange(48)[None, :] < 24, 255, 0).repeat(48, 0)], 2).astype(np.uint8),
        "LA",
    )
    la.save(tmp_path / "la.png")
    img, reason = load_image(str(tmp_path / "la.png"), 48, keep_grayscale=True)
    assert reason == ""
    assert np.array_equal(img[:, :24, 0], gray[:, :24]) and (img[:, 24:] == 255).all()
    assert load_image(str(tmp_path / "la.png"), 48)[1] == "grayscale"


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    import numpy as np
    from PIL import Image

    from preprocess.images import load_image

    ramp = (np.arange(48 * 48, dtype=np.uint16).reshape(48, 48) * 28).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    img, reason = load_image(str(tmp_path / "g16.png"), 48, keep_grayscale=True)
    assert reason == ""
    assert np.abs(img[..., 0].astype(int) - np.rint(ramp / 257).astype(int)).max() <= 1
    assert len(np.unique(img)) > 200  # not clipped to white


def test_exif_orientation_is_applied(tmp_path):
    import numpy as np
    from PIL import Image

    from preprocess.images import load_image

    rgb = _hair_blue_eyes_red()
    exif = Image.Exif()
    exif[0x0112] = 3  # rotated 180
    Image.fromarray(rgb[::-1, ::-1]).save(tmp_path / "r.png", exif=exif)
    img, reason = load_image(str(tmp_path / "r.png"), 48)
    assert reason == "" and np.array_equal(img, rgb)
