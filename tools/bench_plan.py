"""How long the plan takes: the full 59,500-row design, its rows as checked PlanRows, materialising 10,000 shots.

Last line: one JSON object of the headline figures.
"""

from __future__ import annotations

import json
import time

from hmworld.plan import full_plan, materialise, plan_rows


def main() -> None:
    t0 = time.perf_counter()
    table = full_plan(seed=0)
    plan_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = plan_rows(table)  # every row checked (plan_checks.row_problems) as it becomes a PlanRow
    rows_s = time.perf_counter() - t0
    rows = rows[:10_000]
    t0 = time.perf_counter()
    for row in rows:
        materialise(row)
    shots_s = time.perf_counter() - t0
    print(f"full plan: {table.num_rows} rows in {plan_s:.2f} s")
    print(f"plan rows: {table.num_rows} checked PlanRows in {rows_s:.2f} s")
    print(f"materialise: {len(rows)} shots in {shots_s:.2f} s ({len(rows) / shots_s:.0f} shots/s)")
    print(json.dumps({"full_plan_rows": table.num_rows, "full_plan_seconds": round(plan_s, 3),
                      "plan_rows_seconds": round(rows_s, 3),
                      "shots": len(rows), "materialise_seconds": round(shots_s, 3)}))


if __name__ == "__main__":
    main()
