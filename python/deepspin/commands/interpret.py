"""``deepspin interpret``: train the paper's demonstration CNN, draw its kernels, maximise a channel (Figs. 13-14)."""
from __future__ import annotations

import sys

from ..io import claim_outputs, write_text


def run_train(args) -> int:
    from deepspin.surrogate import interpret

    claim_outputs(output=args.output)
    run = interpret.train_demo(samples=args.samples, epochs=args.epochs, seed=args.seed,
                               test_samples=args.test_samples, batch_size=args.batch_size,
                               learning_rate=args.learning_rate, progress=not args.quiet)
    interpret.save_model(run.model, args.output)
    print(f"trained on {run.train_samples} uniform {interpret.DEMO_L}x{interpret.DEMO_L} Ising configurations, "
          f"{run.epochs} epochs: final training MSE {run.loss[-1]:.4g}, "
          f"test MAE {run.test_mae:.4g} J on {run.test_samples} held-out configurations")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def run_kernels(args) -> int:
    from deepspin.surrogate import interpret

    claim_outputs(inputs={"model": args.model}, output=args.output)
    model = interpret.load_model(args.model)
    count = interpret.plot_kernels(model, args.output, columns=args.columns)
    layer = interpret.first_conv(model).name
    print(f"wrote {count} kernel panels of layer {layer!r} to {args.output}", file=sys.stderr)
    return 0


def run_maximize(args) -> int:
    from deepspin.surrogate import interpret

    claim_outputs(inputs={"model": args.model}, output=args.output, activations=args.activations)
    clamp = [interpret.parse_clamp(text) for text in args.clamp_block]
    model = interpret.load_model(args.model)
    results = []
    for index in args.filter:
        result = interpret.maximize_activation(model, index, steps=args.steps, step_size=args.step_size,
                                               seed=args.seed, clamp=clamp, objective=args.objective)
        a = result.activations
        print(f"filter {index}: mean activation {a[0]:.4g} -> {a[-1]:.4g} in {len(a) - 1} steps; "
              f"sign(input) {result.spin_activation:.4g}")
        if a[-1] == a[0]:
            print(f"filter {index}: the activation did not move (the channel is inactive on the starting noise); "
                  "try another --seed or --objective pre-activation", file=sys.stderr)
        results.append(result)
    interpret.plot_maximizations(results, args.output)
    if args.activations:
        rows = ["step," + ",".join(f"filter_{r.filter}" for r in results)]
        rows += [f"{step}," + ",".join(f"{r.activations[step]:.9g}" for r in results)
                 for step in range(len(results[0].activations))]
        write_text(args.activations, "\n".join(rows) + "\n")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "interpret",
        help="what the convolution kernels learn: demo CNN, kernel grid, activation maximisation",
        description="Tools of the paper's section 8 (Figs. 13-14) for any Keras model whose first "
        "convolution is a keras.layers.Conv2D. Example: deepspin interpret train -o demo.keras; "
        "deepspin interpret kernels demo.keras -o kernels.png; "
        "deepspin interpret maximize demo.keras --filter 0 511 --clamp-block 6,6,+++++++++ -o maximize.png",
    )
    commands = p.add_subparsers(dest="interpret_command", metavar="ACTION", required=True)

    t = commands.add_parser(
        "train", help="train the paper's demonstration CNN on uniform 9x9 Ising configurations",
        description="One Conv2D of 512 kernels 3x3 with stride 3 (ReLU), dense 1024 (ReLU), one linear "
        "output (the energy), trained with Adam on MSE against exact Ising energies (J = 1).",
    )
    t.add_argument("-o", "--output", required=True, help="model file to write (.keras)")
    t.add_argument("--samples", type=int, default=200_000, help="training configurations (default 200000, the paper's)")
    t.add_argument("--test-samples", type=int, default=None,
                   help="held-out configurations for the MAE (default samples/10)")
    t.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    t.add_argument("--batch-size", type=int, default=256, help="batch size (default 256)")
    t.add_argument("--learning-rate", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    t.add_argument("--seed", type=int, default=0, help="seed of configurations, initial weights and batch order")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(handler=run_train)

    k = commands.add_parser(
        "kernels", help="draw every first-layer kernel (red negative, blue positive)",
        description="One panel per kernel of the model's first Conv2D (per kernel and input channel when it "
        "reads several channels), on a colour scale symmetric about zero shared by all panels.",
    )
    k.add_argument("model", help=".keras model file")
    k.add_argument("-o", "--output", required=True, help="image file to write (.png, .pdf, .svg)")
    k.add_argument("--columns", type=int, default=None, help="panels per row (default ceil(sqrt(2 n)))")
    k.set_defaults(handler=run_kernels)

    m = commands.add_parser(
        "maximize", help="gradient ascent on the input to maximise a first-layer channel",
        description="Start from uniform noise in [-1, 1], follow the normalised gradient of the channel's mean "
        "output, clip to [-1, 1] each step; optionally hold k x k blocks at chosen spins.",
    )
    m.add_argument("model", help=".keras model file")
    m.add_argument("--filter", type=int, nargs="+", required=True, metavar="I",
                   help="channel(s) of the first Conv2D to maximise (one figure row each)")
    m.add_argument("--clamp-block", action="append", default=[], metavar="R,C,VALUES",
                   help="hold the block with top-left site (R, C) at VALUES: k*k spins, comma separated or "
                   "a run of +/- (e.g. 6,6,+++++++++); may be repeated")
    m.add_argument("--steps", type=int, default=100, help="gradient-ascent steps (default 100)")
    m.add_argument("--step-size", type=float, default=0.05, help="step along the normalised gradient (default 0.05)")
    m.add_argument("--objective", choices=("activation", "pre-activation"), default="activation",
                   help="differentiate the activated output (default, the paper's) or the output before the "
                   "nonlinearity (moves positions where a ReLU starts inactive)")
    m.add_argument("--seed", type=int, default=0, help="seed of the starting noise")
    m.add_argument("--activations", help="also write the activation per step to this .csv")
    m.add_argument("-o", "--output", required=True, help="image file to write (.png, .pdf, .svg)")
    m.set_defaults(handler=run_maximize)
