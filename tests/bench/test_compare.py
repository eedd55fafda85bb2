"""`python -m bench.compare A.json B.json`: is each page's cost flat in the member count?"""

import json

import pytest

from bench import compare


def run(members: int, rows: dict[str, tuple[float, int | None]]) -> dict:
    return {
        "generated_at": "2026-12-02T12:00:00+00:00",
        "options": {"members": members},
        "data": {"members": members},
        "results": [
            {"key": key, "label": f"/{key}", "p50_ms": p50, "queries": queries}
            for key, (p50, queries) in rows.items()
        ],
    }


SMALL = run(10_000, {"healthz": (2.0, 0), "directory": (10.0, 3), "search": (12.0, 4)})


def test_a_page_is_flat_within_a_quarter_more_p50_and_the_same_queries():
    large = run(1_000_000, {"healthz": (2.4, 0), "directory": (12.5, 3), "search": (12.0, 4)})

    text, flat = compare.compare(SMALL, large)

    assert flat
    assert "A: 10,000 members" in text
    assert "B: 1,000,000 members" in text
    assert "Flat (p50 B <= 1.25 x p50 A, same queries): 3 of 3 pages." in text
    line = next(line for line in text.splitlines() if line.startswith("/directory"))
    assert line.split()[1:6] == ["10.0", "12.5", "1.25", "3", "/"]
    assert line.endswith("flat")


def test_a_slower_page_or_other_queries_are_not_flat_and_named():
    large = run(1_000_000, {"healthz": (2.0, 0), "directory": (12.6, 3), "search": (12.0, 5)})

    text, flat = compare.compare(SMALL, large)

    assert not flat
    assert "NOT FLAT: p50 x1.26" in text
    assert "NOT FLAT: queries 4 -> 5" in text
    assert text.splitlines()[-1] == (
        "Flat (p50 B <= 1.25 x p50 A, same queries): 1 of 3 pages. Not flat: /directory; /search."
    )


def test_pages_without_query_counts_are_not_judged_flat():
    large = run(1_000_000, {"healthz": (2.0, None), "directory": (10.0, 3), "search": (12.0, 4)})

    text, flat = compare.compare(SMALL, large)

    assert not flat
    assert "queries not counted" in text


def test_a_page_that_finished_no_request_in_its_windows_is_not_flat():
    large = run(1_000_000, {"healthz": (2.0, 0), "directory": (0.0, 3), "search": (12.0, 4)})
    large["results"][1]["requests"] = 0

    text, flat = compare.compare(SMALL, large)

    assert not flat
    assert "NOT FLAT: no request finished in its window" in text


def test_pages_of_one_run_only_are_listed_apart_and_the_limit_is_an_option():
    large = run(1_000_000, {"healthz": (3.0, 0), "directory": (10.0, 3), "admin": (5.0, 6)})

    text, flat = compare.compare(SMALL, large, limit=1.5)

    assert flat
    assert "In one run only (not compared): search, admin." in text


def test_the_command_exits_1_when_a_page_is_not_flat(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(SMALL))
    b.write_text(json.dumps(run(1_000_000, {"healthz": (9.0, 0)})))

    assert compare.main([str(a), str(b)]) == 1
    assert "NOT FLAT" in capsys.readouterr().out
    assert compare.main([str(a), str(a)]) == 0


def test_a_file_that_is_no_result_is_refused(tmp_path, capsys):
    other = tmp_path / "other.json"
    other.write_text("{}")

    with pytest.raises(SystemExit) as exit_:
        compare.main([str(other), str(other)])
    assert exit_.value.code == 2
    assert "not a benchmark result" in capsys.readouterr().err
