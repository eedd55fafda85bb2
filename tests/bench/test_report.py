"""Pooling windows, judging rows against the targets, the table and the result files."""

import csv
import json

import pytest

from bench import report
from bench.load import QUANTILE_STEPS, Target, Window
from bench.report import Row, judge, pool, pooled_quantile, summary, table
from bench.seed import OWNER

TARGETS = {
    key: Target(key, label, "POST" if key == "settings_post" else "GET", path, {})
    for key, label, path in [
        ("healthz", "/healthz", "/healthz"),
        ("profile_expert", "/members/<owner>/ as Mitgestalter", f"/members/{OWNER}/"),
        ("directory_expert", "/members/ p1 as Mitgestalter", "/members/"),
        ("directory_member", "/members/ p1 as member", "/members/"),
        ("settings_get", "/settings/profile/ GET (owner)", "/settings/profile/"),
        ("settings_post", "/settings/profile/ Speichern POST", "/settings/profile/"),
    ]
}


def window(key: str, *, rps: float, latency_ms: float = 10.0, round_: int = 1, **extra) -> Window:
    """A one-second window: `rps` requests as fast as `latency_ms`, the slowest 2 % 3x slower."""
    quantiles = [latency_ms] * 980 + [latency_ms * 3] * (QUANTILE_STEPS - 980)
    return Window(
        target=key,
        round=round_,
        requests=int(rps),
        seconds=1.0,
        unexpected_status=0,
        socket_errors=0,
        quantiles_ms=quantiles,
        **extra,
    )


def rows_for(rps: dict[str, float]) -> list[Row]:
    rows = [pool(TARGETS[key], [window(key, rps=value)]) for key, value in rps.items()]
    judge(rows)
    return rows


def test_pooled_quantile_weights_windows_by_their_requests():
    fast = window("x", rps=900, latency_ms=1.0)
    slow = window("x", rps=100, latency_ms=50.0)

    assert pooled_quantile([fast, slow], 0.5) == 1.0
    assert pooled_quantile([fast, slow], 0.95) == 50.0
    assert pooled_quantile([], 0.99) == 0.0


def test_pool_takes_the_median_of_the_rounds_and_cpu_per_request():
    windows = [
        window("healthz", rps=rps, round_=n, server_cpu_s=0.5, machine_cpu_s=0.5)
        for n, rps in enumerate([900.0, 1000.0, 1200.0], 1)
    ]
    row = pool(TARGETS["healthz"], windows)

    assert row.rps == 1000.0
    assert row.rps_pooled == pytest.approx(3100 / 3)
    assert row.spread_percent == pytest.approx(15.0)
    assert row.server_cpu_ms_per_request == pytest.approx(1000 * 1.5 / 3100)
    assert row.server_cpu_utilisation == pytest.approx(0.5)
    assert row.p99_ms == 30.0
    assert row.rps_rounds == [900.0, 1000.0, 1200.0]


def test_targets_are_ratios_to_healthz_and_the_post_p99_against_the_get():
    rows = rows_for(
        {
            "healthz": 1000,
            "profile_expert": 250,
            "directory_expert": 110,
            "directory_member": 120,
            "settings_get": 120,
            "settings_post": 150,
        }
    )
    verdicts = {row.key: (row.target, round(row.target_value or 0, 2), row.verdict) for row in rows}

    assert verdicts == {
        "healthz": ("", 0, ""),
        "profile_expert": ("ratio >= 0.20", 0.25, "PASS"),
        "directory_expert": ("ratio >= 0.12", 0.11, "MISS"),
        "directory_member": ("ratio >= 0.12", 0.12, "PASS"),
        "settings_get": ("ratio >= 0.10", 0.12, "PASS"),
        "settings_post": ("p99 <= 3x GET p99", 1.0, "PASS"),
    }
    assert summary(rows) == "Targets met: 4 of 5. Not met: /members/ p1 as Mitgestalter."


def test_wrong_answers_make_a_row_invalid_whatever_its_speed():
    healthz = pool(TARGETS["healthz"], [window("healthz", rps=1000)])
    broken = window("profile_expert", rps=900)
    broken.unexpected_status = 1
    rows = [healthz, pool(TARGETS["profile_expert"], [broken])]
    judge(rows)

    assert rows[1].verdict == "INVALID"
    assert "Not met: /members/<owner>/ as Mitgestalter" in summary(rows)


def test_post_without_a_get_row_cannot_be_judged():
    rows = rows_for({"healthz": 1000, "settings_post": 100})

    assert rows[1].verdict == "INVALID"
    assert rows[1].target_value is None


def test_table_has_the_columns_and_one_line_per_row():
    rows = rows_for({"healthz": 1000, "profile_expert": 150})
    rows[0].queries = 0
    lines = table(rows, backing=False).splitlines()

    assert lines[0].split() == [
        "URL", "as", "viewer", "req/s", "±%", "p50", "ms", "p99", "ms", "queries", "CPU",
        "ms/req", "db", "ms/req", "ratio", "bad", "target", "result",
    ]  # fmt: skip
    assert set(lines[1]) == {"-"}
    assert lines[2].split() == [
        "/healthz",
        "1000.0",
        "0",
        "10.0",
        "30.0",
        "0",
        "0.00",
        "-",
        "1.000",
        "0",
    ]
    assert lines[3].split()[7] == "-"  # queries not counted
    assert lines[3].split()[-7:] == ["0.150", "0", "ratio", ">=", "0.20", "0.15", "MISS"]


def test_table_shows_no_latency_for_a_page_that_finished_no_request():
    rows = rows_for({"healthz": 1000, "profile_expert": 0})

    assert table(rows, backing=False).splitlines()[3].split()[3:9] == [
        "0.0", "0", "-", "-", "-", "0.00",
    ]  # fmt: skip


def test_table_shows_database_cpu_only_when_measured():
    rows = [pool(TARGETS["healthz"], [window("healthz", rps=100, backing_cpu_s=0.1)])]

    assert table(rows, backing=True).splitlines()[2].split()[7] == "1.00"
    assert table(rows, backing=False).splitlines()[2].split()[7] == "-"


def test_background_load_warns_only_when_noticeable():
    quiet = [window("x", rps=100, machine_cpu_s=0.1)]
    busy = [window("x", rps=100, machine_cpu_s=1.2)]

    assert report.background_warning(quiet, cpu_count=2) == ""
    assert "1.20 of 2 cores" in report.background_warning(busy, cpu_count=2)


def test_result_files_hold_rows_windows_and_context(tmp_path):
    windows = [window("healthz", rps=1000), window("settings_get", rps=100)]
    rows = [pool(TARGETS[w.target], [w]) for w in windows]
    rows[1].queries = 3
    judge(rows)
    meta = {
        "machine": {"cpu_count": 2},
        "database": {"vendor": "sqlite"},
        "redis": False,
        "loader": {"name": "wrk", "version": "wrk 4.1.0"},
        "server": {"workers": 2},
        "options": {"connections": 4, "rounds": 1, "duration": 1.0, "members": 300},
        "environment": {"DJANGO_DEBUG": "false"},
    }
    json_path, csv_path = tmp_path / "bench.json", tmp_path / "bench.csv"
    report.write(rows=rows, windows=windows, meta=meta, json_path=json_path, csv_path=csv_path)

    document = json.loads(json_path.read_text())
    assert [entry["key"] for entry in document["results"]] == ["healthz", "settings_get"]
    assert document["results"][1]["verdict"] == "PASS"
    assert document["windows"][0]["p99_ms"] == 30.0
    assert "quantiles_ms" not in document["windows"][0]
    lines = list(csv.DictReader(csv_path.read_text().splitlines()))
    assert list(lines[0])[:9] == [
        "key", "label", "method", "path", "requests", "seconds", "rps", "rps_pooled", "spread_percent",
    ]  # fmt: skip
    assert list(lines[0])[-10:] == [
        "cpu_count", "database", "redis", "loader", "workers", "connections", "rounds",
        "duration_s", "members", "settings",
    ]  # fmt: skip
    assert "rps_rounds" not in lines[0]
    assert lines[1]["ratio_to_healthz"] == "0.1"
    assert lines[1]["loader"] == "wrk"
    assert lines[1]["queries"] == "3"
    assert document["results"][1]["queries"] == 3
    assert document["results"][0]["queries"] is None


def test_background_load_is_spread_over_the_whole_window_with_wrks_start_and_end():
    window_ = window("x", rps=100, machine_cpu_s=3.0, server_cpu_s=0.5)
    window_.wall_s = 2.5

    assert window_.other_cpu_cores == pytest.approx(1.0)
