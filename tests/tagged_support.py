"""Models and a tag checker for other tags (glasses, hat, smile), built once per test session in folders
every pytest-xdist worker shares (tests.conftest.shared_folder):

- marked_faces: synthetic 32x32 faces, 100 per pair of 2 hair x 2 eye colours, each wearing each visible
  mark with probability 1/2, and the 2017 CSV's invisible random tags (blush, long hair, ...);
- tagged_model: an exported model whose vocabulary has those other tags, with an untrained generator
  (random weights: enough for the plumbing of conditions, sweeps and the studio, and quick to build);
- tagged_checker: a tag checker trained on the marked faces (about 10 s on one core), which reads the
  marks on held-out faces (AUC about 1) and cannot read the invisible tags (AUC about 0.5)."""

from pathlib import Path

from preprocess.synthetic import MARKS
from tests.conftest import shared_folder, tflite_exports

SIZE = 32
N_PER_PAIR = 100
FACES = dict(size=SIZE, seed=5, hair=["blue", "red"], eyes=["blue", "red"], formats=("2017",), marks=MARKS)


def marked_faces(root: Path) -> Path:
    """The marked face set under root (written once)."""
    from preprocess.synthetic import write_synthetic_set

    faces = root / "faces"
    if not (faces / "tags_2017.csv").exists():
        write_synthetic_set(faces, N_PER_PAIR, **FACES)
    return faces


def marked_data(root: Path):
    """The marked faces as a cached dataset, a quarter held out."""
    from preprocess.cache import build_or_load
    from preprocess.spec import DataSpec

    faces = marked_faces(root)
    return build_or_load(
        DataSpec(faces / "images", faces / "tags_2017.csv", size=SIZE, holdout=0.25),
        cache_dir=root / "cache",
        progress=False,
        log=lambda _: None,
    )


def tagged_model(tmp_path_factory) -> Path:
    """An exported model folder (config.json, vocab.json, generator.weights.h5) for the marked faces'
    vocabulary, its generator untrained."""
    from model.config import TrainConfig
    from model.networks import build_generator
    from sampling.export import GENERATOR_WEIGHTS, export_generator

    with shared_folder(tmp_path_factory, "tagged") as root:
        out = root / "tagged-model"
        if not (out / GENERATOR_WEIGHTS).exists():
            vocab = marked_data(root).vocab
            vocab_path = vocab.save(root / "vocab.json")
            config = TrainConfig(
                image_size=SIZE,
                filters=8,
                repeats=1,
                nz=16,
                embed_dim=8,
                cond_dim=vocab.dim,
                seed=1,
                precision="fp32",
            )
            export_generator(build_generator(config, vocab.dim), config, vocab_path, out)
    return out


def tagged_checker(tmp_path_factory) -> tuple[Path, object]:
    """(checker folder, the CachedData it was trained and held out on)."""
    from checker.checker import save_checker
    from checker.training import train_checker
    from sampling.export import CHECKER_JSON

    with shared_folder(tmp_path_factory, "tagged") as root:
        data = marked_data(root)
        out = root / "checker"
        if not (out / CHECKER_JSON).exists():
            model, meta = train_checker(
                data, epochs=40, batch_size=32, seed=0, image_size=SIZE, progress=False, robust=False
            )
            with tflite_exports():  # shared by tests of both backends
                save_checker(model, meta, out)
    return out, data
