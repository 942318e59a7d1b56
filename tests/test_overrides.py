"""Dotted command-line overrides of nested parameters (deepspin.overrides), on a hand-made tree."""
import pytest

from deepspin.overrides import apply, assignments, parse

TREE = {"run": {"sweeps": 200, "T": "1:3:1", "rate": 0.5, "mc": {"chains": 10, "seed": 3}},
        "fit": {"hamiltonian": "ising", "test_fraction": 0.1, "sizes": [8, 16]}}


def test_parse_apply_and_assignments_round_trip():
    overrides = parse(TREE, ["run.sweeps=50", "run.mc.seed=0", "run.rate=1", 'run.T="2:4:1"', "fit.sizes=[4, 32]"])
    assert overrides == {"run": {("sweeps",): 50, ("mc", "seed"): 0, ("rate",): 1.0, ("T",): "2:4:1"},
                         "fit": {("sizes",): [4, 32]}}
    assert isinstance(overrides["run"][("rate",)], float)  # an int widened to the tree's float
    params = apply(TREE["run"], overrides, "run")
    assert params == {"sweeps": 50, "T": "2:4:1", "rate": 1.0, "mc": {"chains": 10, "seed": 0}}
    assert TREE["run"]["mc"]["seed"] == 3  # the tree itself is untouched
    assert parse(TREE, assignments(overrides, "run")) == {"run": overrides["run"]}
    assert apply(TREE["fit"], {}, "fit") == TREE["fit"]


@pytest.mark.parametrize("text, message", [
    ("run.swepes=1", "has no parameter 'swepes'"),
    ("run.mc.chain=1", "has no parameter 'mc.chain'"),
    ("nope.sweeps=1", "unknown group 'nope'"),
    ("run.sweeps", "takes GROUP.KEY=VALUE"),
    ("run.sweeps=ten", "is int 200"),
    ("run.mc=3", "is dict"),
    ("run.sweeps=0", "sweeps must be > 0"),
    ("run.mc.seed=-1", "seed must be >= 0"),
    ("fit.test_fraction=1.5", r"must lie in \(0, 1\]"),
    ("fit.sizes=[8, 0]", "sizes must be > 0"),
    ('run.T="3:1"', "--set"),
    ('fit.hamiltonian="isnig"', "hamiltonian must be one of"),
])
def test_parse_refuses_what_the_group_could_not_use(text, message):
    with pytest.raises(ValueError, match=message):
        parse(TREE, [text])
