"""The command line of `python -m bench`."""

import pytest

from bench import __main__ as harness, config
from bench.__main__ import choose_state, headline, parse_args, run_step
from bench.config import State


def test_defaults_are_the_full_run():
    args = parse_args([])

    assert (args.members, args.duration, args.rounds, args.warmup) == (10_000, 5.0, 6, 1.0)
    assert (args.connections, args.workers, args.keep, args.smoke) == (4, 2, False, False)
    assert args.reuse is False


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
        ["--members", "10000000"],  # usernames have seven digits
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


def test_reuse_and_keep_are_separate_options():
    args = parse_args(["--members", "1000000", "--reuse", "--keep"])

    assert (args.members, args.reuse, args.keep) == (1_000_000, True, True)
    assert parse_args(["--reuse"]).keep is False


SQLITE = "sqlite:////tmp/bench.sqlite3"
POSTGRES = "postgres://postgres:secret@127.0.0.1:5432/bench_scale"


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(harness, "say", lambda message: None)
    return tmp_path


def kept(url: str, members: int) -> State:
    state = State.fresh(database_url=url, members=members)
    state.seeded = True
    state.save()
    return state


def test_each_database_keeps_its_own_state_file_readable_by_its_owner_only(results):
    small, large = kept(SQLITE, 10_000), kept(POSTGRES, 1_000_000)

    assert small.path != large.path
    assert State.load(SQLITE) == small
    assert State.load(POSTGRES) == large
    assert large.path.name.startswith("state-postgres-bench_scale-")
    assert "secret" not in large.path.name
    assert large.path.stat().st_mode & 0o777 == 0o600
    assert State.load("postgres://postgres@127.0.0.1:5432/other") is None


def test_reuse_takes_the_kept_data_set_of_the_same_size_with_its_keys(results):
    state = kept(POSTGRES, 1_000_000)

    chosen, reused = choose_state(parse_args(["--members", "1000000", "--reuse"]), POSTGRES)

    assert reused
    assert chosen.field_encryption_key == state.field_encryption_key


@pytest.mark.parametrize(
    ("argv", "members", "seeded"),
    [
        (["--members", "1000000"], 1_000_000, True),  # not asked to reuse
        (["--members", "10000", "--reuse"], 1_000_000, True),  # another size
        (["--members", "1000000", "--reuse"], 1_000_000, False),  # never finished
    ],
)
def test_otherwise_a_fresh_data_set_with_fresh_keys(results, argv, members, seeded):
    state = State.fresh(database_url=POSTGRES, members=members)
    state.seeded = seeded
    state.save()

    chosen, reused = choose_state(parse_args(argv), POSTGRES)

    assert not reused
    assert chosen.field_encryption_key != state.field_encryption_key
    assert chosen.members == parse_args(argv).members


def test_reuse_without_any_state_file_builds_fresh(results):
    chosen, reused = choose_state(parse_args(["--reuse"]), POSTGRES)

    assert not reused
    assert chosen.database_url == POSTGRES


def test_a_set_up_step_shows_its_progress_live_and_returns_its_stdout(results, monkeypatch):
    said: list[str] = []
    monkeypatch.setattr(harness, "say", said.append)
    monkeypatch.setattr(config, "SETUP_LOG", results / "setup.log")
    script = (
        "import sys; print('  members: 10 of 20 (50 %)', file=sys.stderr, flush=True); "
        "print('{\"done\": true}')"
    )

    output = run_step("20 members", {}, "-c", script, live=True)

    assert output == '{"done": true}\n'
    assert said[0] == "  members: 10 of 20 (50 %)"
    assert said[1].startswith("  20 members: ")
    assert "members: 10 of 20" in (results / "setup.log").read_text()
