"""The command line of `python -m bench`."""

import pytest

from bench.__main__ import headline, parse_args


def test_defaults_are_the_full_run():
    args = parse_args([])

    assert (args.members, args.duration, args.rounds, args.warmup) == (10_000, 5.0, 6, 1.0)
    assert (args.connections, args.workers, args.keep, args.smoke) == (4, 2, False, False)


def test_smoke_is_small_and_quick():
    args = parse_args(["--smoke"])

    assert (args.members, args.duration, args.rounds, args.warmup) == (300, 1.0, 1, 0.5)


def test_explicit_options_win_over_smoke():
    args = parse_args(["--smoke", "--members", "50", "--rounds", "2", "--connections", "8"])

    assert (args.members, args.rounds, args.connections, args.duration) == (50, 2, 8, 1.0)


@pytest.mark.parametrize(
    "argv",
    [
        ["--members", "5"],
        ["--rounds", "0"],
        ["--duration", "0.2"],
        ["--connections", "0"],
        ["--workers", "0"],
        ["--loader", "python"],  # wrk is the only load generator now
    ],
)
def test_invalid_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(argv)

    assert exit_.value.code == 2
    assert "python -m bench" in capsys.readouterr().err


def test_headline_names_the_machine_and_the_run():
    data = {
        "database": {"vendor": "sqlite", "version": "3.40.1"},
        "counts": {"members": 300, "with_customer_data": 100},
    }
    line = headline(parse_args(["--smoke"]), data, redis=False)

    assert "sqlite 3.40.1 · Redis: no · gunicorn 2 gthread workers" in line
    assert "wrk 4 connections · 1 rounds x 1 s · 300 members (100 with customer data)" in line
