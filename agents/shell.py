"""The hooks for tools that aren't Python: ``autoscope emit`` and ``autoscope run``.

``emit TYPE --field value ...`` builds one event with the same checks and defaults as the
Python hooks, sends it at once and says what became of it:

* exit 0: accepted, or the collector is unreachable and the event is in the local spool (it
  is re-sent by the next ``autoscope`` command or hooked process using the same spool);
* exit 1: the collector rejected it (the message names the field and the reason), or refused
  it for want of a valid token (the message says which variable to set; the event is kept in
  the spool and re-sent by the next command that has one);
* exit 2: a bad command line or value (the message names the field).

``run --designed-by ai --accelerators 8 --accelerator-type h100 -- CMD ...`` runs CMD,
passes its exit code through (128+N when killed by signal N) and reports an ``experiment``
with ``accelerator_hours`` = wall time × accelerators. The contract has no outcome for
experiments, and the compute was spent either way, so every run is reported, and a run that
failed has ``:failed`` appended to its purpose (``ablation`` → ``ablation:failed``; the
default purpose is ``run``). With ``--human-minutes``, the run is also reported as a task
(category ``experiment_run``, rung ``experiments``, outcome ``success``/``failure``, executor
= designed_by, task_id = experiment_id), which is where the indicators read outcomes.

Everything here imports only the hooks: it runs in the base install.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from autoscope.agents import events as ev
from autoscope.agents import hooks, runtime, semconv, tasks
from autoscope.agents.config import Settings
from autoscope.agents.delivery import spool_line
from autoscope.agents.event_ids import uuid7
from autoscope.agents.spool import spool_for
from autoscope.agents.transport import Refused, Reply, Transport, make_transport

ENVELOPE = ("team", "actor", "occurred_at", "event_id", "tool")


class UsageError(ValueError):
    """A bad command line; the message names the field."""


def field_types(type_: str) -> dict[str, str]:
    types = {name: kind for name, kind, _ in semconv.FIELDS[type_]}
    types.update(dict.fromkeys(ENVELOPE, "string"))
    return types


def _convert(type_: str, name: str, kind: str, value: Any) -> Any:
    """``value`` (text from the command line, or JSON) as the field's type."""
    try:
        if kind == "string[]":
            if isinstance(value, str):
                return [part for part in value.split(",") if part]
            return [str(v) for v in value]
        if isinstance(value, str) and kind == "boolean":
            if value.lower() not in ("true", "false"):
                raise ValueError("must be true or false")
            return value.lower() == "true"
        if isinstance(value, str) and kind in ("double", "int"):
            number = float(value)
            if kind == "int" or number.is_integer() and "." not in value and "e" not in value.lower():
                if not number.is_integer():
                    raise ValueError("must be a whole number")
                return int(number)
            return number
        return value
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{type_}: {name}={value!r}: {exc}") from None


def _take_options(args: Sequence[str], names: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """The command's own options given after TYPE (argparse leaves them among the fields)."""
    rest: list[str] = []
    options: dict[str, str] = {}
    index = 0
    while index < len(args):
        arg = args[index]
        name, equals, value = arg[2:].partition("=") if arg.startswith("--") else ("", "", "")
        if name.replace("-", "_") in names and (equals or index + 1 < len(args)):
            if not equals:
                index += 1
                value = args[index]
            options[name.replace("-", "_")] = value
        else:
            rest.append(arg)
        index += 1
    return rest, options


def parse_fields(type_: str, args: Sequence[str], given: dict[str, Any] | None = None) -> dict[str, Any]:
    """``--human-minutes 30 --tags a --tags b`` (or ``--name=value``) → typed values,
    on top of ``given`` (from ``--json``)."""
    types = field_types(type_)
    values: dict[str, Any] = {}
    for name, value in (given or {}).items():
        if name in ("type", "schema_version"):
            continue
        if name == "source" and isinstance(value, dict):
            values["tool"] = value.get("tool", values.get("tool"))
            continue
        if name not in types:
            raise UsageError(f"{type_}: unknown field {name!r}; fields: {', '.join(types)}")
        values[name] = _convert(type_, name, types[name], value)
    index = 0
    while index < len(args):
        arg = args[index]
        if not arg.startswith("--"):
            raise UsageError(f"{type_}: expected --FIELD VALUE, got {arg!r}")
        name, equals, value = arg[2:].partition("=")
        name = name.replace("-", "_")
        if not equals:
            if index + 1 >= len(args):
                raise UsageError(f"{type_}: --{name.replace('_', '-')} needs a value")
            index += 1
            value = args[index]
        index += 1
        if name not in types:
            raise UsageError(f"{type_}: unknown field {name!r}; fields: {', '.join(types)}")
        converted = _convert(type_, name, types[name], value)
        if types[name] == "string[]" and name in values:
            converted = list(values[name]) + converted
        values[name] = converted
    return values


def build_event(type_: str, values: dict[str, Any]) -> dict[str, Any]:
    """The event, with the Python hooks' defaults and checks; raises UsageError naming the field."""
    values = dict(values)
    envelope = {k: values.pop(k) for k in ENVELOPE if k in values}
    with runtime.capturing() as built:
        _build_into(type_, values, envelope)
    return built[0]


def _build_into(type_: str, values: dict[str, Any], envelope: dict[str, Any]) -> None:
    try:
        if type_ == "task":
            if "duration_s" not in values:
                raise UsageError("task: --duration-s is required (the seconds the task took)")
            outcome = values.pop("outcome", "success")
            category = values.pop("category", None)
            if category is None:
                raise UsageError("task: --category is required")
            if "human_minutes" not in values:
                raise UsageError("task: --human-minutes is required")
            handle = tasks.TaskHandle(
                {
                    "category": category,
                    "executor": values.pop("executor", None),
                    "autonomy": values.pop("autonomy", "supervised"),
                    "role": values.pop("role", "engineer"),
                    "rung": values.pop("rung", "engineering"),
                    "human_minutes": values.pop("human_minutes"),
                    "family": values.pop("family", None),
                    "model": values.pop("model", None),
                    "size_source": values.pop("size_source", None),
                },
                envelope,
                values.pop("task_id", None),
                values.pop("duration_s"),
            )
            handle._started_at = ev.now()
            tasks._finish_task.__wrapped__(handle, outcome)  # type: ignore[attr-defined]
        else:
            hook = getattr(hooks, type_).__wrapped__
            hook(**values, **envelope)
    except TypeError as exc:
        raise UsageError(f"{type_}: {_missing(exc)}") from None
    except ValueError as exc:
        raise UsageError(f"{type_}: {exc}") from None


def _missing(exc: TypeError) -> str:
    text = str(exc)
    if "required" in text and "argument" in text:
        names = re.findall(r"'(\w+)'", text.split("argument", 1)[1])
        return "missing field(s): " + ", ".join(f"--{n.replace('_', '-')}" for n in names)
    return text


def send_now(event: dict[str, Any], settings: Settings, timeout_s: float) -> tuple[str, str]:
    """Send one event at once: ("sent", ""), ("rejected", reason), ("spooled", why) when the
    collector does not answer, or ("held", why) when it refuses the event for want of a valid
    token (or is not a collector): kept in the spool either way, re-sent by the next command.
    Retryable answers are retried (honouring Retry-After) until ``settings.spool_after_s``."""
    try:
        transport, _ = make_transport(settings)
    except ValueError as exc:
        return "rejected", str(exc)
    try:
        reply = _send_patiently(transport, event, settings, timeout_s)
    finally:
        transport.close()
    if reply is None:
        return "sent", ""
    if not reply.retry and reply.refused not in (Refused.UNAUTHORIZED, Refused.MISDIRECTED):
        return "rejected", reply.detail or "rejected"
    written = spool_for(settings).write([spool_line(event)])
    if not written:
        return "rejected", f"{reply.detail}, and the spool is full"
    if reply.refused is Refused.UNAUTHORIZED:
        return "held", (
            f"the collector refused it ({reply.detail}); set AUTOSCOPE_TOKEN (or "
            "--token) to a token with the ingest scope"
        )
    if reply.refused is Refused.MISDIRECTED:
        return "held", (
            f"{settings.collector_url} does not take Autoscope events ({reply.detail}); "
            "check AUTOSCOPE_COLLECTOR_URL (or --collector-url)"
        )
    return "spooled", reply.detail


def _send_patiently(transport: Transport, event: dict[str, Any], settings: Settings, timeout_s: float) -> Reply | None:
    """Send ``event``, retrying retryable answers (honouring Retry-After) until
    ``settings.spool_after_s``; None when it was accepted, else the last answer."""
    deadline = time.monotonic() + min(settings.spool_after_s, timeout_s)
    delay = 0.25
    while True:
        reply = transport.send([event])
        if not reply.retry:
            accepted = reply.refused is None and not reply.rejected
            return None if accepted else reply
        wait = reply.retry_after_s if reply.retry_after_s is not None else delay
        if time.monotonic() + wait > deadline:
            return reply
        time.sleep(wait)
        delay = min(delay * 2, 2.0)


def deliver(event: dict[str, Any], timeout_s: float, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Send ``event``, say what became of it, and send what earlier runs left in the spool."""
    settings = runtime.current().settings
    status, detail = send_now(event, settings, timeout_s)
    if status == "rejected":
        print(f"autoscope: the collector rejected the {event['type']} event: {detail}", file=err)
        return 1
    if status == "held":  # not delivered, and it will not be until the configuration is fixed
        print(
            f"autoscope: {detail}; {event['event_id']} is kept in the spool {settings.spool_dir} "
            "and re-sent by the next autoscope command that can deliver it",
            file=err,
        )
        return 1
    if status == "spooled":
        print(
            f"autoscope: {detail}; {event['event_id']} is spooled in "
            f"{settings.spool_dir} and will be re-sent by the next autoscope command",
            file=err,
        )
        return 0
    print(event["event_id"], file=out)
    runtime.flush(timeout_s)  # the collector answers: re-send what earlier runs spooled
    return 0


def configure_for_cli(collector_url: str | None = None, token: str | None = None, transport: str | None = None) -> None:
    runtime.configure(
        collector_url=collector_url,
        token=token,
        transport=transport,
        spool_after_s=min(runtime.load_settings().spool_after_s, 2.0),
    )


def emit_command(
    type_: str | None,
    fields: Sequence[str],
    *,
    json_text: str | None = None,
    collector_url: str | None = None,
    token: str | None = None,
    transport: str | None = None,
    timeout_s: float = 10.0,
) -> int:
    """``autoscope emit``; the exit code (see the module's docstring)."""
    try:
        fields, options = _take_options(
            fields, ("collector_url", "token", "transport", "timeout", "json", "data_dir")
        )  # the CLI's global option: accepted, unused
        collector_url = options.get("collector_url", collector_url)
        token = options.get("token", token)
        transport = options.get("transport", transport)
        json_text = options.get("json", json_text)
        timeout_s = float(options.get("timeout", timeout_s))
        given: dict[str, Any] | None = None
        if json_text is not None:
            given = json.loads(sys.stdin.read() if json_text == "-" else json_text)
            if not isinstance(given, dict):
                raise UsageError("--json must be one JSON object")
            type_ = type_ or given.get("type")
            if given.get("type", type_) != type_:
                raise UsageError(f"--json has type {given.get('type')!r}, the command line {type_!r}")
        if type_ not in semconv.FIELDS:
            given_type = "no event type given" if type_ is None else f"unknown event type {type_!r}"
            raise UsageError(f"{given_type}: one of {', '.join(semconv.FIELDS)} (autoscope emit TYPE --help)")
        configure_for_cli(collector_url, token, transport)
        event = build_event(type_, parse_fields(type_, fields, given))
    except (UsageError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        print(f"autoscope emit: error: {exc}", file=sys.stderr)
        return 2
    return deliver(event, timeout_s)


def run_command(
    command: Sequence[str],
    *,
    designed_by: str,
    accelerators: float,
    accelerator_type: str,
    purpose: str | None = None,
    experiment_id: str | None = None,
    flops: float | None = None,
    human_minutes: float | None = None,
    collector_url: str | None = None,
    token: str | None = None,
    transport: str | None = None,
    timeout_s: float = 10.0,
) -> int:
    """``autoscope run``: CMD's exit code, after reporting the run (see the module's docstring)."""
    command = list(command[1:] if command and command[0] == "--" else command)
    if not command:
        print("autoscope run: error: no command given (autoscope run ... -- CMD ...)", file=sys.stderr)
        return 2
    if designed_by not in ev.EXECUTORS or accelerators < 0:
        print(
            f"autoscope run: error: --designed-by must be one of {', '.join(ev.EXECUTORS)} and "
            "--accelerators not negative",
            file=sys.stderr,
        )
        return 2
    configure_for_cli(collector_url, token, transport)
    started_at = ev.now()
    started = time.monotonic()
    try:
        child = subprocess.Popen(command)
    except OSError as exc:
        print(f"autoscope run: cannot run {command[0]!r}: {exc}", file=sys.stderr)
        return 127
    forwarded = {}

    def forward(signum: int, _frame: Any) -> None:
        child.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None:
            try:
                forwarded[signum] = signal.signal(signum, forward)
            except ValueError:  # not the main thread
                pass
    try:
        code = child.wait()
    finally:
        for signum, previous in forwarded.items():
            signal.signal(signum, previous)
    wall_s = time.monotonic() - started
    exit_code = 128 - code if code < 0 else code
    failed = exit_code != 0
    experiment_id = experiment_id or uuid7()
    base = purpose or "run"
    values: dict[str, Any] = {
        "experiment_id": experiment_id,
        "designed_by": designed_by,
        "accelerator_hours": wall_s / 3600.0 * accelerators,
        "accelerator_type": accelerator_type,
        "purpose": f"{base}:failed" if failed else base,
        "occurred_at": started_at,
    }
    if flops is not None:
        values["flops"] = flops
    reports = []
    try:
        reports.append(build_event("experiment", values))
        if human_minutes is not None:
            reports.append(
                build_event(
                    "task",
                    {
                        "category": "experiment_run",
                        "rung": "experiments",
                        "executor": designed_by,
                        "human_minutes": human_minutes,
                        "duration_s": wall_s,
                        "task_id": experiment_id,
                        "outcome": "failure" if failed else "success",
                        "occurred_at": started_at,
                    },
                )
            )
    except UsageError as exc:
        print(f"autoscope run: not reported: {exc}", file=sys.stderr)
        return exit_code
    for event in reports:
        deliver(event, timeout_s, out=io.StringIO())  # never add to the command's output
    return exit_code


# ---------------------------------------------------------------- the command handlers
# ``autoscope emit | run | git …`` (parsers: autoscope/cli.py; the convention:
# autoscope.core.command_line): the hooks' commands, runnable in the hooks-only install.


def cmd_emit(args: argparse.Namespace) -> int:
    if "-h" in args.fields or "--help" in args.fields:
        return _emit_help(args)
    return emit_command(
        args.type,
        args.fields,
        json_text=args.json,
        collector_url=args.collector_url,
        token=args.token,
        transport=args.transport,
        timeout_s=args.timeout,
    )


def _emit_help(args: argparse.Namespace) -> int:
    """``emit TYPE --help``: the command's help, then the fields of TYPE (or of every type)."""
    args.emit_parser.print_help()
    types = [args.type] if args.type in semconv.FIELDS else list(semconv.FIELDS)
    if args.type and args.type not in semconv.FIELDS:
        print(f"\nunknown event type {args.type!r}; the types and their fields:")
    for type_ in types:
        fields = ", ".join(
            f"--{name.replace('_', '-')}{'' if required else ' (optional)'}"
            for name, _, required in semconv.FIELDS[type_]
        )
        print(f"\n{type_}: {fields}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    return run_command(
        args.cmd,
        designed_by=args.designed_by,
        accelerators=args.accelerators,
        accelerator_type=args.accelerator_type,
        purpose=args.purpose,
        experiment_id=args.experiment_id,
        flops=args.flops,
        human_minutes=args.human_minutes,
        collector_url=args.collector_url,
        token=args.token,
        transport=args.transport,
        timeout_s=args.timeout,
    )


def cmd_git(args: argparse.Namespace) -> int:
    from autoscope.agents import git_hooks

    if args.git_command == "install-hook":
        return git_hooks.install_command(args.repo, args.team)
    if args.git_command == "post-commit":
        return git_hooks.post_commit_command(args.repo, args.team)
    return git_hooks.scan_command(
        args.path,
        since=args.since,
        rev=args.rev,
        include_merges=args.include_merges,
        dry_run=args.dry_run,
        explain_=args.explain,
        team=args.team,
        team_map=args.team_map,
        branch=args.default_branch,
        survival=args.survival,
        collector_url=args.collector_url,
        token=args.token,
        transport=args.transport,
        timeout_s=args.timeout,
    )
