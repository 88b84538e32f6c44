"""Export a generator for generation: Keras weights + config + vocab + TFLite.

    python -m model.export RUN_DIR [--out DIR] [--checker CHECKER_DIR]

writes RUN_DIR/export/ (or DIR) from the run's latest checkpoint, plus the
tag checker's files when --checker is given (so --grade works with the
model alone). The same layout is the bundled models/default/.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from model.config import TrainConfig


def export_generator(generator, config: TrainConfig, vocab_path, out_dir) -> Path:
    """Write config.json, vocab.json (+ word2vec.txt), generator.weights.h5 and
    generator.tflite into out_dir. `generator` must be a float32 model."""
    from model.tflite import convert

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config.save(out)
    vocab_path = Path(vocab_path)
    if vocab_path.resolve() != (out / "vocab.json").resolve():
        shutil.copyfile(vocab_path, out / "vocab.json")
        w2v = vocab_path.with_name("word2vec.txt")
        if w2v.exists():
            shutil.copyfile(w2v, out / "word2vec.txt")
    tmp = out / "generator.tmp.weights.h5"
    generator.save_weights(str(tmp))
    tmp.replace(out / "generator.weights.h5")
    convert(generator, out / "generator.tflite")
    return out


def copy_checker(checker_dir, out_dir) -> None:
    """Copy a tag checker's files into an exported model folder."""
    from model.checker import CHECKER_JSON, TFLITE, WEIGHTS, find_checker_dir, load_checker

    folder = find_checker_dir(checker_dir)
    load_checker(checker_dir)  # refuse a broken checker (ModelError, a ValueError) before copying
    for name in (CHECKER_JSON, TFLITE, WEIGHTS):
        if (folder / name).exists():
            shutil.copyfile(folder / name, Path(out_dir) / name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a training run directory")
    parser.add_argument("--out", default=None, help="output folder (default RUN_DIR/export)")
    parser.add_argument("--checker", default=None, help="also copy this tag checker (checker.json, .tflite, "
                                                        ".weights.h5) beside the generator")
    parser.add_argument("--no-ema", action="store_true",
                        help="export G's raw weights, not their moving average (runs trained with --ema-decay)")
    args = parser.parse_args(argv)
    from model.config import ConfigError
    from model.run_dir import RunDirError
    from model.trainer import load_generator_from_run

    try:
        generator, config, vocab_path = load_generator_from_run(args.run_dir, use_ema=not args.no_ema)
        out = export_generator(generator, config, vocab_path, args.out or Path(args.run_dir) / "export")
        if args.checker:
            copy_checker(args.checker, out)
    except (RunDirError, ConfigError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"exported to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
