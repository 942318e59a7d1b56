"""The campaign options of ``deepspin generate`` and ``deepspin mc``: where tasks run, retries, summary, blocks."""
from __future__ import annotations

from .cluster import check_choice, connect

#: Options whose presence makes a command run as a campaign (``dest`` names).
CAMPAIGN_OPTIONS = ("workers", "scheduler", "scheduler_file", "campaign_json")
BLOCK_OPTIONS = ("block_chains", "block_temperatures")


def add_arguments(parser, blocks: bool = False) -> None:
    """Add ``--workers``, ``--scheduler``, ``--scheduler-file``, ``--retries``, ``--json`` (and the block sizes)."""
    g = parser.add_argument_group("campaign", "run the tasks on a Dask cluster (docs/campaigns.md); the results do "
                                  "not depend on where they run")
    g.add_argument("--workers", type=int, metavar="N", help="start a local Dask cluster of N worker processes")
    g.add_argument("--scheduler", metavar="ADDRESS", help="join a running Dask cluster (tcp://host:8786)")
    g.add_argument("--scheduler-file", metavar="FILE", help="join a running Dask cluster through its scheduler file")
    g.add_argument("--retries", type=int, default=0, metavar="N",
                   help="re-run a task that raised up to N times (a lost worker's task is rescheduled by Dask itself)")
    g.add_argument("--json", dest="campaign_json", metavar="FILE",
                   help="write the campaign summary (per-task times and workers) to this JSON file")
    if blocks:
        g.add_argument("--block-chains", type=int, metavar="K",
                       help="chains per block (default: all chains of a temperature); makes the run a campaign")
        g.add_argument("--block-temperatures", type=int, metavar="K",
                       help="temperatures per block (default 1); makes the run a campaign")


def requested(args) -> bool:
    """True if any campaign option was given."""
    return any(getattr(args, name, None) is not None for name in (*CAMPAIGN_OPTIONS, *BLOCK_OPTIONS))


def client_for(args):
    """The context manager of :func:`~deepspin.campaign.cluster.connect` for the options given."""
    check_choice(args.workers, args.scheduler, args.scheduler_file)
    if args.retries < 0:
        raise ValueError(f"--retries must be >= 0, got {args.retries}")
    return connect(args.workers, args.scheduler, args.scheduler_file)
