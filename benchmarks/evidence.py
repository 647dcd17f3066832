"""What the evidence (ERASER metrics, flip test, NAOPC bounds) costs beside the attributions it checks,
and how the NAOPC bounds' estimator compares with the one before issue 32.

    python benchmarks/evidence.py ratio demo.json [seed-reviews.json …]
        the reports' own Time line (`meta.seconds`): attributions (every method's stage), each evidence
        stage, and evidence ÷ attributions — a ratio within one run, so a loaded machine barely moves it
    python benchmarks/evidence.py bounds --reviews 20
        on the demo's held-out reviews (after `reportgen demo`, REPORTGEN_CACHE at its cache), each
        model's predicted class: the beam's bounds with the priority from single deletions (n rows,
        `DELETED_PROBES`) and from single deletions and single keeps (2n rows, the default), sharing rows, with
        each one's rows and gradient-weighted attention's NAOPC under both
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from reportgen.results import BOUNDS_STAGE, FAITHFULNESS_STAGE, FLIP_STAGE, PREDICTION_STAGE

EVIDENCE = (FAITHFULNESS_STAGE, FLIP_STAGE, BOUNDS_STAGE)


def stage_seconds(seconds: dict[str, float]) -> dict[str, float]:
    """attributions (every stage that is neither prediction nor evidence), each evidence stage, the sum
    of the evidence and evidence ÷ attributions, from a report's `meta.seconds`."""
    attributions = sum(s for stage, s in seconds.items() if stage not in (PREDICTION_STAGE, *EVIDENCE))
    evidence = sum(seconds.get(stage, 0.0) for stage in EVIDENCE)
    return {"attributions": attributions, **{stage: seconds.get(stage, 0.0) for stage in EVIDENCE},
            "evidence": evidence, "ratio": evidence / attributions if attributions else float("inf")}


def ratio(paths: list[str]) -> list[dict[str, float]]:
    print("| report | attributions s | faithfulness s | flip test s | NAOPC bounds s | evidence ÷ attributions |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    rows = []
    for path in paths:
        meta = json.loads(Path(path).read_text(encoding="utf-8"))["meta"]
        row = stage_seconds(meta["seconds"])
        rows.append(row)
        print(f"| {Path(path).name} | {row['attributions']:.1f} | {row[FAITHFULNESS_STAGE]:.1f} | "
              f"{row[FLIP_STAGE]:.1f} | {row[BOUNDS_STAGE]:.1f} | {row['ratio']:.2f}× |")
    return rows


def bounds(reviews: int, offset: int, batch_size: int, chunk: int = 4) -> None:
    import torch

    from reportgen.demo.trained import trained_demo
    from reportgen.loading.inputs import encode
    from reportgen.loading.models import load_model
    from reportgen.pipeline import device_name

    torch.manual_seed(0)
    demo = trained_demo()
    chosen = demo.heldout[offset: offset + reviews]
    texts = demo.rows.texts(chosen)
    device = torch.device("cpu")
    print(f"{len(chosen)} held-out reviews from row {chosen[0]}, {demo.settings.max_length} tokens, "
          f"{device_name(device)}, {torch.get_num_threads()} threads, batch {batch_size}\n")
    models = {role: load_model(str(demo.checkpoint(role)), role=role, encoder=str(demo.assets.encoder_dir),
                               pooling="mean-all", device=device) for role in ("base", "finetuned")}
    found: list[dict] = []
    for start in range(0, len(chosen), chunk):  # a table after every chunk, so a long run can be cut short
        part = chosen[start: start + chunk]
        for model in models.values():
            inputs = encode(model.tokenizer, texts[start: start + chunk], demo.settings.max_length,
                            model.info.pads_to_max_length)
            found += _compare(model, inputs, part, batch_size)
        _table(found, len({f["row"] for f in found}))


def _compare(model, inputs, chosen: list[int], batch_size: int) -> list[dict]:
    """Both estimators on these texts through one `RemovedRows`, with attention-gradient's AOPC."""
    from reportgen.attribution import AttributionSettings, make_attributor
    from reportgen.faithfulness import FaithfulnessSettings, measure_faithfulness
    from reportgen.faithfulness.eraser import KS
    from reportgen.faithfulness.naopc import BOTH_PROBES, DELETED_PROBES, BoundSettings, aopc_bounds, naopc
    from reportgen.faithfulness.rows import RemovedRows
    from reportgen.inference import predict_logits

    role = model.info.role
    targets = predict_logits(model, inputs, batch_size=batch_size).argmax(dim=-1)
    rows = RemovedRows(model, inputs, batch_size=batch_size)
    attributor = make_attributor("attention-gradient", AttributionSettings(batch_size=batch_size))
    scores = attributor.attribute(model, inputs, targets).scores
    metrics = measure_faithfulness(model, inputs, scores, targets, attributor.signed,
                                   FaithfulnessSettings(batch_size=batch_size), rows=rows)
    timed = {}
    for probes in (DELETED_PROBES, BOTH_PROBES):  # the new first: its rows are all its own
        started, before = time.perf_counter(), rows.rows
        timed[probes] = aopc_bounds(model, inputs, targets, BoundSettings(ks=KS, batch_size=batch_size,
                                                                          probes=probes), rows=rows)
        print(f"{role}, rows {chosen}, {probes}: {rows.rows - before} rows not run before, "
              f"{time.perf_counter() - started:.1f} s", flush=True)
    found = []
    for i, row in enumerate(chosen):
        for name in ("comprehensiveness", "sufficiency"):
            new, old = timed[DELETED_PROBES][i][name], timed[BOTH_PROBES][i][name]
            value = metrics[i].scores[name].value
            wide = [(min(b.lower, value), max(b.upper, value)) for b in (new, old)]
            found.append({"model": role, "row": row, "measure": name, "new": [new.lower, new.upper, new.rows],
                          "old": [old.lower, old.upper, old.rows], "aopc": value,
                          "naopc": [naopc(value, *w) for w in wide]})
    return found


def _table(found: list[dict], reviews: int) -> None:
    print(f"\n{reviews} reviews so far")
    print("\n| measure | model | rows new / old | lower new − old | upper new − old | range new ÷ old | "
          "NAOPC (attention-gradient) new − old |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name in ("comprehensiveness", "sufficiency"):
        for role in ("base", "finetuned"):
            mine = [f for f in found if f["measure"] == name and f["model"] == role]
            rows_new, rows_old = (statistics.mean(f[k][2] for f in mine) for k in ("new", "old"))
            lower = [f["new"][0] - f["old"][0] for f in mine]
            upper = [f["new"][1] - f["old"][1] for f in mine]
            span = [(f["new"][1] - f["new"][0]) / (f["old"][1] - f["old"][0]) for f in mine
                    if f["old"][1] > f["old"][0]]
            moved = [f["naopc"][0] - f["naopc"][1] for f in mine if None not in f["naopc"]]
            print(f"| {name} | {role} | {rows_new:.0f} / {rows_old:.0f} | {_spread(lower)} | {_spread(upper)} | "
                  f"{_spread(span)} | {_spread(moved)} |")


def _spread(values: list[float]) -> str:
    """median [min, max]"""
    if not values:
        return "–"
    return f"{statistics.median(values):+.3f} [{min(values):+.3f}, {max(values):+.3f}]"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    times = commands.add_parser("ratio", help="evidence ÷ attributions from reports' JSON")
    times.add_argument("reports", nargs="+")
    search = commands.add_parser("bounds", help="the NAOPC bounds' estimator, new against old")
    search.add_argument("--reviews", type=int, default=20)
    search.add_argument("--offset", type=int, default=0)
    search.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args(argv)
    if args.command == "ratio":
        ratio(args.reports)
    else:
        bounds(args.reviews, args.offset, args.batch_size)


if __name__ == "__main__":
    main()
