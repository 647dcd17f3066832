"""Write the demo's held-out IMDB reviews to a CSV (text, label, row), and print the corpus command
for the demo's models: `python scripts/heldout_csv.py OUT.csv` (after `reportgen demo`)."""

import csv
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from reportgen.demo.trained import trained_demo  # noqa: E402

if __name__ == "__main__":
    out = Path(sys.argv[1])
    demo = trained_demo()
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "imdb_row"])
        writer.writerows(zip(demo.rows.texts(demo.heldout), demo.rows.labels(demo.heldout), demo.heldout))
    command = ["reportgen", "corpus", "--base", str(demo.checkpoint("base")), "--finetuned",
               str(demo.checkpoint("finetuned")), "--encoder", str(demo.assets.encoder_dir), "--max-length",
               str(demo.settings.max_length), "--dataset", str(out), "--label-names", ",".join(demo.rows.class_names)]
    print(f"wrote {len(demo.heldout)} held-out reviews to {out}; explain them with:\n  {shlex.join(command)}")
