"""`make bench`: run every benchmark and print one table of ratios against their budgets."""

from __future__ import annotations

import sys

from bench import checkout_latency, local_cloud


def main() -> int:
    rows = local_cloud.run() + checkout_latency.run()
    width = max(len(r.name) for r in rows)
    print(f"\n{'benchmark':<{width}}  {'measured':>12}  {'baseline':>12}  {'ratio':>7}  budget")
    failed = 0
    for row in rows:
        verdict = "ok" if row.ok else "OVER"
        failed += not row.ok
        print(
            f"{row.name:<{width}}  {row.measured:>10.2f}{row.unit:>2}  {row.baseline:>10.2f}{row.unit:>2}  "
            f"{row.ratio:>6.2f}x  {row.budget} ({verdict})"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
