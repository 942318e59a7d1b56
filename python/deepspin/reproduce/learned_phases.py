"""Metropolis with learned energy and magnetization operators against the exact ones (Figs. 7-10).

Every learned run has a twin with the exact operator on the same proposal rule (the batch rule,
``backend="generic"``), temperatures, chains, sweeps, start and seed (:func:`exact_twin`). Both draw
one random-number protocol (:mod:`deepspin.mc.metropolis`), so the twins see the same proposals and
acceptance numbers and differ only where the operators disagree; the twin's own distance from the
exact reference shows the statistical noise of the run's size.

A network operator is called once per Metropolis attempt for all chains at all temperatures together
(the generic path of :func:`deepspin.mc.run`): one batched inference of ``chains x temperatures``
configurations per attempt, ``N`` attempts per sweep. 4x4 operators are tabulated on all 65,536
configurations instead (:class:`deepspin.mc.operators.TabulatedOperator`).
"""
from __future__ import annotations

import json

import numpy as np

from ..hamiltonians import Ising, hamiltonian
from ..io import write_text
from ..mc.curves import exact_curves, exact_energy_records, peak_check, run_size
from ..mc.temperatures import parse_temperatures
from ..mc.exact import parabola_peak, random_spin_absm, reference_peak
from ..mc.operators import TabulatedOperator
from ..mc.twins import (failing_temperatures, frozen_difference, reference_deviation, same_final_share,
                        twin_deviation)
from ..observables import class_to_energy
from ..plots import magnetization_curves, phase_curves
from ..surrogate.diagnostics import ordered_flip_costs, predict_enumerated
from ..surrogate.evaluate import level_offsets
from .artefacts import dataset, mc_records, trained_model
from .learned import ising_8x8_spec, metrics_text, training, uniform_spec
from .stage import Context, Row
from .stages import sampling_specs

EXACT = "exact operator"


def exact_twin(ctx: Context, H, mc: dict, start: str, final: bool = False):
    """The exact operator's run on the learned runs' protocol (the batch rule, ``start``), so that it
    shares their random numbers: :func:`~.artefacts.mc_records` of ``H``."""
    return mc_records(ctx, H, mc, name=f"{H!r}, batch rule, {start} start", final=final, backend="generic",
                      start=start)


def _size(mc: dict, temperatures) -> str:
    return f"{mc['chains']} chains x {mc['sweeps']} sweeps x {len(temperatures)} temperatures"


def _frozen_text(learned: list[dict], twin: list[dict], key: str) -> str:
    count, largest = frozen_difference(learned, twin, key)
    if not count or count == len(learned):
        return ""
    return f"; {count} frozen temperatures left out, |difference| there at most {largest:.2g}"


_NO_ERRORS = "n/a: standard errors are zero or missing (run too short)"


def curve_verdict(deviation: float | None, check: dict) -> str:
    """The learned-Metropolis criterion: ``met`` with ``<E>/N`` within 3 standard errors of its reference
    at every temperature (``deviation``, ``None`` without standard errors: *not comparable*) and the
    ``C/N`` peak within 2 standard errors of the exact torus's (``check``, :func:`.stages.peak_check`)."""
    if deviation is None:
        return "not comparable"
    return "met" if deviation <= 3 and check["verdict"] == "met" else "missed"


def failing_text(learned: list[dict], twin: list[dict], key: str = "E_per_site", reference=None) -> str:
    """Each temperature where ``key`` of ``learned`` lies more than 3 combined standard errors from its
    ``twin`` (:func:`deepspin.mc.twins.failing_temperatures`): the signed difference, in standard errors,
    and where an exact curve ``reference`` is known, the twin's own distance from it in its standard
    error. A twin far from the exact curve there puts the miss on the noise of the run's size; a twin on
    it puts it on the learned operator. Where either run failed its own equilibration diagnostics there
    (:func:`deepspin.mc.observables.diagnostics`: R-hat, tau_int), the text says so: its standard errors
    may then understate the uncertainty."""
    unit = " J per site" if key == "E_per_site" else ""
    text = ""
    for fail in failing_temperatures(learned, twin, key):
        at = twin[fail["index"]]
        notes = f"{abs(fail['difference']) / fail['se']:.1f} SE"
        if reference is not None:
            se_twin, off = at.get(f"{key}_err", np.nan), at[key] - reference(np.array([fail["T"]]))[key][0]
            notes += f"; the twin {off / se_twin:+.1f} SE from exact" if se_twin > 0 else \
                f"; the twin frozen, {off:+.2g} from exact"
        runs = {"learned": learned[fail["index"]], "twin": at}
        unequilibrated = [f"{name}: {run.get('equilibration_failures') or 'flagged'}" for name, run in runs.items()
                          if run.get("equilibrated") is False]
        if unequilibrated:
            notes += f"; not equilibrated by the runs' own diagnostics ({'; '.join(unequilibrated)})"
        text += f"; T = {fail['T']:g}: {fail['difference']:+.2g}{unit} ({notes})"
    return text


def twin_verdict_row(prefix: str, label: str, learned: list[dict], twin: list[dict], reference, mc: dict, fig: str,
                     key: str, paper: str) -> Row:
    """The learned-Metropolis criterion of issue 14: ``|<E>/N - twin|`` within 3 standard errors at every
    temperature, and the learned curve's ``C/N`` peak within 2 standard errors of the exact torus's peak
    (found the same way on the same grid); the text names each temperature over 3 standard errors
    (:func:`failing_text`)."""
    deviation = twin_deviation(learned, twin, "E_per_site")
    check = peak_check(learned, reference)
    decided = curve_verdict(deviation, check)
    return Row(f"{prefix}, {label}: largest |<E>/N - exact twin| in standard errors (C/N peak {check['peak']:.4f} "
               f"+- {check['error']:.2g} vs exact {check['exact']:.4f}{_frozen_text(learned, twin, 'E_per_site')}"
               f"{failing_text(learned, twin, reference=reference)})", _NO_ERRORS if deviation is None else deviation,
               figure=fig, key=key, paper=paper, size=run_size(mc), verdict=decided)


def ordered_state_rows(prefix: str, operator, H, key: str, fig: str) -> list[Row]:
    """A learned energy at the ordered start against the exact ``H``
    (:func:`deepspin.surrogate.diagnostics.ordered_flip_costs`): its offset there, per site, and what one
    spin flip from it costs, mean over the sites. Keys ``<key>_ordered_offset`` and ``<key>_flip_cost``."""
    at = ordered_flip_costs(operator, H)
    cost = at["cost"]
    return [
        Row(f"{prefix}: learned - exact energy of the ordered start (all +1), per site", at["offset_per_site"],
            unit="J", figure=fig, key=f"{key}_ordered_offset"),
        Row(f"{prefix}: cost of one spin flip from the ordered start, mean over the {H.N} sites (exact "
            f"{np.mean(at['exact_cost']):g} J; over the sites {np.min(cost):.4g} to {np.max(cost):.4g} J)",
            float(np.mean(cost)), unit="J", figure=fig, key=f"{key}_flip_cost"),
    ]


def comparison_rows(prefix: str, curves: dict, drawn: dict, fig: str, peak_paper: dict) -> list[Row]:
    """For each run: the largest ``|<E>/N - exact|``, its ``C/N`` peak temperature and the largest
    ``<|m|>`` difference (from the exact value, or from the exact-operator run where there is none)."""
    rows = []
    m_reference = "exact" if drawn["reference"]["absm"] == "exact" else f"the {EXACT} run"
    for label, records in curves.items():
        T = [r["T"] for r in records]
        differences = drawn[label]
        rows.append(Row(f"{prefix}, {label}: largest |<E>/N - exact|", float(np.max(np.abs(differences["E_per_site"]))),
                        unit="J", paper="ising.phase_match", figure=fig))
        rows.append(Row(f"{prefix}, {label}: C/N peak temperature", parabola_peak(T, [r["C_per_site"] for r in records]),
                        unit="J/k_B", paper=peak_paper.get(label), figure=fig))
        if label != EXACT or m_reference == "exact":
            rows.append(Row(f"{prefix}, {label}: largest |<|m|> - {m_reference}|",
                            float(np.max(np.abs(differences["absm"]))), paper="ising.phase_match", figure=fig))
    return rows


def phase_4x4_learned(ctx: Context) -> list[Row]:
    """Metropolis with the classifier (energy) and the magnetization regressor of the first targeted
    set as operators, against enumeration (Figs. 7-8)."""
    p, mc = ctx.params, ctx.params["mc"]
    spec = sampling_specs(p["data"])["targeted-1"]
    classifier = trained_model(ctx, spec, "class", p["train"])
    magnetizer = trained_model(ctx, spec, "magnetization", p["train"])
    energy = TabulatedOperator(class_to_energy(predict_enumerated(classifier), 4), 4)
    magnetization = TabulatedOperator(predict_enumerated(magnetizer), 4)
    H = Ising(4)
    curves = {
        EXACT: exact_twin(ctx, H, mc, "ordered"),
        "learned energy and magnetization": mc_records(
            ctx, energy, mc, name=f"4x4 classifier {classifier.name}, magnetization {magnetizer.name}",
            backend="generic", start="ordered", magnetization=magnetization),
    }
    reference = exact_curves(H)
    T = parse_temperatures(mc["T"])
    fig = "phase_diagram_learned.png"
    drawn = phase_curves(curves, ctx.figure(fig), reference, random_limit=random_spin_absm(H.N),
                         title=f"4x4 Ising, learned operators: {_size(mc, T)}")
    rows = comparison_rows("4x4 Ising", curves, drawn, fig, {})
    rows.append(twin_verdict_row("4x4 Ising", "learned energy and magnetization", curves["learned energy and magnetization"],
                                 curves[EXACT], reference, mc, fig, "ising4.learned_phase", "ising.phase_match"))
    rows.append(Row("4x4 Ising: C/N peak temperature of the exact torus", reference_peak(reference, T), unit="J/k_B",
                    figure=fig))
    return rows


def phase_8x8_learned(ctx: Context) -> list[Row]:
    """Metropolis with the 8x8 classification and regression surrogates as energy operators and the
    magnetization regressor as magnetization operator, against Kaufman's exact torus (Fig. 9)."""
    from ..surrogate import load

    p, mc = ctx.params, ctx.params["mc"]
    spec = ising_8x8_spec(p)
    magnetizer = trained_model(ctx, spec, "magnetization", training(p, "magnetization"))
    magnetization = load(magnetizer).magnetization
    H = Ising(8)
    curves, final, operators = {}, {}, {}
    curves[EXACT], twin_final = exact_twin(ctx, H, mc, "ordered", final=True)
    for target, label in (("class", "learned classification"), ("energy", "learned regression")):
        model = trained_model(ctx, spec, target, training(p, target))
        operators[label] = load(model)
        curves[label], final[label] = mc_records(
            ctx, operators[label], mc, name=f"8x8 {target} {model.name}, magnetization {magnetizer.name}", final=True,
            backend="generic", start="ordered", magnetization=magnetization)
    regressor = trained_model(ctx, spec, "energy", training(p, "energy"))
    corrected = mc_records(ctx, H, mc, name=f"8x8 Ising, delayed acceptance, surrogate {regressor.name}",
                           surrogate=regressor, accept="delayed", start="ordered")
    reference = exact_curves(H)
    T = parse_temperatures(mc["T"])
    fig = "phase_diagram_learned.png"
    drawn = phase_curves(curves, ctx.figure(fig), reference, random_limit=random_spin_absm(H.N),
                         title=f"8x8 Ising, learned operators: {_size(mc, T)}")
    claims = {"learned classification": "ising8.classification_phase", "learned regression": "ising8.regression_phase"}
    rows = comparison_rows("8x8 Ising", curves, drawn, fig, claims)
    for label, key in claims.items():
        rows.append(twin_verdict_row("8x8 Ising", label, curves[label], curves[EXACT], reference, mc, fig, key, key))
        rows += ordered_state_rows(f"8x8 Ising, {label}", operators[label], H, key.removesuffix("_phase"), fig)
    rows.append(Row("8x8 Ising: C/N peak temperature of the exact torus (Kaufman)", reference_peak(reference, T),
                    unit="J/k_B", paper="ising.Tc", figure=fig))
    for label in final:
        rows.append(exact_on_learned_row(f"8x8 Ising, {label}", final[label], twin_final, H, fig))
    rows.append(reference_verdict_row("8x8 Ising, learned regression corrected by delayed acceptance (the network "
                                      "proposes, the exact Ising energy accepts)", corrected, reference, mc, fig,
                                      "ising8.regression_phase_corrected", "ising8.regression_phase"))
    data = dataset(ctx, **spec)
    test = data["test"]
    offsets = {}
    for label, operator in operators.items():
        offsets[label] = level_offsets(data["energy"][test], operator.energy(data["spins"][test]))
        rows += offset_rows(f"8x8 Ising, {label} (the Metropolis operator, training seed 0)", offsets[label],
                            int(test.sum()))
    write_text(ctx.figure("offsets.json"), json.dumps(offsets, indent=1) + "\n")
    return rows


def reference_verdict_row(prefix: str, records: list[dict], reference, mc: dict, fig: str, key: str,
                          paper: str) -> Row:
    """A run with exact statistics (delayed acceptance) judged against the exact curves themselves, not
    against a twin: it shares no random numbers with the exact-operator run, so the twin's own noise
    would only add to the comparison. Met with ``|<E>/N - exact|`` within 3 standard errors at every
    temperature and the ``C/N`` peak within 2 standard errors of the exact torus's."""
    deviation = reference_deviation(records, reference)
    check = peak_check(records, reference)
    decided = curve_verdict(deviation, check)
    return Row(f"{prefix}: largest |<E>/N - exact| in standard errors (C/N peak {check['peak']:.4f} +- "
               f"{check['error']:.2g} vs exact {check['exact']:.4f})", _NO_ERRORS if deviation is None else deviation,
               figure=fig, key=key, paper=paper, size=run_size(mc), verdict=decided)


def exact_on_learned_row(prefix: str, configs: np.ndarray, twin: np.ndarray, H, fig: str) -> Row:
    """Whether a learned operator's chains visit the states the exact ones do: ``<E>/N`` by the exact
    Hamiltonian ``H`` on their final configurations against the exact twin's final configurations
    (:func:`deepspin.mc.curves.exact_energy_records` of both, one sample per chain), in standard errors.
    The twins share their random numbers, so the chains that never met a disagreement of the operators
    are identical (their share is in the text) and the combined error is conservative."""
    same = same_final_share(configs, twin)
    deviation = twin_deviation(exact_energy_records(configs, H), exact_energy_records(twin, H), "E_per_site")
    return Row(f"{prefix}: largest |<E>/N - exact twin| in standard errors, both by the exact Hamiltonian on the "
               f"chains' final configurations ({configs.shape[1]} per temperature; {100 * same:.0f} % of the chains "
               f"end in the twin's configuration)", _NO_ERRORS if deviation is None else deviation, figure=fig)


def offset_rows(prefix: str, offsets: list[dict], n_test: int) -> list[Row]:
    """Rows on a learned energy's offset by level (:func:`level_offsets`): at the lowest level, the
    largest mean offset over the levels, and how much the mean offset varies between levels (a constant
    offset leaves Metropolis unchanged; a level-dependent one biases it)."""
    where = f"{n_test:,} hash-split test configurations, {len(offsets)} levels; every level in offsets.json"
    ground = offsets[0]
    worst = max(offsets, key=lambda o: abs(o["mean"]))
    means = np.array([o["mean"] for o in offsets])
    spread = f"; std {ground['std']:.3g} J" if ground["std"] is not None else ""
    return [
        Row(f"{prefix}: mean prediction - exact at the lowest test level E = {ground['E']:g} J ({ground['n']:,} "
            f"configurations{spread})", ground["mean"], unit="J"),
        Row(f"{prefix}: largest |mean prediction - exact| over the levels ({where}): at E = {worst['E']:g} J "
            f"({worst['n']:,} configurations)", abs(worst["mean"]), unit="J"),
        Row(f"{prefix}: standard deviation over the levels of the mean prediction - exact ({where}; a constant "
            f"offset does not change Metropolis, a level-dependent one biases it)",
            float(means.std(ddof=1)) if len(means) > 1 else 0.0, unit="J"),
    ]


def coulomb_learned(ctx: Context) -> list[Row]:
    """Screened Coulomb: the uniform-data regressor fine-tuned on thermally sampled configurations
    (Metropolis at the study's temperatures, labelled by the exact engine), then Metropolis with the
    exact and the learned operator, ``<|m|>`` against ``T`` (Fig. 10)."""
    from ..surrogate import load
    from ..surrogate.evaluate import metrics, parity_plot

    p, mc, thermal = ctx.params, ctx.params["mc"], ctx.params["thermal"]
    regression = p["regression"]
    T = parse_temperatures(mc["T"])
    base = trained_model(ctx, uniform_spec(regression), "energy", regression["train"])
    spec = {"hamiltonian_name": regression["hamiltonian"], "L": regression["L"], "sampler": "thermal",
            "seed": thermal["seed"], "test_fraction": thermal["test_fraction"], "temperatures": T.tolist(),
            "chains": thermal["chains"], "samples": thermal["samples"], "burn_in": thermal["burn_in"],
            "thin": thermal["thin"]}
    tuned = trained_model(ctx, spec, "energy", p["finetune"], init=base)
    data = dataset(ctx, **spec)
    test = data["test"]
    truth = data["energy"][test]
    n_train, n_test = int((~test).sum()), int(test.sum())
    errors = {name: metrics("energy", truth, load(path).energy(data["spins"][test]))["median_abs_error"]
              for name, path in (("uniform", base), ("tuned", tuned))}
    predicted = load(tuned).energy(data["spins"][test])
    parity_plot(truth, predicted, ctx.figure("parity_thermal.png"),
                title=f"fine-tuned screened Coulomb regressor: {n_test:,} thermal test configurations\n"
                      f"{metrics_text(metrics('energy', truth, predicted), 'J')}")
    H = hamiltonian(regression["hamiltonian"], regression["L"])
    curves = {"Metropolis, exact energy": exact_twin(ctx, H, mc, "random"),
              "Metropolis, learned energy (fine-tuned CNN)": mc_records(
                  ctx, load(tuned), mc, name=f"fine-tuned {tuned.name}", backend="generic", start="random")}
    exact, learned = curves.values()
    limit = random_spin_absm(H.N)
    fig = "absm_learned.png"
    magnetization_curves(curves, ctx.figure(fig), random_limit=limit,
                         title=f"screened Coulomb {H.L}x{H.L}: {_size(mc, T)}")
    difference = np.abs(np.array([r["absm"] for r in learned]) - np.array([r["absm"] for r in exact]))
    where = f"{n_test:,} thermal test configurations"
    return [
        Row(f"Screened Coulomb, uniform-data regressor: median |error| on {where}", errors["uniform"], unit="J",
            figure="parity_thermal.png"),
        Row(f"Screened Coulomb, fine-tuned on {n_train:,} thermal configurations: median |error| on {where}",
            errors["tuned"], unit="J", figure="parity_thermal.png"),
        Row("Screened Coulomb, learned operator: largest |<|m|> - exact operator|", float(difference.max()),
            paper="coulomb.learned_match", figure=fig),
        Row("Screened Coulomb, learned operator: largest |<|m|> - exact twin| in standard errors"
            + _frozen_text(learned, exact, "absm") + failing_text(learned, exact, "absm"),
            _NO_ERRORS if (deviation := twin_deviation(learned, exact, "absm")) is None else deviation,
            paper="coulomb.learned_match", figure=fig, key="coulomb.learned_match", size=run_size(mc),
            verdict="not comparable" if deviation is None else "met" if deviation <= 3 else "missed"),
        Row(f"Screened Coulomb, learned operator: <|m|> at T = {learned[-1]['T']:g} / random-spin <|m|> ({limit:.4f})",
            learned[-1]["absm"] / limit, paper="coulomb.high_T_absm", figure=fig),
        Row(f"Screened Coulomb, exact operator: <|m|> at T = {exact[-1]['T']:g} / random-spin <|m|> ({limit:.4f})",
            exact[-1]["absm"] / limit, paper="coulomb.high_T_absm", figure=fig),
    ]
