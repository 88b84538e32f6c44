"""A tag checker trained once per test session on synthetic 64x64 faces
(4 per hair x eye pair, a quarter held out), kept in a folder every pytest-xdist
worker of the session shares (tests.conftest.shared_folder), so every test module
that needs it, on any worker, uses one training run."""

from pathlib import Path

from tests.conftest import shared_folder, tflite_exports

SIZE = 64


def synthetic_checker(tmp_path_factory, robust: bool = False) -> tuple[Path, object]:
    """(checker folder, CachedData it was trained on). Flips only unless `robust`
    (the degradations need more than 20 epochs of 360 drawings to be learnt)."""
    from checker.checker import save_checker
    from checker.training import train_checker
    from preprocess.cache import build_or_load
    from preprocess.spec import DataSpec
    from preprocess.synthetic import write_synthetic_set
    from sampling.export import CHECKER_JSON

    with shared_folder(tmp_path_factory, "synthetic_checker") as root:
        faces = root / "faces"
        if not (faces / "tags_2018.csv").exists():
            write_synthetic_set(faces, 4, size=SIZE, seed=11, formats=("2018",))
        data = build_or_load(
            DataSpec(faces / "images", faces / "tags_2018.csv", size=SIZE, holdout=0.25),
            cache_dir=root / "cache",
            progress=False,
        )
        out = root / ("checker-robust" if robust else "checker")
        if not (out / CHECKER_JSON).exists():
            model, meta = train_checker(
                data, epochs=20, batch_size=32, seed=0, image_size=SIZE, progress=False, robust=robust
            )
            with tflite_exports():  # shared by tests of both backends
                save_checker(model, meta, out)
    return out, data
