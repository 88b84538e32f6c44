"""Where generate.py writes a drawing: samples/ for the bundled model, samples/<model name>/ for any other,
under the drawing's own file stem (sampling.drawing.Drawing.file_stem: the canonical tags plus what
differs from the defaults), so that no drawing overwrites another. Standard library only (the fast path).
"""

from __future__ import annotations

from pathlib import Path

from common.cli import UserError
from common.ids import safe_name
from model.run_folder import EXPORT_DIR, ensure_writable_dir
from sampling.drawing import Drawing
from sampling.generation import write_files
from sampling.grid import save_png
from sampling.options import DEFAULT_MODEL

SAMPLES = Path("samples")


def model_folder(model: str | Path) -> Path:
    """samples/ for the bundled model, samples/<model name>/ for any other: two models'
    grids and course files (cgan.png, sample_<id>_<k>.jpg) never overwrite each other."""
    folder = Path(model).resolve()
    if folder == DEFAULT_MODEL:
        return SAMPLES
    return SAMPLES / safe_name(folder.parent.name if folder.name == EXPORT_DIR else folder.name, "model")


def is_png(out: str | None) -> bool:
    return bool(out) and Path(out).suffix.lower() == ".png"


def picture_path(out: str | None, model: str | Path, stem: str) -> Path:
    """Where a picture goes: --out FILE.png as given; --out DIR: DIR/<stem>.png; else
    samples/[<model>/]<stem>.png (the folder checked writable)."""
    if is_png(out):
        if Path(out).is_dir():
            raise UserError(
                f"--out {out} is a folder; give a .png file path for the grid, or the folder without .png"
            )
        path = Path(out)
    else:
        path = (Path(out) if out else model_folder(model)) / f"{stem}.png"
    ensure_writable_dir(path.parent, "output folder")
    return path


def output_paths(
    drawing: Drawing, vocab, *, out: str | None, model: str | Path, fmt: str = "grid"
) -> tuple[Path | None, Path | None]:
    """(the picture's PNG path or None, the sample files' folder or None), both checked writable. The
    sample files (`fmt` files or both) go beside the picture. A tags file keeps the course's names
    (cgan.png, sample_<id>_<k>.jpg) in a folder named after what differs (samples/seed2/). Sweeps and
    interpolations are one picture whatever `fmt` says."""
    if drawing.kind == "lines" and drawing.variant and not out:
        out = str(model_folder(model) / drawing.variant)
    path = picture_path(out, model, drawing.file_stem(vocab))
    if drawing.kind in ("sweep", "interpolation"):
        return path, None
    files_folder = path.parent if fmt in ("files", "both") else None
    if files_folder is not None:
        ensure_writable_dir(files_folder, "output folder")
    return (path if fmt in ("grid", "both") else None), files_folder


def save(
    sheet, drawing: Drawing, vocab, *, out: str | None, model: str | Path, fmt: str = "grid"
) -> list[str]:
    """Write the drawn `sheet` where output_paths says: the picture, the sample files or both. Returns
    the lines that say what was written."""
    picture, files_folder = output_paths(drawing, vocab, out=out, model=model, fmt=fmt)
    said = []
    if picture is not None:
        save_png(picture, sheet.image)
        said.append(f"wrote {picture}")
    if files_folder is not None:
        written = write_files(files_folder, sheet.requests, sheet.faces)
        said.append(f"wrote {len(written)} files to {files_folder}/ (sample_<id>_<k>.jpg)")
    return said
