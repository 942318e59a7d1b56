"""The studies of the paper as stages. Each returns report rows computed from what it ran."""
from __future__ import annotations

import math

import numpy as np

from .. import datasets, plots
from ..hamiltonians import Ising, hamiltonian
from ..mc import specific_heat_peak
from ..mc.curves import equilibrated_from, exact_curves, first_random_temperature, peak_check, run_size
from ..mc.exact import parabola_peak, random_spin_absm
from ..observables import ising_energy_levels, staggered_magnetization
from ..plots import coulomb_transition, phase_curves
from ..sampling import uniform
from .artefacts import dataset, mc_records
from .stage import Context, Row


def hash_uniformity(ctx: Context) -> list[Row]:
    """Occupancy of the 4096 buckets of the SHA3 split for uniform random configurations (Fig. 15b)."""
    p = ctx.params
    spins = uniform(Ising(p["L"]), p["n"], seed=p["seed"], progress=ctx.progress).spins
    drawn = plots.hash_buckets(datasets.hash_buckets(spins), ctx.figure("hash_buckets.png"),
                               title=f"SHA3 buckets of {p['n']:,} uniform {p['L']}x{p['L']} configurations")
    counts = np.asarray(drawn["counts"])
    sigma = math.sqrt(drawn["expected"] * (1 - 1 / datasets.BUCKETS))
    ratio = drawn["chi2"] / drawn["dof"]
    is_uniform = abs(ratio - 1) <= 3 * math.sqrt(2 / drawn["dof"])  # chi^2/dof has standard deviation sqrt(2/dof)
    return [
        Row("Split hash: chi^2 / dof of the 4096 bucket counts (1 for uniform)", ratio,
            paper="hash.uniform", figure="hash_buckets.png", key="hash.uniform", size=p["n"],
            verdict="met" if is_uniform else "missed"),
        Row("Split hash: largest bucket deviation from uniform", float(np.abs(counts - drawn["expected"]).max() / sigma),
            unit="sigma", paper="hash.uniform", figure="hash_buckets.png"),
    ]


def density_of_states(ctx: Context) -> list[Row]:
    """Configurations per energy level of the 4x4 Ising torus by enumeration (Fig. 5)."""
    drawn = plots.density_of_states(ctx.params["L"], ctx.figure("density_of_states.png"))
    levels, counts = drawn["levels"], drawn["counts"]
    fig = "density_of_states.png"
    return [
        Row("4x4 Ising: energy levels", len(levels), paper="ising4.levels", compare="difference", figure=fig,
            key="ising4.levels"),
        Row("4x4 Ising: configurations", int(sum(counts)), paper="ising4.configurations", compare="ratio", figure=fig),
        Row("4x4 Ising: lowest energy", levels[0], unit="J", paper="ising4.E_min", compare="difference", figure=fig),
        Row("4x4 Ising: highest energy", levels[-1], unit="J", paper="ising4.E_max", compare="difference", figure=fig),
        Row("4x4 Ising: configurations in each extreme level", int(min(counts[0], counts[-1])), figure=fig),
    ]


def sampling_specs(p: dict) -> dict:
    """The 4x4 datasets of the sampling study: ``uniform`` and ``targeted-<i>`` -> :func:`dataset` arguments."""
    specs = {"uniform": {"hamiltonian_name": "ising", "L": 4, "sampler": "uniform", "seed": p["seed"], "n": p["uniform_n"]}}
    for i in range(p["targeted_sets"]):
        specs[f"targeted-{i + 1}"] = {"hamiltonian_name": "ising", "L": 4, "sampler": "targeted", "seed": p["seed"] + 1 + i,
                                      "per_class": p["per_class"]}
    return specs


def sampling_4x4(ctx: Context) -> list[Row]:
    """Uniform against targeted sampling of the 4x4 Ising model: energy histograms (Figs. 2-3)."""
    p = ctx.params
    L, levels = 4, ising_energy_levels(4)
    extreme = p["extreme"]  # |E| > extreme counts as a high/low-energy configuration (the paper's 16 J)
    specs = sampling_specs(p)
    uni = dataset(ctx, **specs["uniform"])
    plots.energy_histogram(uni["energy"], ctx.figure("uniform_histogram.png"), levels=levels, log=True,
                           title=f"uniform sampling, {len(uni['energy']):,} configurations")
    rows = [
        Row("4x4 uniform set: size", len(uni["energy"]), paper="ising4.uniform_size", compare="ratio",
            figure="uniform_histogram.png"),
        Row("4x4 uniform set: distinct configurations", datasets.distinct_count(uni["spins"]),
            paper="ising4.uniform_distinct", compare="ratio", figure="uniform_histogram.png"),
        Row("4x4 uniform set: distinct share of configuration space",
            100 * datasets.distinct_count(uni["spins"]) / 2 ** (L * L), unit="%",
            paper="ising4.uniform_distinct_fraction", compare="difference", figure="uniform_histogram.png"),
        Row(f"4x4 uniform set: examples with |E| > {extreme} J", int((np.abs(uni["energy"]) > extreme).sum()),
            paper="ising4.uniform_extreme_examples", figure="uniform_histogram.png"),
    ]
    fractions, extremes = [], []
    for i in range(p["targeted_sets"]):
        tgt = dataset(ctx, **specs[f"targeted-{i + 1}"])
        if i == 0:
            plots.energy_histogram(tgt["energy"], ctx.figure("targeted_histogram.png"), levels=levels, log=True,
                                   title=f"targeted sampling, {len(tgt['energy']):,} configurations")
        fractions.append(100 * datasets.distinct_count(tgt["spins"]) / 2 ** (L * L))
        extremes.append(int((np.abs(tgt["energy"]) > extreme).sum()))
        size = len(tgt["energy"])
    n = p["targeted_sets"]
    rows += [
        Row(f"4x4 targeted sets ({n}): size of each", size, paper="ising4.targeted_size", compare="ratio",
            figure="targeted_histogram.png"),
        Row(f"4x4 targeted sets ({n}): largest distinct share of configuration space", max(fractions), unit="%",
            paper="ising4.targeted_distinct_fraction", figure="targeted_histogram.png"),
        Row(f"4x4 targeted sets ({n}): fewest examples with |E| > {extreme} J", min(extremes),
            paper="ising4.uniform_extreme_examples", figure="targeted_histogram.png"),
    ]
    return rows


def phase_ising(ctx: Context) -> list[Row]:
    """Metropolis with the exact energy against the exact torus references (Figs. 7-9, exact curves)."""
    p = ctx.params
    L = p["L"]
    H = Ising(L)
    records = mc_records(ctx, H, p)
    reference = exact_curves(H)
    fig = "phase_diagram.png"
    label = "Metropolis, exact energy"
    drawn = phase_curves({label: records}, ctx.figure(fig), reference, random_limit=random_spin_absm(H.N),
                         title=f"{L}x{L} Ising: {p['chains']} chains x {p['sweeps']} sweeps")
    differences = drawn[label]
    t_exact = specific_heat_peak(L)[0]
    check = peak_check(records, reference)
    rows = [
        Row(f"{L}x{L} Ising, exact operator: largest |<E>/N - exact|",
            float(np.max(np.abs(differences["E_per_site"]))), unit="J", paper="ising.phase_match", figure=fig),
        Row(f"{L}x{L} Ising, exact operator: C/N peak temperature (Metropolis; exact torus on the same grid "
            f"{check['exact']:.4f}, standard error {check['error']:.2g})", check["peak"], unit="J/k_B", paper="ising.Tc",
            figure=fig, key=f"ising{L}.Tc", size=run_size(p), verdict=check["verdict"]),
        Row(f"{L}x{L} Ising: C/N peak temperature of the exact torus (γTc)", t_exact, unit="J/k_B",
            paper="ising.Tc", figure=fig),
    ]
    if drawn["reference"]["absm"] == "exact":
        rows.append(Row(f"{L}x{L} Ising, exact operator: largest |<|m|> - exact|",
                        float(np.max(np.abs(differences["absm"]))), paper="ising.phase_match", figure=fig))
    return rows


def coulomb_magnetization(ctx: Context) -> list[Row]:
    """<|m|>, the staggered <|m_s|> and C/N against T for the antiferromagnetic screened Coulomb model,
    exact operator, up to where <|m|> reaches the random-spin value (Fig. 10). The staggered run is the
    twin of the first (same chains, seed and random numbers) on the generic path, which measures m_s."""
    p = ctx.params
    H = hamiltonian("screened-coulomb", p["L"])
    records = mc_records(ctx, H, p)
    staggered = mc_records(ctx, H, p, name=f"{H!r}, staggered magnetization", backend="generic",
                           magnetization=staggered_magnetization)
    limit = random_spin_absm(H.N)
    fig = "transition.png"
    t_eq = equilibrated_from(staggered)
    coulomb_transition({"Metropolis, exact energy": records}, staggered, ctx.figure(fig), random_limit=limit,
                       equilibrated_from=t_eq,
                       title=f"screened Coulomb {p['L']}x{p['L']}: {p['chains']} chains x {p['sweeps']} sweeps")
    warm = [r for r in records if r["T"] >= t_eq]
    frozen = [f"{r['T']:g}" for r in records if r["T"] < t_eq]
    hot, cold = records[-1], records[0]
    t_random = first_random_temperature(records, limit)
    return [
        Row(f"Screened Coulomb, exact operator: <|m|> at T = {hot['T']:g} / random-spin <|m|> ({limit:.4f})",
            hot["absm"] / limit, paper="coulomb.high_T_absm", figure=fig, key="coulomb.high_T_absm", size=run_size(p),
            verdict="met" if abs(hot["absm"] / limit - 1) <= 0.01 else "missed"),
        Row("Screened Coulomb, exact operator: lowest T from which <|m|> is within 1 % of the random-spin value",
            "n/a: not reached on this grid" if t_random is None else t_random, unit="J/k_B", paper="coulomb.high_T_absm",
            figure=fig),
        Row(f"Screened Coulomb, exact operator: <|m|> at T = {cold['T']:g}", cold["absm"], figure=fig),
        Row(f"Screened Coulomb, exact operator: staggered <|m_s|> at T = {cold['T']:g}", staggered[0]["absm"],
            figure=fig),
        Row(f"Screened Coulomb, exact operator: C/N peak temperature (the transition), over the equilibrated "
            f"T >= {t_eq:g}", parabola_peak([r["T"] for r in warm], [r["C_per_site"] for r in warm]),
            unit="J/k_B", figure=fig),
        Row(f"Screened Coulomb, exact operator: temperatures left out as not equilibrated (T = {', '.join(frozen) or 'none'}"
            f": <|m_s|> more than 3 standard errors below its maximum, at a hotter T)", len(frozen), figure=fig),
    ]
