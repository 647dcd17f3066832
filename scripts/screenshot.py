"""Screenshot a report in headless Chromium: `python scripts/screenshot.py REPORT.html OUT.png`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.browser import screenshot  # noqa: E402

if __name__ == "__main__":
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"wrote {sys.argv[2]}")
