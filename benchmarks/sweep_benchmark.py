"""The sweep benchmark from the command line (the same as ``implicit-bias bench``).

    python benchmarks/sweep_benchmark.py [--device cpu|gpu] [--quick] [--workload bench|small] [--out DIR] [--json]

Prints the table (or, with --json, one JSON object on stdout) and writes bench.json,
bench.csv, bench.md and bench.png/pdf under DIR. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--quick", action="store_true", help="smaller M and T (about 3 minutes on 2 CPU cores)")
    parser.add_argument("--out", default=None, help="output folder (nothing is written without it)")
    parser.add_argument("--json", action="store_true", help="print the table as one JSON object")
    parser.add_argument("--max-configs", type=int, default=None, help="largest M to run (default: all)")
    parser.add_argument("--workload", choices=("bench", "small"), default="bench",
                        help="bench: n=100, d=1000, T=10^4; small: n=50, d=200, T=2000 (per-step overheads show)")
    args = parser.parse_args(argv)
    if args.device == "cpu":
        os.environ.setdefault("JAX_PLATFORMS", "cpu")

    from implicit_bias.bench import run_benchmark
    from implicit_bias.bench_report import format_table
    from implicit_bias.errors import InputError

    t0 = time.perf_counter()
    say = (lambda msg: print(f"[{time.perf_counter() - t0:7.1f} s] {msg}", file=sys.stderr, flush=True))
    try:
        table = run_benchmark(device=args.device, quick=args.quick, out_dir=args.out, progress=say,
                              max_configs=args.max_configs, workload_name=args.workload)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(table) if args.json else format_table(table))
    say(f"done; outputs in {args.out}" if args.out else "done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
