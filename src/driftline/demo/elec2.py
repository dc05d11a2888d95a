"""Elec2 (`../shared/data/elec2.csv`) cut into weekly drops, as a legacy market feed would
deliver it: each week's readings, and a week later the outcome: whether each price went up
(`examples/elec2`, binary), or the NSW demand itself (`examples/elec2_demand`, regression:
the readings then leave the demand out).

The file has 45,312 half-hour rows from 7 May 1996 on, 48 a day, without gaps; row i was
taken at 1996-05-07 00:00 + 30 min * i, so week w holds rows 336w to 336w + 335.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

FIRST_DAY = date(1996, 5, 7)
ROWS_PER_WEEK = 48 * 7
FEATURES = ("day", "period", "nswprice", "nswdemand", "vicprice", "vicdemand", "transfer")


def week_date(week: int) -> date:
    return FIRST_DAY + timedelta(days=7 * week)


# What the labels file of each target is called and holds.
TARGETS = {"up": ("price_moves", "up"), "demand": ("demand_actuals", "nswdemand")}


def write_weekly_drops(source: Path, drop_root: Path, weeks: int, target: str = "up") -> list[date]:
    """Write `weeks` weekly drops; return their run dates. Week w's drop holds its readings
    and the labels of week w - 1: price moves (`up`) or NSW demand (`demand`)."""
    folder, label = TARGETS[target]
    features = tuple(f for f in FEATURES if f != label)
    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    available = len(rows) // ROWS_PER_WEEK
    if weeks > available:
        raise ValueError(f"{source} holds {available} full weeks, not {weeks}")
    dates = [week_date(w) for w in range(weeks)]
    for week, run_date in enumerate(dates):
        chunk = rows[week * ROWS_PER_WEEK : (week + 1) * ROWS_PER_WEEK]
        readings = drop_root / "readings" / run_date.isoformat()
        readings.mkdir(parents=True, exist_ok=True)
        with (readings / "readings.csv").open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(("reading_id", *features))
            for offset, row in enumerate(chunk):
                writer.writerow((_reading_id(week, offset), *(row[f] for f in features)))
        if week == 0:
            continue
        outcomes = drop_root / folder / run_date.isoformat()
        outcomes.mkdir(parents=True, exist_ok=True)
        previous = rows[(week - 1) * ROWS_PER_WEEK : week * ROWS_PER_WEEK]
        with (outcomes / f"{folder}.csv").open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(("reading_id", "label_date", label))
            for offset, row in enumerate(previous):
                value = int(row["class"] == "UP") if target == "up" else row["nswdemand"]
                writer.writerow((_reading_id(week - 1, offset), dates[week - 1].isoformat(), value))
    return dates


def _reading_id(week: int, offset: int) -> str:
    return f"R{week * ROWS_PER_WEEK + offset:06d}"
