"""A run's own tag checker, for the tags the given checker does not know.

Grading (--grade, eval.csv, the report, which tags the data supports) needs a checker that reads every
tag of the run's vocabulary. A run gets its own, RUN/checker/, fine-tuned on the run's data from the
nearest checker at hand, when its vocabulary has tags that checker lacks:
- a fine-tuning run (--init-from) whose tags grew: from --checker, else the source model's checker;
- a run on a tag-rich CSV (other tags): from --checker, else the bundled model's checker.
The colour layers and the outputs of the tags both know are kept; the new outputs learn from the
run's training images (checker.training.train_checker with start_from). A run whose checker already
reads all its tags uses that one, as before.
"""

from __future__ import annotations

import json
from pathlib import Path

from checker.checker import find_checker_dir, save_checker
from checker.training import train_checker
from sampling.export import CHECKER_JSON
from sampling.outputs import DEFAULT_MODEL
from training.trainer import Trainer, TrainerCallback

RUN_CHECKER_DIR = "checker"


def _reads_all(checker_dir: Path, vocab) -> bool:
    meta = json.loads((checker_dir / CHECKER_JSON).read_text())
    groups_known = all(set(values) <= set(meta["groups"].get(g, [])) for g, values in vocab.groups.items())
    return groups_known and set(vocab.other_tags) <= set(meta["other_tags"])


def plan_checker(config, vocab, run_dir: Path, init_from: str | None) -> tuple[str, Path | None]:
    """(the checker the run grades with, the checker to fine-tune into RUN/checker or None). The first
    is "" when the run has none (a colour-only run without --checker, as before)."""
    given = find_checker_dir(config.checker) if config.checker else None
    source = given or (find_checker_dir(init_from) if init_from else None)
    wanted = bool(init_from) or bool(vocab.other_tags)
    if source is not None and _reads_all(source, vocab):
        return str(config.checker or source), None
    if not wanted and given is None:
        return config.checker, None
    start = source or find_checker_dir(DEFAULT_MODEL)
    return str(run_dir / RUN_CHECKER_DIR), start


def run_checker_dir(run_dir: Path) -> Path | None:
    """RUN/checker when the run trained its own checker."""
    return (
        Path(run_dir) / RUN_CHECKER_DIR
        if (Path(run_dir) / RUN_CHECKER_DIR / CHECKER_JSON).is_file()
        else None
    )


class RunChecker(TrainerCallback):
    """Trains RUN/checker before the first step when the run needs one (plan_checker), so that
    --eval-every grades every tag from the start; a resumed run keeps the one it has."""

    def on_train_begin(self, trainer: Trainer) -> None:
        out = trainer.run_dir / RUN_CHECKER_DIR
        grading, start_from = plan_checker(trainer.config, trainer.vocab, trainer.run_dir, trainer.init_from)
        if grading != str(out) or run_checker_dir(trainer.run_dir) is not None:
            return
        trainer.say(
            f"training the run's tag checker for its {len(trainer.vocab.all_tags())} tags"
            + (f", from {start_from}" if start_from else "")
            + f" -> {out}"
        )
        model, meta = train_checker(
            trainer.data,
            seed=trainer.config.seed,
            image_size=trainer.config.image_size,
            progress=trainer.progress,
            start_from=start_from,
        )
        save_checker(model, meta, out)
        accuracy = ", ".join(f"{g} {a:.2f}" for g, a in meta["heldout_accuracy"].items())
        trainer.say(f"run's tag checker: held-out accuracy {accuracy}")
