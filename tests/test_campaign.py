"""Campaigns (deepspin.campaign): serial = Dask workers, faults lose nothing, the CLI's --workers.

The cluster is ``LocalCluster(n_workers=2, processes=True)``, one per module. Independent values:
the serial sharded generator (datasets), direct ``deepspin.mc.run`` calls with the derived seeds
and the exact 4x4 enumeration (Monte Carlo), ``numpy.random.SeedSequence`` itself (seeds), and the
tasks' own functions called here without Dask (faults).
"""
import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from deepspin import Ising, campaign
from deepspin.cli import main
from deepspin.datasets import generate, read
from deepspin.io import FolderInUse, folder_lock
from deepspin.mc import enumerate_thermodynamics
from deepspin.mc import run as mc_run
from deepspin.mc.observables import thermodynamics

distributed = pytest.importorskip("distributed", reason="dask.distributed is an install requirement of deepspin")


@pytest.fixture(scope="module")
def client():
    with campaign.connect(workers=2) as client:
        yield client


def normal_draws(spec, seed, marker=None):
    """A task function: ``spec["n"]`` normal numbers from ``seed``. With ``marker``: on the first attempt
    (no marker file yet) it creates the marker and kills its own process with SIGKILL."""
    if marker is not None and not Path(marker).exists():
        Path(marker).write_text("killed once\n")
        os.kill(os.getpid(), signal.SIGKILL)
    return {"x": np.random.default_rng(seed).normal(size=spec["n"]), "n": spec["n"]}


def failing_at(spec, seed, bad):
    if spec["i"] == bad:
        raise ValueError(f"bad input {spec['i']}")
    return {"i": spec["i"]}


def exploding_energy(batch):
    """A user energy function that fails on every batch."""
    raise RuntimeError("no energy here")


def draw_tasks(folder, count, seed=5, function=normal_draws, args=()):
    return [campaign.Task(key=f"draw-{i}", output=Path(folder) / f"draw-{i}.npz", function=function,
                          spec={"n": 3 + i, "i": i}, seed=campaign.derive_seed(seed, i), args=args)
            for i in range(count)]


def test_derived_seeds_are_seed_sequence_spawns_of_the_task_identity():
    expected = int(np.random.SeedSequence(7, spawn_key=(3,)).generate_state(1, np.uint64)[0])
    assert campaign.derive_seed(7, 3) == expected
    assert len({campaign.derive_seed(7, i) for i in range(100)}) == 100
    with pytest.raises(ValueError, match="non-negative integer"):
        campaign.derive_seed(None, 1)


@pytest.mark.parametrize("sampler, params", [("uniform", {"n": 301}),
                                             ("thermal", {"temperatures": [1.5, 3.0], "chains": 3, "samples": 5,
                                                          "burn_in": 20})])
def test_dataset_campaign_on_two_workers_equals_the_serial_run_byte_for_byte(client, tmp_path, sampler, params):
    H = Ising(6)
    serial = generate(H, sampler, tmp_path / "serial.h5", seed=11, shards=4, **params)
    merged = campaign.generate(H, sampler, tmp_path / "campaign.h5", seed=11, shards=4, client=client, **params)
    (a, meta_a), (b, meta_b) = read(serial), read(merged)
    assert a.keys() == b.keys() and len(a["energy"]) > 0
    for name in a:
        assert a[name].dtype == b[name].dtype and a[name].tobytes() == b[name].tobytes(), name
    assert meta_a["checksum"] == meta_b["checksum"]


def test_mc_blocks_merge_to_the_direct_runs_of_their_seeds_and_do_not_depend_on_workers(client, tmp_path):
    H, temperatures, seed = Ising(4), [1.8, 3.2], 9
    options = dict(chains=6, sweeps=300, burn_in=50, seed=seed, block_chains=3)
    embedded = campaign.mc(H, temperatures, tmp_path / "embedded", **options)
    on_two = campaign.mc(H, temperatures, tmp_path / "two", client=client, **options)
    # Blocks: (T0, chains 0-2), (T0, 3-5), (T1, 0-2), (T1, 3-5), each a direct run with its derived seed.
    direct = [mc_run(H, [T], chains=3, sweeps=300, burn_in=50, seed=campaign.derive_seed(seed, b), start="ordered")
              for b, T in enumerate([1.8, 1.8, 3.2, 3.2])]
    moments = np.stack([np.concatenate([direct[0].moments[0], direct[1].moments[0]]),
                        np.concatenate([direct[2].moments[0], direct[3].moments[0]])])
    assert np.array_equal(embedded.moments, moments)
    expected = thermodynamics(moments, direct[0].measurements, np.array(temperatures), 16)
    for result in (embedded, on_two):  # tolerance 0: the same sums in the same places, the same function
        observed = result.observables()
        for name, values in expected.items():
            assert np.array_equal(observed[name], values), name
        assert np.array_equal(result.configs, embedded.configs)
        assert np.array_equal(result.acceptance, embedded.acceptance)
    exact = enumerate_thermodynamics(H, temperatures)
    z = (embedded.observables()["E_per_site"] - exact["E_per_site"]) / embedded.observables()["E_per_site_err"]
    assert np.all(np.abs(z) < 5), z  # and the physics is right: <E>/N within 5 standard errors of 4x4 enumeration


def test_blocks_cover_the_grid_once_and_multi_temperature_blocks_merge_in_place(tmp_path):
    from deepspin.campaign.montecarlo import blocks

    layout = blocks(5, 7, block_chains=3, block_temperatures=2)
    cover = np.zeros((5, 7), dtype=int)
    for block in layout:
        (t0, t1), (c0, c1) = block.temperatures, block.chains
        cover[t0:t1, c0:c1] += 1
    assert (cover == 1).all() and [b.chains for b in layout[:3]] == [(0, 3), (3, 5), (5, 7)]
    H, temperatures = Ising(4), [1.5, 2.5, 3.5]
    result = campaign.mc(H, temperatures, tmp_path / "b", chains=2, sweeps=50, seed=4, block_temperatures=2)
    first = mc_run(H, temperatures[:2], chains=2, sweeps=50, seed=campaign.derive_seed(4, 0))
    last = mc_run(H, temperatures[2:], chains=2, sweeps=50, seed=campaign.derive_seed(4, 1))
    assert np.array_equal(result.moments, np.concatenate([first.moments, last.moments]))
    assert np.array_equal(result.accepted, np.concatenate([first.accepted, last.accepted]))


def test_a_worker_killed_mid_task_is_retried_elsewhere_with_the_same_result(client, tmp_path):
    marker = tmp_path / "killed-once"
    tasks = draw_tasks(tmp_path / "out", 4, args=(str(marker),))
    records = campaign.run(tasks, tmp_path / "out", client=client, progress=False)
    assert marker.exists()  # the first attempt of some task did kill its worker
    assert [r["status"] for r in records] == ["computed"] * 4
    for i, task in enumerate(tasks):
        undisturbed = np.random.default_rng(campaign.derive_seed(5, i)).normal(size=3 + i)
        assert np.array_equal(task.load()["x"], undisturbed)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".draw")]  # no temporary left
    client.wait_for_workers(2, timeout=60)  # the nanny has restarted the killed worker, for the next tests


def test_a_rerun_after_an_interruption_computes_only_the_missing_tasks(client, tmp_path):
    folder = tmp_path / "out"
    tasks = draw_tasks(folder, 6)
    for task in tasks[:2]:  # finished before the client was killed
        task.compute()
    (folder / "draw-2.npz").write_bytes(tasks[0].output.read_bytes()[:100])  # a truncated file: not finished
    (folder / ".draw-3.npz.999999999.tmp.npz.tmp").write_bytes(b"half")  # a dead writer's temporary
    summary = tmp_path / "summary.json"
    records = campaign.run(tasks, folder, client=client, progress=False, summary=summary)
    assert [r["status"] for r in records] == ["skipped"] * 2 + ["computed"] * 4
    report = json.loads(summary.read_text())
    assert (report["computed"], report["skipped"], report["failed"]) == (4, 2, None)
    assert {row["worker"] for row in report["per_task"][2:]} <= set(client.nthreads())
    assert all(row["seconds"] >= 0 for row in report["per_task"][2:])
    for i, task in enumerate(tasks):
        assert np.array_equal(task.load()["x"], np.random.default_rng(campaign.derive_seed(5, i)).normal(size=3 + i))
    other = draw_tasks(folder, 1, seed=6)  # the same file names from another campaign seed: refused
    with pytest.raises(ValueError, match="another campaign"):
        campaign.run(other, folder, progress=False)


def test_a_task_that_raises_stops_the_campaign_naming_it_and_keeps_the_finished_outputs(client, tmp_path):
    tasks = draw_tasks(tmp_path / "here", 4, function=failing_at, args=(2,))
    with pytest.raises(campaign.CampaignError, match=r"task draw-2 failed: ValueError: bad input 2") as info:
        campaign.run(tasks, tmp_path / "here", progress=False)
    assert "rerun the same command" in str(info.value)
    assert [t.done() for t in tasks] == [True, True, False, False]  # in this process: in order, up to the failure
    tasks = draw_tasks(tmp_path / "dask", 4, function=failing_at, args=(2,))
    summary = tmp_path / "summary.json"
    with pytest.raises(campaign.CampaignError, match=r"task draw-2 failed: ValueError: bad input 2"):
        campaign.run(tasks, tmp_path / "dask", client=client, progress=False, summary=summary)
    report = json.loads(summary.read_text())
    assert report["failed"] == "draw-2" and "bad input 2" in report["per_task"][2]["error"]
    assert not tasks[2].done()
    assert all(t.done() for t in tasks if t.output.exists())  # whatever finished is a valid output


def test_a_user_energy_that_raises_ends_the_cli_campaign_with_one_line(client, tmp_path, capsys):
    args = ["generate", "--hamiltonian", f"{__name__}:exploding_energy", "--L", "4", "--sampler", "uniform",
            "--n", "30", "--shards", "3", "--seed", "1", "--quiet", "-o", str(tmp_path / "d.h5"),
            "--scheduler", client.scheduler.address]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"failed: ValueError: energy function {__name__}:exploding_energy raised RuntimeError: no energy here" in err
    assert "deepspin generate: error: d.h5 shards: task shard-0000" in err and "Traceback" not in err
    assert not (tmp_path / "d.h5").exists()


def test_two_campaigns_on_one_folder_are_refused(tmp_path):
    tasks = draw_tasks(tmp_path / "out", 2)
    with folder_lock(tmp_path / "out", "another campaign"):
        with pytest.raises(FolderInUse, match="in use by another campaign"):
            campaign.run(tasks, tmp_path / "out", progress=False)
    assert not any(t.output.exists() for t in tasks)
    campaign.run(tasks, tmp_path / "out", progress=False)  # once the first one has ended
    assert all(t.done() for t in tasks)


def test_cli_generate_with_two_workers_writes_the_dataset_of_the_serial_command(tmp_path, capsys):
    args = ["generate", "--hamiltonian", "screened-coulomb", "--L", "4", "--sampler", "uniform", "--n", "200",
            "--shards", "3", "--seed", "2", "--quiet"]
    assert main([*args, "-o", str(tmp_path / "serial.h5")]) == 0
    summary = tmp_path / "summary.json"
    assert main([*args, "-o", str(tmp_path / "two.h5"), "--workers", "2", "--json", str(summary)]) == 0
    (a, _), (b, _) = read(tmp_path / "serial.h5"), read(tmp_path / "two.h5")
    assert all(a[name].tobytes() == b[name].tobytes() for name in a) and a.keys() == b.keys()
    assert json.loads(summary.read_text())["computed"] == 3
    assert main([*args, "-o", str(tmp_path / "x.h5"), "--workers", "2", "--shard-index", "0"]) == 2
    assert "--shard-index 0 makes one shard" in capsys.readouterr().err


def test_cli_mc_with_two_workers_writes_the_results_of_the_embedded_campaign(tmp_path, capsys):
    args = ["mc", "--L", "4", "--T", "2,3", "--chains", "4", "--sweeps", "200", "--block-chains", "2",
            "--no-progress", "--seed", "3"]
    assert main([*args, "-o", str(tmp_path / "here.json")]) == 0
    assert main([*args, "-o", str(tmp_path / "two.json"), "--workers", "2"]) == 0
    assert (tmp_path / "here.json").read_text() == (tmp_path / "two.json").read_text()
    assert (tmp_path / "here.csv").read_text() == (tmp_path / "two.csv").read_text()
    assert len(list((tmp_path / "two.json.blocks").glob("block-*.npz"))) == 4
    assert main([*args, "-o", str(tmp_path / "x.json"), "--workers", "2", "--scheduler", "tcp://h:1"]) == 2
    assert "give one" in capsys.readouterr().err
