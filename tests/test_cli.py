"""The command line without surprises: every subcommand refuses bad arguments in one line with
exit code 2, global options go before or after the subcommand at any depth, a taken port is
named with its flag, nothing makes a data directory or a key by accident, ids are never cut."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoscope.cli import build_parser, main


def leaf_commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command path of the tree and its parser (a new subcommand is covered automatically)."""
    children = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    if path:
        yield path, parser
    for action in children:
        for name, child in action.choices.items():
            yield from leaf_commands(child, (*path, name))


def bad_argument_lists(path: tuple[str, ...], parser: argparse.ArgumentParser) -> Iterator[list[str]]:
    """Argument lists that must be refused: an unknown option; the command without its required
    arguments; every typed option with a value of the wrong kind; every option with choices with
    a value outside them."""
    yield [*path, "--no-such-option"]
    if any(action.required for action in parser._actions):
        yield list(path)
    for action in parser._actions:
        if not action.option_strings or action.nargs == 0:
            continue
        option = action.option_strings[-1]
        if action.choices is not None:
            yield [*path, option, "no-such-choice"]
        if action.type is not None:
            yield [*path, option, "not-a-number"]


ALL_COMMANDS = list(leaf_commands(build_parser()))
CASES = [args for path, parser in ALL_COMMANDS for args in bad_argument_lists(path, parser)]


def test_the_tree_is_enumerated() -> None:
    names = {" ".join(path) for path, _ in ALL_COMMANDS}
    assert {
        "up",
        "collect",
        "ingest",
        "demo",
        "indicators",
        "status",
        "report",
        "dashboard",
        "export",
        "audit",
        "emit",
        "run",
        "token create",
        "token list",
        "token revoke",
        "quarantine list",
        "quarantine show",
        "quarantine replay",
        "key id",
        "key rotate",
        "git scan",
        "git install-hook",
        "git post-commit",
    } <= names
    assert len(CASES) > 2 * len(ALL_COMMANDS)


def _one_line_refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, (argv, code, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0], (argv, err)
    return lines[0]


@pytest.mark.parametrize("argv", CASES, ids=[" ".join(c) for c in CASES])
def test_every_subcommand_refuses_bad_arguments_in_one_line(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _one_line_refusal(
        [*argv, "--data-dir", str(tmp_path / "none")] if argv[0] not in ("emit", "run") else argv, capsys
    )
    assert line.startswith("autoscope")
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize(
    "argv, names",
    [
        (["indicators", "--k", "3"], "--k"),
        (["report", "--k", "4"], "--k"),
        (["export", "--k", "1", "--format", "csv", "--out", "x"], "--k"),
        (["dashboard", "--k", "0"], "--k"),
        (["up", "--port", "70000"], "--port"),
        (["up", "--grpc-port", "x"], "--grpc-port"),
        (["token"], "create|list|revoke"),
        (["key"], "id|rotate"),
        (["run", "--designed-by", "ai"], "--accelerators"),
        (["export", "verify"], "verify"),
        (["indicators", "--epsilon", "-1"], "--epsilon"),
        (["indicators", "--wait", "nan"], "--wait"),
        (["audit", "--limit", "-1"], "--limit"),
        (["demo", "--weeks", "0"], "--weeks"),
        (["report", "--period", "Q3-2026"], "--period"),
    ],
)
def test_value_errors_name_the_argument(
    argv: list[str], names: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _one_line_refusal([*argv, "--data-dir", str(tmp_path)], capsys)
    assert names in line


def test_a_k_below_5_from_the_environment_is_refused_naming_the_variable(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("AUTOSCOPE_K", "3")
    line = _one_line_refusal(["indicators", "--data-dir", str(tmp_path)], capsys)
    assert "$AUTOSCOPE_K" in line and "at least 5" in line


def test_the_installed_command_refuses_in_one_line_too(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "autoscope.cli", "indicators", "--k", "3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "k must be at least 5" in done.stderr


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    assert main(["key", "rotate", "--data-dir", str(data_dir)]) == 0
    return data_dir


@pytest.mark.parametrize("where", ["before", "between", "after"])
def test_global_options_before_or_after_the_subcommand(where: str, data_dir: Path, capsys) -> None:
    capsys.readouterr()
    for command in (["key", "id"], ["token", "list"], ["quarantine", "list"]):
        option = ["--data-dir", str(data_dir)]
        argv = {
            "before": [*option, *command],
            "between": [command[0], *option, command[1]],
            "after": [*command, *option],
        }[where]
        assert main(argv) == 0, argv
    out = capsys.readouterr().out.splitlines()
    key_id = (data_dir / "keys" / "pseudonym.key").exists() and out[0]
    assert key_id and len(key_id) == 8 and all(c in "0123456789abcdef" for c in key_id), out
    assert any("quarantined in" in line for line in out)  # quarantine list read that directory


def test_key_id_on_a_missing_data_dir_is_an_error_and_makes_nothing(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("AUTOSCOPE_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("AUTOSCOPE_PSEUDONYM_KEY_FILE", raising=False)
    missing = tmp_path / "typo"
    assert main(["key", "id", "--data-dir", str(missing)]) == 2
    assert "no pseudonym key" in capsys.readouterr().err
    assert not missing.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["key", "id"],
        ["token", "list"],
        ["token", "revoke", "abc"],
        ["quarantine", "list"],
        ["quarantine", "show", "--all"],
        ["indicators"],
        ["report"],
        ["export", "--format", "csv", "--out", "x"],
        ["audit"],
        ["status"],
    ],
)
def test_reading_commands_make_no_data_dir(argv: list[str], tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("AUTOSCOPE_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("AUTOSCOPE_PSEUDONYM_KEY_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "typo"
    assert main([*argv, "--data-dir", str(missing)]) in (1, 2)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert not missing.exists()


def test_emit_type_help_shows_help_and_the_type_fields(capsys) -> None:
    assert main(["emit", "review", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: autoscope emit")
    assert "review: --task-id, --reviewer, --action, --minutes" in out


def _listening() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


@pytest.mark.parametrize(
    "command, flag", [("up", "--port"), ("up", "--grpc-port"), ("collect", "--port"), ("dashboard", "--port")]
)
def test_a_taken_port_is_an_error_naming_the_port_and_the_flag(
    command: str, flag: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    taken = _listening()
    port = taken.getsockname()[1]
    try:
        other = [] if command == "dashboard" else ["--grpc-port", "off"] if flag == "--port" else ["--port", "0"]
        if command == "collect":  # it asks for a shared key and an external Kafka first
            other += ["--kafka-bootstrap", "127.0.0.1:9"]
            monkeypatch.setenv("AUTOSCOPE_PSEUDONYM_KEY", "00" * 16)
        code = main([command, "--data-dir", str(tmp_path / "d"), flag, str(port), *other])
    finally:
        taken.close()
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and f"port {port}" in err and flag in err, err
    assert not (tmp_path / "d").exists()  # refused before anything was made


def _quarantine_entries(data_dir: Path, ids: list[str]) -> None:
    directory = data_dir / "quarantine"
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "quarantine-2026-12-01.jsonl", "w", encoding="utf-8") as handle:
        for entry_id in ids:  # noqa: FURB122 - one JSON document a line, as the collector writes them
            handle.write(
                json.dumps(
                    {
                        "id": entry_id,
                        "received_at": "2026-12-01T10:00:00+00:00",
                        "sender": "tool-with-a-long-name",
                        "source": "native",
                        "field": "$.human_minutes",
                        "reason": "Expected `float`, got `str` - a reason long enough to need wrapping in a table",
                        "payload": {"event": {"type": "task"}},
                    }
                )
                + "\n"
            )


def test_quarantine_list_never_cuts_ids_and_show_takes_a_prefix(data_dir: Path, capsys, monkeypatch) -> None:
    ids = ["a1b2c3d4e5f60718", "a1b2ffffffffffff", "0123456789abcdef"]
    _quarantine_entries(data_dir, ids)
    capsys.readouterr()
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["quarantine", "list", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert all(entry_id in out for entry_id in ids), out
    assert max(len(line) for line in out.splitlines()) <= 80

    assert main(["quarantine", "show", "0123", "--data-dir", str(data_dir)]) == 0
    assert "0123456789abcdef" in capsys.readouterr().out
    assert main(["quarantine", "show", "a1b2", "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert "matches 2 entries" in err and err.count("\n") == 1
    assert main(["quarantine", "show", "ffff", "--data-dir", str(data_dir)]) == 2
    assert "no quarantined entry" in capsys.readouterr().err


def test_every_command_is_handled_in_its_room() -> None:
    """One convention: cli.py parses and dispatches; each leaf command names its handler as
    ``module:function`` in the room that does its work (imported only when it runs)."""
    import importlib

    rooms = (
        "autoscope.agents.",
        "autoscope.collector.",
        "autoscope.warehouse.",
        "autoscope.pipelines.",
        "autoscope.commands",
        "autoscope.status",
    )
    for path, parser in ALL_COMMANDS:
        if any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
            continue  # not a leaf: its subcommands are checked
        handler = parser.get_default("handler")
        if handler is None:  # set on the parent (token, quarantine, git): argparse copies it down
            handler = dict(ALL_COMMANDS)[path[:1]].get_default("handler")
        module, _, name = handler.partition(":")
        assert module.startswith(rooms), (path, handler)
        assert callable(getattr(importlib.import_module(module), name)), (path, handler)
