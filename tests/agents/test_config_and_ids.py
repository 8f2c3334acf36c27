"""Configuration sources and UUIDv7 ids (what the hooks may import: tests/test_boundaries.py)."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from autoscope.agents import config, uuid7
from autoscope.agents.config import load_settings
from autoscope.collector.contract import EVENT_ID


def test_uuid7_layout_and_order() -> None:
    before = time.time_ns() // 1_000_000
    ids = [uuid7() for _ in range(1000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == 1000
    for text in ids[:50]:
        value = uuid.UUID(text)
        assert value.version == 7 and value.variant == uuid.RFC_4122
        assert before <= value.int >> 80 <= after
        assert re.fullmatch(EVENT_ID.pattern, text)
    fixed = uuid7(unix_ms=1_700_000_000_000)
    assert uuid.UUID(fixed).int >> 80 == 1_700_000_000_000
    assert uuid7(unix_ms=1) < uuid7(unix_ms=2) < uuid7(unix_ms=1000)  # ids sort by time


def test_settings_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "autoscope.toml"
    toml.write_text(
        '[agents]\ncollector_url = "http://file:1"\nteam = "from-file"\ntool = "file-tool"\n'
        'max_batch_size = 64\nschedule_delay_s = "soon"\n'
    )
    monkeypatch.setenv("AUTOSCOPE_CONFIG", str(toml))
    monkeypatch.setenv("AUTOSCOPE_TEAM", "from-env")
    monkeypatch.setenv("AUTOSCOPE_ACTOR", "env@lab.example")
    monkeypatch.setenv("AUTOSCOPE_TOKEN", "t0k")
    settings = load_settings(tool="kw-tool")
    assert settings.collector_url == "http://file:1"
    assert (settings.team, settings.actor, settings.token) == ("from-env", "env@lab.example", "t0k")
    assert settings.tool == "kw-tool" and settings.max_batch_size == 64
    assert settings.schedule_delay_s == config.Settings.schedule_delay_s  # bad value: default
    assert settings.spool_dir == tmp_path / "spool"  # AUTOSCOPE_SPOOL_DIR (conftest)


def test_defaults_and_actor_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./autoscope.toml
    monkeypatch.delenv("AUTOSCOPE_SPOOL_DIR")
    monkeypatch.setattr(config, "_default_actor", lambda: "git@lab.example")
    settings = load_settings()
    assert settings.collector_url == "http://127.0.0.1:4318"
    assert settings.actor == "git@lab.example"
    assert settings.spool_dir == Path("~/.cache/autoscope/spool").expanduser()
    assert re.fullmatch(r"[A-Za-z0-9_.:/+\-]+", settings.tool)
    with pytest.raises(TypeError):
        load_settings(colector_url="typo")


def test_actor_comes_from_git_or_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each step of the fallback, in order: git's email, else the login name, else "unknown"."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("GIT_CONFIG_SYSTEM", str(tmp_path / "no-system-config"))
    monkeypatch.chdir(tmp_path)  # no repository here or above it: tmp_path is outside the worktree
    for variable in ("USER", "LNAME", "USERNAME"):  # getpass reads LOGNAME first, then these
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LOGNAME", "ada-login")
    assert config._default_actor() == "ada-login"  # no email anywhere: the login name

    (home / ".gitconfig").write_text("[user]\n\temail = ada@lab.example\n")
    assert config._default_actor() == "ada@lab.example"  # git's email wins over the login name

    (home / ".gitconfig").unlink()

    def no_login_name() -> str:
        raise KeyError("getpwuid(): uid not found")  # what getpass raises in a container without one

    monkeypatch.setattr(config.getpass, "getuser", no_login_name)
    assert config._default_actor() == "unknown"


def test_actor_is_what_git_config_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read from git's files (no subprocess on the tool's thread), and equal to `git config`."""
    home = tmp_path / "home"
    (home / ".config" / "git").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("GIT_CONFIG_SYSTEM", str(tmp_path / "no-system-config"))
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)

    def git_says() -> str:
        return subprocess.run(
            ["git", "config", "user.email"], cwd=repo / "sub", capture_output=True, text=True, check=False
        ).stdout.strip()

    monkeypatch.chdir(repo / "sub")
    (home / ".config" / "git" / "config").write_text('[user]\n\temail = "xdg@lab.example"\n')
    assert config._default_actor() == git_says() == "xdg@lab.example"
    (home / ".gitconfig").write_text("[core]\n\teditor = vi\n[User]\n  Email=home@lab.example ; mine\n")
    assert config._default_actor() == git_says() == "home@lab.example"
    subprocess.run(["git", "config", "user.email", "repo@lab.example"], cwd=repo, check=True)
    assert config._default_actor() == git_says() == "repo@lab.example"


def test_timestamps_are_utc_iso_with_offset() -> None:
    from autoscope.agents.events import timestamp

    aware = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert timestamp("t", aware) == "2026-01-02T08:04:05+00:00"
    assert timestamp("t", "2026-01-02T08:04:05Z") == "2026-01-02T08:04:05+00:00"
    assert timestamp("t", 0) == "1970-01-01T00:00:00+00:00"


def test_transport_and_otel_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config_file = tmp_path / "autoscope.toml"
    config_file.write_text('[agents]\ntransport = "native"\ntask_spans = false\n')
    monkeypatch.setenv("AUTOSCOPE_CONFIG", str(config_file))
    monkeypatch.delenv("AUTOSCOPE_TRANSPORT", raising=False)
    settings = load_settings()
    assert (settings.transport, settings.task_spans, settings.otel_provider) == ("native", False, "own")
    monkeypatch.setenv("AUTOSCOPE_TRANSPORT", "OTLP")
    monkeypatch.setenv("AUTOSCOPE_TASK_SPANS", "yes")
    monkeypatch.setenv("AUTOSCOPE_OTEL_PROVIDER", "carrier-pigeon")  # bad: logged, default kept
    settings = load_settings()
    assert (settings.transport, settings.task_spans, settings.otel_provider) == ("otlp", True, "own")
    assert load_settings(transport="native").transport == "native"


def test_ids_differ_after_fork_and_ignore_random_seed() -> None:
    import os
    import random

    from autoscope.agents.event_ids import uuid7

    random.seed(42)
    first = uuid7()
    random.seed(42)
    assert uuid7()[14:] != first[14:]  # the tool's random.seed() does not repeat our ids
    if not hasattr(os, "fork"):
        return
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, uuid7().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    assert child[14:] != uuid7()[14:]


def test_the_token_is_re_read_from_the_environment_then_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the exporter reads while the collector refuses its events for want of a token."""
    from autoscope.agents.config import configured_token

    config_file = tmp_path / "autoscope.toml"
    monkeypatch.setenv("AUTOSCOPE_CONFIG", str(config_file))
    assert configured_token() is None
    config_file.write_text('[agents]\ntoken = "from-file"\n')
    assert configured_token() == "from-file"
    monkeypatch.setenv("AUTOSCOPE_TOKEN", "from-env")
    assert configured_token() == "from-env"
