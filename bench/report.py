"""Pool the measurement windows, judge them against the targets of issue 7, and write reports."""

from __future__ import annotations

import csv
import json
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.load import QUANTILE_STEPS, Target, Window

HEALTHZ = "healthz"


@dataclass
class Row:
    """The pooled figures of one target over all rounds."""

    key: str
    label: str
    method: str
    path: str
    requests: int
    seconds: float
    rps: float  # the median of the rounds' req/s: one disturbed round does not move it
    rps_pooled: float  # all requests / all measured seconds
    rps_rounds: list[float]
    p50_ms: float
    p99_ms: float
    server_cpu_ms_per_request: float
    server_cpu_utilisation: float
    client_cpu_ms_per_request: float
    backing_cpu_ms_per_request: float
    unexpected_status: int
    socket_errors: int
    background_cpu_cores: float
    ratio_to_healthz: float = 0.0
    # /healthz CPU per request / this row's: a cross-check that background load hardly moves.
    cpu_ratio_to_healthz: float = 0.0
    target: str = ""
    target_value: float | None = None
    verdict: str = ""

    @property
    def spread_percent(self) -> float:
        """Half the range of the per-round req/s, relative to the median."""
        if len(self.rps_rounds) < 2 or not self.rps:
            return 0.0
        return 50 * (max(self.rps_rounds) - min(self.rps_rounds)) / self.rps


def pooled_quantile(windows: list[Window], fraction: float) -> float:
    """The latency below which `fraction` of all requests of all windows fall.

    Each window contributes its 1,000 quantiles, each weighted by its share of the requests.
    """
    points: list[tuple[float, float]] = []
    for window in windows:
        if window.requests:
            weight = window.requests / QUANTILE_STEPS
            points += [(value, weight) for value in window.quantiles_ms]
    if not points:
        return 0.0
    points.sort()
    total = sum(weight for _, weight in points)
    running = 0.0
    for value, weight in points:
        running += weight
        if running >= fraction * total - 1e-9:
            return value
    return points[-1][0]


def pool(target: Target, windows: list[Window]) -> Row:
    requests = sum(window.requests for window in windows)
    seconds = sum(window.seconds for window in windows)
    server_cpu = sum(window.server_cpu_s for window in windows)
    client_cpu = sum(window.client_cpu_s for window in windows)
    return Row(
        key=target.key,
        label=target.label,
        method=target.method,
        path=target.path,
        requests=requests,
        seconds=seconds,
        rps=statistics.median(window.rps for window in windows) if windows else 0.0,
        rps_pooled=requests / seconds if seconds else 0.0,
        rps_rounds=[window.rps for window in windows],
        p50_ms=pooled_quantile(windows, 0.50),
        p99_ms=pooled_quantile(windows, 0.99),
        server_cpu_ms_per_request=1000 * server_cpu / requests if requests else 0.0,
        server_cpu_utilisation=server_cpu / seconds if seconds else 0.0,
        client_cpu_ms_per_request=1000 * client_cpu / requests if requests else 0.0,
        backing_cpu_ms_per_request=(
            1000 * sum(window.backing_cpu_s for window in windows) / requests if requests else 0.0
        ),
        unexpected_status=sum(window.unexpected_status for window in windows),
        socket_errors=sum(window.socket_errors for window in windows),
        background_cpu_cores=(
            sum(window.other_cpu_cores * window.seconds for window in windows) / seconds
            if seconds
            else 0.0
        ),
    )


def background(windows: list[Window]) -> dict[str, float]:
    """How busy the machine was with other work while measuring (in cores)."""
    seconds = sum(window.seconds for window in windows)
    if not seconds:
        return {"mean_cores": 0.0, "max_cores": 0.0}
    return {
        "mean_cores": sum(w.other_cpu_cores * w.seconds for w in windows) / seconds,
        "max_cores": max(w.other_cpu_cores for w in windows),
    }


def background_warning(windows: list[Window], cpu_count: int) -> str:
    """A warning when other processes took a noticeable share of the machine."""
    load = background(windows)
    if load["mean_cores"] < 0.1 * cpu_count and load["max_cores"] < 0.25 * cpu_count:
        return ""
    return (
        f"Warning: other processes kept {load['mean_cores']:.2f} of {cpu_count} cores busy on "
        f"average (up to {load['max_cores']:.2f} in one window) while measuring; the absolute "
        "figures are disturbed, the ratios less so. Re-run on a quiet machine."
    )


@dataclass(frozen=True)
class Goal:
    """A target of issue 7 for one row."""

    text: str
    value: Callable[[Row, dict[str, Row]], float | None]
    passes: Callable[[float], bool]


def _ratio(row: Row, rows: dict[str, Row]) -> float | None:
    return row.ratio_to_healthz


def _p99_vs_settings(row: Row, rows: dict[str, Row]) -> float | None:
    settings_get = rows.get("settings_get")
    if settings_get is None or not settings_get.p99_ms:
        return None
    return row.p99_ms / settings_get.p99_ms


GOALS: dict[str, Goal] = {
    "profile_expert": Goal("ratio >= 0.20", _ratio, lambda value: value >= 0.20),
    "directory_expert": Goal("ratio >= 0.10", _ratio, lambda value: value >= 0.10),
    "directory_member": Goal("ratio >= 0.10", _ratio, lambda value: value >= 0.10),
    "settings_get": Goal("ratio >= 0.10", _ratio, lambda value: value >= 0.10),
    "settings_post": Goal("p99 <= 3x GET p99", _p99_vs_settings, lambda value: value <= 3.0),
}


def judge(rows: list[Row]) -> None:
    """Fill in ratios to /healthz and the PASS/MISS verdicts."""
    by_key = {row.key: row for row in rows}
    healthz = by_key.get(HEALTHZ)
    for row in rows:
        row.ratio_to_healthz = row.rps / healthz.rps if healthz and healthz.rps else 0.0
        if healthz and row.server_cpu_ms_per_request:
            row.cpu_ratio_to_healthz = (
                healthz.server_cpu_ms_per_request / row.server_cpu_ms_per_request
            )
    for row in rows:
        goal = GOALS.get(row.key)
        if goal is None:
            continue
        row.target = goal.text
        value = goal.value(row, by_key)
        row.target_value = value
        if row.unexpected_status or value is None:
            row.verdict = "INVALID"  # wrong answers (or no base figure) prove nothing
        else:
            row.verdict = "PASS" if goal.passes(value) else "MISS"


COLUMNS = (
    ("URL as viewer", "<", 34),
    ("req/s", ">", 8),
    ("±%", ">", 3),
    ("p50 ms", ">", 7),
    ("p99 ms", ">", 7),
    ("CPU ms/req", ">", 10),
    ("db ms/req", ">", 9),
    ("ratio", ">", 6),
    ("bad", ">", 4),
    ("target (issue 7)", "<", 18),
    ("result", "<", 10),
)


def _cells(row: Row, backing: bool) -> list[str]:
    result = ""
    if row.verdict:
        value = "" if row.target_value is None else f"{row.target_value:.2f} "
        result = f"{value}{row.verdict}"
    return [
        row.label,
        f"{row.rps:.1f}",
        f"{row.spread_percent:.0f}",
        f"{row.p50_ms:.1f}",
        f"{row.p99_ms:.1f}",
        f"{row.server_cpu_ms_per_request:.2f}",
        f"{row.backing_cpu_ms_per_request:.2f}" if backing else "-",
        f"{row.ratio_to_healthz:.3f}",
        str(row.unexpected_status + row.socket_errors),
        row.target or "",
        result,
    ]


def table(rows: list[Row], *, backing: bool) -> str:
    """The report table; `backing`: whether database/cache processes were measured."""

    def line(cells: list[str]) -> str:
        return "  ".join(
            f"{cell:{align}{width}}" for cell, (_, align, width) in zip(cells, COLUMNS, strict=True)
        ).rstrip()

    lines = [line([name for name, _, _ in COLUMNS])]
    lines.append("-" * len(lines[0]))
    lines += [line(_cells(row, backing)) for row in rows]
    return "\n".join(lines)


def summary(rows: list[Row]) -> str:
    judged = [row for row in rows if row.verdict]
    passed = sum(row.verdict == "PASS" for row in judged)
    missed = [row.label for row in judged if row.verdict != "PASS"]
    text = f"Targets met: {passed} of {len(judged)}."
    if missed:
        text += " Not met: " + "; ".join(missed) + "."
    return text


def write(
    *, rows: list[Row], windows: list[Window], meta: dict[str, Any], json_path: Path, csv_path: Path
) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    results = []
    for row in rows:
        entry = asdict(row)
        entry["spread_percent"] = row.spread_percent
        results.append(entry)
    document = {
        **meta,
        "results": results,
        "windows": [
            {key: value for key, value in asdict(window).items() if key != "quantiles_ms"}
            | {
                "rps": window.rps,
                "background_cpu_cores": window.other_cpu_cores,
                "p50_ms": window.quantiles_ms[QUANTILE_STEPS // 2 - 1],
                "p99_ms": window.quantiles_ms[QUANTILE_STEPS * 99 // 100 - 1],
            }
            for window in windows
        ],
    }
    json_path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")

    fields = [
        "key",
        "label",
        "method",
        "path",
        "requests",
        "seconds",
        "rps",
        "rps_pooled",
        "spread_percent",
        "p50_ms",
        "p99_ms",
        "server_cpu_ms_per_request",
        "server_cpu_utilisation",
        "client_cpu_ms_per_request",
        "backing_cpu_ms_per_request",
        "ratio_to_healthz",
        "cpu_ratio_to_healthz",
        "unexpected_status",
        "socket_errors",
        "background_cpu_cores",
        "target",
        "target_value",
        "verdict",
        "cpu_count",
        "database",
        "redis",
        "loader",
        "workers",
        "connections",
        "rounds",
        "duration_s",
        "members",
        "settings",
    ]
    context = {
        "cpu_count": meta["machine"]["cpu_count"],
        "database": meta["database"]["vendor"],
        "redis": meta["redis"],
        "loader": meta["loader"]["name"],
        "workers": meta["server"]["workers"],
        "connections": meta["options"]["connections"],
        "rounds": meta["options"]["rounds"],
        "duration_s": meta["options"]["duration"],
        "members": meta["options"]["members"],
        "settings": json.dumps(meta["environment"], sort_keys=True),
    }
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for entry in results:
            writer.writerow(
                {
                    **{
                        key: round(value, 4) if isinstance(value, float) else value
                        for key, value in entry.items()
                    },
                    **context,
                }
            )
