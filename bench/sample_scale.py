"""Time and peak memory of the sample generator at a given scale.

Usage::

    python bench/sample_scale.py                      # county scale into a temporary folder
    python bench/sample_scale.py --scale province --out /data/sample_province

Prints the wall-clock time, the peak resident set size of the process and what was
written (features or rows and bytes per file).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyogrio

from geoservice.sample.town import DEFAULT_SEED, SCALES, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=list(SCALES), default="county")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=None, help="folder (default: temporary)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        start = time.perf_counter()
        paths = generate(out, scale=args.scale, seed=args.seed)
        seconds = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"scale={args.scale} seed={args.seed}")
        print(f"time: {seconds:.1f} s   peak RSS: {peak_mb:.0f} MB")
        for kind, path in paths.items():
            size = sum(p.stat().st_size for p in out.glob(path.stem + ".*"))
            if path.suffix == ".shp":
                count = pyogrio.read_info(path)["features"]
            elif path.suffix == ".csv":
                count = sum(1 for _ in path.open("rb")) - 1
            else:
                count = len(pd.read_excel(path))
            print(f"  {kind:<17} {path.name:<21} {count:>9,}  {size / 1e6:8.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
