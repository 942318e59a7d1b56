"""``deepspin reproduce``: every study of the paper as a cached, resumable stage, and a report."""
from __future__ import annotations

import sys


def run_reproduce(args) -> int:
    from ..reproduce import StageFailure, reproduce

    if (args.snapshot_models or args.snapshot_models_except) and not args.snapshot:
        raise ValueError("--snapshot-models and --snapshot-models-except only go with --snapshot DIR")
    if args.snapshot_models_except and not args.snapshot_models:
        raise ValueError("--snapshot-models-except only goes with --snapshot-models")
    if args.snapshot:  # before any stage runs: a destination that would lose files is refused now
        from pathlib import Path

        from ..reproduce.snapshot import check_destination

        check_destination(Path(args.output), Path(args.snapshot))
    from ..campaign.cli import client_for

    status = 0
    try:
        with client_for(args) as client:
            path = reproduce(args.profile, out=args.output, only=args.only, force=args.force,
                             progress=not args.no_progress, report_only=args.report_only, speedup=args.speedup,
                             overrides=args.set, client=client, retries=args.retries,
                             summary=args.campaign_json)
    except StageFailure as failure:
        path, status = failure.path, 1
        print(f"deepspin reproduce: {failure}", file=sys.stderr)
    print(f"wrote {path}", file=sys.stderr)
    if args.snapshot:
        from ..reproduce.snapshot import snapshot

        copied = snapshot(args.output, args.snapshot, models=args.snapshot_models,
                          models_except=args.snapshot_models_except or ())
        print(f"copied {copied['files']} files ({copied['bytes'] / 1e6:.1f} MB) to {args.snapshot}", file=sys.stderr)
    return status


def register(sub) -> None:
    from ..reproduce import PROFILES, SPEEDUP_JSON, STAGES

    p = sub.add_parser(
        "reproduce",
        help="re-run the studies of Mills & Tamblyn (2018) and write a report of paper vs ours",
        description="Runs each study of the paper as a stage whose outputs (datasets, Monte Carlo runs, figures, "
        "results.json) are cached under a key of its parameters, so a rerun skips finished stages and an "
        f"interrupted run resumes. Stages: {', '.join(STAGES)}. Example: deepspin reproduce --profile quick -o report",
    )
    p.add_argument("--profile", default="quick", choices=tuple(PROFILES),
                   help="quick: 2-core CPU in <= 30 min with smaller runs; paper: the paper's sizes (hours on a CPU); "
                   "smoke: toy sizes, every stage end to end in minutes (default quick)")
    p.add_argument("--only", nargs="+", metavar="STAGE", help="run only these stages (the report lists every finished one)")
    p.add_argument("-o", "--output", default="report", help="report folder (default report/)")
    p.add_argument("--set", action="append", metavar="STAGE.KEY=VALUE",
                   help="set one of a stage's parameters for this run, e.g. phase-8x8-learned.mc.sweeps=500 "
                   "(repeatable; VALUE is JSON; only parameters the profile has, of the same type). The result gets "
                   "its own cache key: later runs find it with the same --set, or once the profile carries the value")
    p.add_argument("--force", action="store_true", help="rerun the selected stages even if their results exist")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: write README.md and summary.json from the stages finished so far (the rest pending)")
    p.add_argument("--snapshot", metavar="DIR",
                   help="then copy the report, the finished stages' results and figures and the Monte Carlo records "
                   "into DIR (e.g. docs/reproduce-paper/ to commit them)")
    p.add_argument("--snapshot-models", action="store_true", help="with --snapshot: also the trained models (~1 MB each)")
    p.add_argument("--snapshot-models-except", nargs="+", metavar="STAGE", choices=tuple(STAGES),
                   help="with --snapshot-models: leave out the networks that only these stages use (e.g. the learning "
                   "curves', to keep a committed report small); a rerun of such a stage retrains them")
    p.add_argument("--speedup", default=SPEEDUP_JSON, metavar="JSON",
                   help=f"bench/speedup.py's JSON files for the two 1600x rows (comma-separated globs, every match read: "
                   f"the paper's CNN on each device, our fast surrogate's best; default {SPEEDUP_JSON})")
    from ..campaign.cli import add_arguments

    add_arguments(p)
    p.set_defaults(handler=run_reproduce)
