"""The standard report set in DuckDB, for report-bench. Same semantics as reports::report.

Usage: python3 duckdb_reports.py HISTORY_DIR SPEC_JSON
Prints one JSON object: {"seconds": total, "per_report": {...}, "checks": {name: [rows, sums...]}}.
Each query is materialised into a temporary table (timed); checksums are computed afterwards.
"""
import json
import sys
import time

import duckdb

LT = "(CAST(ts AS TIMESTAMP) + INTERVAL 9 HOUR)"
BINS = ["dwell_lt_1m", "dwell_1_5m", "dwell_5_15m", "dwell_15_30m", "dwell_ge_30m"]
ALL_BINS = " + ".join(f"{b}::BIGINT" for b in BINS)
LONG_BINS = "dwell_15_30m::BIGINT + dwell_ge_30m::BIGINT"
# Earliest instant at the peak: order by (-occupancy, time) packed in one BIGINT.
PEAK_KEY = "-occ * 100000000000000 + epoch_ms(lt)"


def footfall(trunc, player):
    keys = "ward, player" if player else "ward"
    return f"""SELECT {keys}, date_trunc('{trunc}', {LT}) AS period,
        sum(in_count)::BIGINT AS footfall, sum(out_count)::BIGINT AS exits
        FROM counts GROUP BY ALL ORDER BY ALL"""


QUERIES = {
    "footfall_hour_player": footfall("hour", True),
    "footfall_day_ward": footfall("day", False),
    "footfall_week_ward": footfall("week", False),
    "balance_day_player": f"""SELECT ward, player, CAST({LT} AS DATE) AS day,
        sum(in_count)::BIGINT AS in_count, sum(out_count)::BIGINT AS out_count,
        (sum(in_count)::BIGINT - sum(out_count)::BIGINT) AS balance
        FROM counts GROUP BY ALL ORDER BY ALL""",
    "peak_occupancy_day_player": f"""WITH o AS (SELECT ward, player, {LT} AS lt,
        occupancy_max::BIGINT AS occ FROM counts)
        SELECT ward, player, CAST(lt AS DATE) AS day, max(occ) AS peak,
        arg_min(lt, {PEAK_KEY}) AS peak_at FROM o GROUP BY ALL ORDER BY ALL""",
    "peak_occupancy_day_ward": f"""WITH o AS (SELECT ward, {LT} AS lt,
        sum(occupancy_max)::BIGINT AS occ FROM counts GROUP BY ward, ts)
        SELECT ward, CAST(lt AS DATE) AS day, max(occ) AS peak,
        arg_min(lt, {PEAK_KEY}) AS peak_at FROM o GROUP BY ALL ORDER BY ALL""",
    "dwell_ward": "SELECT ward, "
    + ", ".join(f"sum({b})::BIGINT AS {b}" for b in BINS)
    + f", sum({ALL_BINS})::BIGINT AS departures FROM counts GROUP BY ward ORDER BY ward",
    "impressions": """WITH p AS (SELECT row_number() OVER () AS pid, player, asset,
            epoch_ms(started_at) AS s, epoch_ms(ended_at) AS e FROM plays),
        pb AS (SELECT pid, player, unnest(range(s - s % 10000,
            (e - 1) - (e - 1) % 10000 + 10000, 10000)) AS b FROM p),
        c AS (SELECT player, epoch_ms(ts) AS b, occupancy_max::BIGINT AS occ
            FROM counts WHERE occupancy_max > 0),
        v AS (SELECT pid, max(occ) AS viewers FROM pb JOIN c USING (player, b) GROUP BY pid)
        SELECT asset, count(*)::BIGINT AS plays, sum(e - s) / 1000.0 AS play_seconds,
            sum(coalesce(viewers, 0))::BIGINT AS impressions,
            sum(coalesce(viewers, 0))::BIGINT / count(*) AS viewers_per_play
        FROM p LEFT JOIN v USING (pid) GROUP BY asset ORDER BY asset""",
    "ward_comparison": f"""WITH d AS (SELECT ward, player, CAST({LT} AS DATE) AS day,
            sum(in_count)::BIGINT AS footfall, max(occupancy_max)::BIGINT AS peak,
            sum({LONG_BINS})::BIGINT AS long, sum({ALL_BINS})::BIGINT AS departures
            FROM counts GROUP BY ALL HAVING sum(in_count) > 0)
        SELECT ward, count(DISTINCT player)::BIGINT AS players, count(*)::BIGINT AS open_days,
            sum(footfall)::BIGINT AS footfall, sum(footfall) / count(*) AS footfall_per_open_day,
            max(peak) AS peak_occupancy, sum(long) / sum(departures) AS long_wait_share
        FROM d GROUP BY ward ORDER BY ward""",
}


def checksum_expr(column, kind):
    if kind == "datetime":
        return f"sum(epoch_ms({column}))::DOUBLE / 1000.0"
    if kind == "date":
        return f"sum({column} - DATE '1970-01-01')::DOUBLE"
    return f"sum({column})::DOUBLE"


def main():
    history, spec = sys.argv[1], json.loads(sys.argv[2])
    con = duckdb.connect()
    for name in ("counts", "plays"):
        con.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet("
            f"'{history}/{name}/*/*/*.parquet', hive_partitioning = false)"
        )
    per_report, checks = {}, {}
    total = 0.0
    for name, columns in spec:
        sql = QUERIES[name]
        t0 = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TEMP TABLE r AS {sql}")
        dt = time.perf_counter() - t0
        total += dt
        per_report[name] = dt
        exprs = ", ".join(["count(*)::DOUBLE"] + [checksum_expr(c, k) for c, k in columns])
        row = con.execute(f"SELECT {exprs} FROM r").fetchone()
        checks[name] = [0.0 if v is None else float(v) for v in row]
    print(json.dumps({"seconds": total, "per_report": per_report, "checks": checks}))


if __name__ == "__main__":
    main()
