"""Wall time of `skelgraph preprocess ntu` on the 15 NTU sample files, from two checkouts, the two
alternating (issue 12: a command that runs no model must not pay for importing torch).

    git archive 2f1f823 | tar x -C /tmp/before        # the version before issue 12
    OMP_NUM_THREADS=1 python experiments/preprocess_start_time.py /tmp/before . [RUNS]

Each run is a fresh `python -m skelgraph` process started in the checkout (its code comes first on
sys.path); prints median, min and max per checkout.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ntu_samples"


def main() -> None:
    checkouts = [Path(p).resolve() for p in sys.argv[1:3]]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    env = dict(os.environ, OMP_NUM_THREADS="1")
    times: dict[Path, list[float]] = {c: [] for c in checkouts}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            for checkout in checkouts:
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "skelgraph", "preprocess", "ntu", str(SAMPLES),
                                f"{tmp}/o{i}.h5"], cwd=checkout, env=env, check=True, capture_output=True)
                times[checkout].append(time.perf_counter() - start)
    for checkout, values in times.items():
        print(f"{checkout}: median {statistics.median(values):.2f} s, min {min(values):.2f} s, "
              f"max {max(values):.2f} s over {runs} runs")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
