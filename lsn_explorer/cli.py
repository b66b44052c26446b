"""The ``lsn-explorer`` command line: a thin wrapper over library functions.

Subcommands
-----------
``data phantom``  write the procedural phantom CT in LiTS layout
``data sample``   fetch the real abdominal CT sample once and write it in LiTS layout
``data folds``    print the 5-fold split of a data set by volume
``models``        list the registered models and which ones ship trained
``segment``       the liver of a CT (NIfTI or DICOM folder) as a NIfTI mask on its grid: a network or the level set
``train``         train a registered model (UNet, LSN, LSN-G...) on one fold
``table2``        the 5-fold cross-validation of Table 2 (level set and every network), over seeds
``capacity``      the speed-map LSN, its no-PDE ablation and a UNet at three sizes, over seeds
``ablate``        where a trained level-set network's Dice comes from: its PDE terms off one at a time
``kernels``       run the kernel atlas on a model and write figures and CSVs
``course release``  write the students' notebooks: solutions stubbed, hidden tests removed
``course grade``    autograde students' notebooks against the course source and print the scores
``course slides``   reveal.js slides of the released course notebooks

Errors a user can cause are printed as one line naming what was wrong, with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import InputError, LsnExplorerError, MissingDataError

__all__ = ["main", "build_parser"]


def _data_phantom(args: argparse.Namespace) -> None:
    from .data.phantom import default_phantom_dir, write_phantom_dataset

    if args.default:
        print(default_phantom_dir(args.preset))
        return
    if args.out is None:
        raise InputError("data phantom needs --out DIR (or --default for the cached default set)")
    pairs = write_phantom_dataset(
        args.out, volumes=args.volumes, seed=args.seed, size=args.size, num_slices=args.slices,
        compress=not args.no_compress,
    )
    print(f"wrote {len(pairs)} volumes to {Path(args.out).resolve()}")


def _data_sample(args: argparse.Namespace) -> None:
    import shutil

    from .data.sample import fetch_sample

    folder = fetch_sample(progress=lambda message: print(message, file=sys.stderr))
    if args.out is None:
        print(folder)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    for path in sorted(folder.glob("*.nii.gz")):
        shutil.copy2(path, args.out / path.name)
    print(f"wrote the real CT sample (1 volume) to {args.out.resolve()}")


def _data_folds(args: argparse.Namespace) -> None:
    from .data import find_cases, print_fold_table, volume_folds

    dataids = [case.dataid for case in find_cases(args.data)]
    print_fold_table(volume_folds(dataids, n_folds=args.folds))


def _parse_seed(text: str) -> tuple[float, float, float]:
    parts = text.replace(" ", "").split(",")
    try:
        if len(parts) != 3:
            raise ValueError
        return tuple(float(p) for p in parts)
    except ValueError:
        raise InputError(f"--seed {text!r}; expected X,Y,Z voxel indices, e.g. --seed 300,260,10") from None


def _segment(args: argparse.Namespace) -> None:
    import numpy as np

    from .segmentation.core import segment_scan
    from .segmentation.output import check_output_path, write_mask
    from .segmentation.scan import read_scan

    out = check_output_path(args.out)
    if out.resolve() == args.input.expanduser().resolve():
        raise InputError(f"--out {out} is the input itself; expected a new file for the mask")
    seeds = [_parse_seed(text) for text in args.seed] if args.seed else None
    scan = read_scan(args.input, series=args.series)
    mask = segment_scan(scan, args.method, seeds=seeds, device=args.device, progress=not args.quiet)
    write_mask(out, mask, scan)
    litres = int(mask.sum()) * abs(float(np.linalg.det(scan.affine[:3, :3]))) / 1e6
    print(f"wrote {out} ({int(mask.sum())} voxels, {litres:.2f} L)")


def _add_segment(commands) -> None:
    segment = commands.add_parser(
        "segment", help="segment the liver of a CT (NIfTI file or DICOM folder) into a NIfTI mask on its grid",
        description="Segment the liver of a CT and write a uint8 NIfTI mask with the input's affine and header, "
                    "which ITK-SNAP and 3D Slicer overlay on the scan.")
    segment.add_argument("input", type=Path, help="a .nii/.nii.gz file or a folder of DICOM slices, in HU")
    segment.add_argument("--method", default="unet",
                         help="unet (default), another bundled model (speed-map-lsn...), a checkpoint .pt, "
                              "or levelset (the classical level set, needs --seed)")
    segment.add_argument("--out", type=Path, required=True, help="the mask to write, .nii or .nii.gz")
    segment.add_argument("--seed", action="append", default=None, metavar="X,Y,Z",
                         help="a point inside the liver for --method levelset, as 0-based voxel indices in the "
                              "file's array order (nibabel's, 3D Slicer's IJK; DICOM: column,row,slice from the "
                              "feet); repeat it for more seeds")
    segment.add_argument("--series", default=None, metavar="UID",
                         help="the SeriesInstanceUID to read from a DICOM folder with several series")
    segment.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    segment.add_argument("--quiet", action="store_true", help="no progress bar")
    segment.set_defaults(handler=_segment)


def _train(args: argparse.Namespace) -> None:
    from .train import train_command

    run_dir = train_command(
        args.model,
        data=args.data,
        fold=args.fold,
        preset=args.preset,
        out=args.out,
        resume=args.resume,
        seed=args.seed,
        epochs=args.epochs,
        device=args.device,
        augment=args.augment,
    )
    print(run_dir)


def _models(args: argparse.Namespace) -> None:
    from .models import bundled_names, model_names
    from .models.registry import describe, model_class

    bundled = set(bundled_names())
    for name in model_names():
        params = sum(p.numel() for p in model_class(name)().parameters() if p.requires_grad)
        mark = "bundled" if name in bundled else ""
        print(f"{name:12s} {params:>9,d} trainable parameters  {mark:8s} {describe(name)}")


def _table2(args: argparse.Namespace) -> None:
    from .experiments import table2_command

    table2_command(data=args.data, preset=args.preset, out=args.out, seeds=args.seeds, device=args.device,
                   folds=args.folds, methods=args.methods, real_ct=args.real_ct)


def _capacity(args: argparse.Namespace) -> None:
    from .experiments import capacity_command

    capacity_command(data=args.data, preset=args.preset, out=args.out, seeds=args.seeds, folds=args.folds,
                     real_ct=None if args.real_ct == "none" else args.real_ct, device=args.device)


def _ablate(args: argparse.Namespace) -> None:
    from .experiments.lsn_ablation import ablate, format_ablation
    from .kernels.model_argument import load_model_argument
    from .models import load_model
    from .models.unrolled import UnrolledLevelSet
    from .train import load_fold

    model = load_model_argument(args.model)
    model = load_model(model) if isinstance(model, str) else model
    if not isinstance(model, UnrolledLevelSet):
        raise InputError(f"{args.model} holds a {type(model).__name__}; expected a level-set network (lsn or lsn-g)")
    _, valid, test, _ = load_fold(args.data, fold=args.fold, preset=args.preset)
    print(format_ablation(ablate(model, test, tune=valid, device=args.device)))


def _kernels(args: argparse.Namespace) -> None:
    from .kernels import kernels_command

    out = kernels_command(
        args.model, out=args.out, n_clusters=args.k, canonicalize=args.canonicalize, seed=args.seed, png=not args.no_png,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(out)


def _course_source(args: argparse.Namespace) -> Path:
    if not args.source.is_dir():
        raise MissingDataError(f"no course source folder {args.source.resolve()}: "
                               "run from the repository root or pass --source DIR")
    return args.source


def _course_release(args: argparse.Namespace) -> None:
    from .course import release_course

    written = release_course(_course_source(args), args.out)
    print(f"wrote {len(written)} notebooks to {args.out.resolve()}")


def _course_grade(args: argparse.Namespace) -> None:
    from .course import format_scores, grade_course

    print(format_scores(grade_course(args.notebooks, _course_source(args), cwd=args.cwd, timeout=args.timeout)))


def _course_slides(args: argparse.Namespace) -> None:
    from .course import write_slides

    written = write_slides(_course_source(args), args.out)
    print(f"wrote {len(written)} slide decks to {args.out.resolve()}")


def _add_course(commands) -> None:
    course = commands.add_parser("course", help="release, grade and present the course notebooks (nbgrader format)")
    course = course.add_subparsers(dest="course_command", required=True)
    source = {"type": Path, "default": Path("course/source"),
              "help": "the course source notebooks, with solutions and hidden tests (default course/source)"}

    release = course.add_parser("release", help="write the students' notebooks: solutions stubbed, hidden tests removed")
    release.add_argument("out", type=Path, help="folder to write the released notebooks into")
    release.add_argument("--source", **source)
    release.set_defaults(handler=_course_release)

    grade = course.add_parser("grade", help="run students' notebooks with the source's tests and print the scores")
    grade.add_argument("notebooks", type=Path, nargs="+", metavar="NOTEBOOK", help="students' notebooks")
    grade.add_argument("--source", **source)
    grade.add_argument("--cwd", type=Path, default=None, help="working directory of the kernel (default: the notebook's folder)")
    grade.add_argument("--timeout", type=float, default=600, help="seconds one cell may run (default 600)")
    grade.set_defaults(handler=_course_grade)

    slides = course.add_parser("slides", help="reveal.js slides of the released notebooks that have slide metadata")
    slides.add_argument("out", type=Path, help="folder to write NAME.slides.html into")
    slides.add_argument("--source", **source)
    slides.set_defaults(handler=_course_slides)


def _add_experiments(commands) -> None:
    """The ``table2``, ``capacity`` and ``ablate`` subcommands."""
    table2 = commands.add_parser("table2", help="reproduce Table 2: 5-fold level set vs UNet vs LSN (resumable)")
    table2.add_argument("--data", default="phantom", help="LiTS folder, CSV or 'phantom' (default)")
    table2.add_argument("--preset", default="quick", help="quick (CPU, minutes) or paper (GPU)")
    table2.add_argument("--out", type=Path, default=Path("runs/table2"), help="output folder; an existing one is continued")
    table2.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="one seed (default 0), or several: mean ± sd over them, each in OUT/seed-S")
    table2.add_argument("--device", default="auto")
    table2.add_argument("--folds", type=int, nargs="+", default=None, help="run only these folds")
    table2.add_argument("--methods", nargs="+", default=None,
                        help="networks to run (default all): unet lsn-uniform lsn-bubbles lsn-g speed-map no-pde, "
                             "or any registered model name")
    table2.add_argument("--real-ct", default=None, metavar="SOURCE",
                        help="also score every fold's methods on a real CT, e.g. 'sample' (trained on --data only)")
    table2.set_defaults(handler=_table2)

    capacity = commands.add_parser("capacity", help="speed-map LSN vs its no-PDE ablation vs UNet at ~5k, 25k and "
                                                    "116k parameters, over seeds and folds (resumable)")
    capacity.add_argument("--data", default="phantom", help="LiTS folder, CSV or 'phantom' (default)")
    capacity.add_argument("--preset", default="quick", help="quick (CPU) or paper (GPU)")
    capacity.add_argument("--out", type=Path, default=Path("runs/capacity"),
                          help="output folder; an existing one is continued")
    capacity.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="default 0 1 2")
    capacity.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2], help="default 0 1 2")
    capacity.add_argument("--real-ct", default="sample", metavar="SOURCE",
                          help="also score every network on this real CT (default 'sample'; 'none' to skip)")
    capacity.add_argument("--device", default="auto")
    capacity.set_defaults(handler=_capacity)

    ablate = commands.add_parser("ablate", help="score a trained LSN or LSN-G with each PDE term switched off")
    ablate.add_argument("model", help="bundled-lsn, bundled-lsn-g or a checkpoint (best.pt)")
    ablate.add_argument("--data", default="phantom", help="LiTS folder, CSV or 'phantom' (default)")
    ablate.add_argument("--fold", type=int, default=0, help="scored on its held-out volumes (default 0)")
    ablate.add_argument("--preset", default="quick")
    ablate.add_argument("--device", default="auto")
    ablate.set_defaults(handler=_ablate)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``lsn-explorer``."""
    parser = argparse.ArgumentParser(
        prog="lsn-explorer", description="Level set networks, a UNet and an atlas of learned kernels for liver CT."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="data sets: the phantom, the real CT sample, the folds").add_subparsers(
        dest="data_command", required=True
    )
    phantom = data.add_parser("phantom", help="write the phantom CT in LiTS layout")
    phantom.add_argument("--out", type=Path, help="folder to write volume-N.nii.gz / segmentation-N.nii.gz into")
    phantom.add_argument("--volumes", type=int, default=10, help="number of volumes (default 10)")
    phantom.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same bytes")
    phantom.add_argument("--size", type=int, default=256, help="in-plane size in pixels (LiTS: 512)")
    phantom.add_argument("--slices", type=int, default=32, help="axial slices per volume")
    phantom.add_argument("--no-compress", action="store_true", help="write .nii instead of .nii.gz")
    phantom.add_argument("--default", action="store_true", help="generate the default set into the cache and print its folder")
    phantom.add_argument("--preset", default=None, help="preset whose default set --default makes (quick|paper)")
    phantom.set_defaults(handler=_data_phantom)

    sample = data.add_parser("sample", help="fetch the real abdominal CT sample (TotalSegmentator's example case)")
    sample.add_argument("--out", type=Path, default=None,
                        help="folder to copy volume-0.nii.gz / segmentation-0.nii.gz into (default: print the cache folder)")
    sample.set_defaults(handler=_data_sample)

    folds = data.add_parser("folds", help="print the split of a data set into folds by volume")
    folds.add_argument("--data", default="phantom", help="LiTS folder, CSV or 'phantom' (the 1-volume 'sample' has no folds)")
    folds.add_argument("--folds", type=int, default=5)
    folds.set_defaults(handler=_data_folds)

    commands.add_parser("models", help="list the registered models").set_defaults(handler=_models)

    train = commands.add_parser("train", help="train a registered model on one fold")
    train.add_argument("model", help="a registered model name: unet, lsn, lsn-g... (see `lsn-explorer models`)")
    train.add_argument("--data", default="phantom", help="LiTS folder, CSV or 'phantom' (default)")
    train.add_argument("--fold", type=int, default=0)
    train.add_argument("--preset", default="quick", help="quick (CPU, minutes) or paper (GPU)")
    train.add_argument("--out", type=Path, required=True, help="run folder, e.g. runs/unet-fold0")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--epochs", type=int, default=None, help="override the preset's number of epochs")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    train.add_argument("--augment", action="store_true",
                       help="zoom 0.7-2, rotation, elastic, contrast, blur and noise on every training batch")
    train.set_defaults(handler=_train)

    kernels = commands.add_parser("kernels", help="cluster and identify the 3x3 kernels of a model")
    kernels.add_argument("model", help="bundled-unet, bundled-lsn, a checkpoint (.pt) or a Keras .h5 file")
    kernels.add_argument("--out", type=Path, required=True)
    kernels.add_argument("--k", type=int, default=3, help="clusters per layer (default 3, as the paper)")
    kernels.add_argument("--canonicalize", action="store_true", help="fold sign, scale and the 8 symmetries before clustering")
    kernels.add_argument("--seed", type=int, default=0)
    kernels.add_argument("--no-png", action="store_true", help="write the CSV and HTML files but no PNGs (the slow part)")
    kernels.set_defaults(handler=_kernels)

    _add_experiments(commands)
    _add_segment(commands)
    _add_course(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``lsn-explorer`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except LsnExplorerError as error:
        print(f"lsn-explorer: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
