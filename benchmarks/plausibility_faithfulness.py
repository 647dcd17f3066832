"""How plausibility and faithfulness relate over rows: Spearman's ρ between a method's plausibility (AUPRC, token F1
against the human rationale) and its faithfulness (ERASER comprehensiveness and sufficiency, raw AOPC), within
each model, from reports' JSON (`reportgen report --rationale-column … --json`, any number of files, e.g. one per
chunk of rows). Rows without plausibility (no rationale in the part the model saw) are left out.

Not a test: the figures go in docs/plausibility.md.

    python benchmarks/plausibility_faithfulness.py chunk_*.json

Prints one Markdown row per method and model: rows, mean AUPRC (and its random reference), mean
comprehensiveness and sufficiency, and ρ (also of AUPRC above its random reference, which takes out how densely
each text is marked; sufficiency: lower is more sufficient) with a 95 % percentile interval from 2,000 bootstrap
resamples of the rows (seed 0); |ρ| above 1.96 / √(n − 1) differs from no relation at the 5 % level.
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

RESAMPLES = 2000
MIN_ROWS = 10  # below this ρ's interval and 5 % threshold (1.96 / √(n − 1) ≥ 0.69) say nothing


def ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1…n, ties given the mean of the ranks they span (as Spearman's ρ needs)."""
    order = np.argsort(values, kind="stable")
    ranked = np.empty(len(values))
    ranked[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        tied = values == value
        if tied.sum() > 1:
            ranked[tied] = ranked[tied].mean()
    return ranked


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's ρ: Pearson's correlation of the ranks (nan when either side is constant)."""
    rx, ry = ranks(x), ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    spread = math.sqrt(float((rx ** 2).sum() * (ry ** 2).sum()))
    return float((rx * ry).sum() / spread) if spread > 0 else math.nan


def interval(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """95 % percentile interval of ρ over bootstrap resamples of the rows."""
    generator = np.random.default_rng(0)
    found = []
    for _ in range(RESAMPLES):
        pick = generator.integers(0, len(x), len(x))
        rho = spearman(x[pick], y[pick])
        if not math.isnan(rho):
            found.append(rho)
    low, high = np.percentile(found, [2.5, 97.5])
    return float(low), float(high)


def collect(paths: list[str]) -> dict[tuple[str, str], dict[str, list[float]]]:
    """(method, model role) → per-row auprc, auprc_random, token_f1, comprehensiveness, sufficiency."""
    table: dict[tuple[str, str], dict[str, list[float]]] = {}
    seen: set[int] = set()
    for path in paths:
        try:
            report = json.load(open(path, encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise SystemExit(f"{path}: cannot be read as a report's JSON ({error})") from None
        for sample in report["samples"]:
            if sample["index"] in seen:
                raise SystemExit(f"{path}: row {sample['index']} is in two of the files")
            seen.add(sample["index"])
            for role, model in sample["models"].items():
                for method, result in model["methods"].items():
                    plausible, faithful = result.get("plausibility"), result.get("faithfulness")
                    if plausible is None or faithful is None:
                        continue
                    row = table.setdefault((method, role), {k: [] for k in (
                        "auprc", "auprc_random", "token_f1", "comprehensiveness", "sufficiency")})
                    for key in ("auprc", "auprc_random", "token_f1"):
                        row[key].append(plausible[key])
                    for key in ("comprehensiveness", "sufficiency"):
                        row[key].append(faithful["scores"][key]["value"])
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reports", nargs="+", help="report JSON files")
    table = collect(parser.parse_args().reports)
    fewest = min((len(row["auprc"]) for row in table.values()), default=0)
    if fewest < MIN_ROWS:
        raise SystemExit(f"{fewest} rows with plausibility and faithfulness; a rank correlation over rows needs at "
                         f"least {MIN_ROWS} (explain more annotated rows, with --rationale-column and --faithfulness)")
    print("| method | model | rows | mean AUPRC (random) | mean comprehensiveness | mean sufficiency | "
          "ρ(AUPRC, comprehensiveness) | ρ(AUPRC − random, comprehensiveness) | ρ(token F1, comprehensiveness) | "
          "ρ(AUPRC, sufficiency) |")
    print("| --- | --- | ---: | --- | ---: | ---: | --- | --- | --- | --- |")
    for (method, role), row in table.items():
        values = {key: np.asarray(v, dtype=float) for key, v in row.items()}
        cells = []
        values["lift"] = values["auprc"] - values["auprc_random"]
        for plausible, faithful in (("auprc", "comprehensiveness"), ("lift", "comprehensiveness"),
                                    ("token_f1", "comprehensiveness"), ("auprc", "sufficiency")):
            rho = spearman(values[plausible], values[faithful])
            low, high = interval(values[plausible], values[faithful])
            cells.append(f"{rho:+.2f} [{low:+.2f}, {high:+.2f}]")
        n = len(values["auprc"])
        print(f"| {method} | {role} | {n} | {values['auprc'].mean():.3f} ({values['auprc_random'].mean():.3f}) | "
              f"{values['comprehensiveness'].mean():.3f} | {values['sufficiency'].mean():.3f} | " + " | ".join(cells)
              + " |")
    n = max(len(row["auprc"]) for row in table.values())
    print(f"\n|ρ| beyond {1.96 / math.sqrt(n - 1):.2f} differs from no relation at the 5 % level ({n} rows).")


if __name__ == "__main__":
    main()
