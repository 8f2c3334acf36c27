"""Handlers of the collector's commands: ``autoscope quarantine list | show | replay`` and
``autoscope key id | rotate`` (the pseudonym key) (parsers: autoscope/cli.py; the convention:
:mod:`autoscope.core.command_line`)."""

from __future__ import annotations

import argparse
import sys

from autoscope.core.command_line import UserError, data_dir_of, existing_data_dir


def _by_id_prefix(entries: list[dict], prefixes: list[str]) -> list[dict]:
    """The entries that ``prefixes`` name: each an id or an unambiguous start of one."""
    chosen: dict[str, dict] = {}
    for prefix in prefixes:
        matches = [e for e in entries if e["id"] == prefix] or [e for e in entries if e["id"].startswith(prefix)]
        if not matches:
            raise UserError(f"no quarantined entry has an id starting with {prefix!r} (`autoscope quarantine list`)")
        if len(matches) > 1:
            shown = ", ".join(e["id"] for e in matches[:5]) + (" …" if len(matches) > 5 else "")
            raise UserError(f"the id prefix {prefix!r} matches {len(matches)} entries ({shown}): give more of the id")
        chosen[matches[0]["id"]] = matches[0]
    return list(chosen.values())


def cmd_quarantine(args: argparse.Namespace) -> int:
    import json
    import urllib.request

    from rich.console import Console
    from rich.table import Table

    from autoscope.collector.sinks.quarantine import mark_replayed, read_quarantine

    console = Console()
    directory = existing_data_dir(args) / "quarantine"
    entries = list(read_quarantine(directory)) if directory.exists() else []
    if args.quarantine_command == "list":
        counts: dict[str, int] = {}
        table = Table(title=f"{len(entries)} quarantined in {directory}", title_justify="left")
        table.add_column("id", no_wrap=True, min_width=16)  # ids are never cut: `show` and `replay` take them
        table.add_column("received (UTC)", no_wrap=True)
        table.add_column("sender", overflow="fold")
        table.add_column("field", overflow="fold")
        table.add_column("reason", overflow="fold", ratio=1)
        table.add_column("replayed")
        for entry in entries:
            counts[entry["field"]] = counts.get(entry["field"], 0) + 1
            if args.field is None or entry["field"] == args.field:
                table.add_row(
                    entry["id"],
                    entry["received_at"][:16].replace("T", " "),
                    entry["sender"],
                    entry["field"],
                    entry["reason"][:200],
                    "yes" if entry["replayed"] else "",
                )
        console.print(table)
        console.print("by field: " + (", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none"))
        return 0
    if not args.all and not args.ids:
        raise UserError("give entry ids (or unambiguous prefixes of them), or --all")
    chosen = entries if args.all else _by_id_prefix(entries, args.ids)
    if args.quarantine_command == "show":
        for entry in chosen:
            console.print_json(json.dumps(entry))
        return 0
    replayable = [e for e in chosen if not e["replayed"] and "event" in e["payload"]]
    if not replayable:
        console.print("nothing to replay")
        return 0
    request = urllib.request.Request(
        args.url.rstrip("/") + "/v1/events",
        data=json.dumps([e["payload"]["event"] for e in replayable]).encode(),
        headers={
            "content-type": "application/json",
            **({"authorization": f"Bearer {args.token}"} if args.token else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        answer = json.load(exc)
        if "results" not in answer:
            console.print(f"[red]the collector refused the replay ({exc.code}): {answer}[/]")
            return 1
    except (urllib.error.URLError, OSError) as exc:
        console.print(f"[red]cannot reach the collector at {args.url} (--url): {exc}[/]")
        return 1
    accepted = [replayable[r["index"]]["id"] for r in answer["results"] if r["status"] == "accepted"]
    mark_replayed(directory, accepted)
    console.print(f"replayed {len(accepted)} of {len(replayable)}; the rest stay quarantined with their new reason")
    return 0


def cmd_key(args: argparse.Namespace) -> int:
    from autoscope.collector.pseudonymize import (
        PseudonymKeyError,
        key_configured,
        key_id_of,
        load_or_create_key,
        rotate_key,
    )

    data_dir = data_dir_of(args)
    try:
        if args.key_command == "rotate":
            old_id, new_id = rotate_key(data_dir)
            print(f"pseudonym key rotated: {old_id or '(none)'} -> {new_id}; restart the collector")
            if old_id:
                print(f"the old key is in {data_dir / 'keys' / 'retired'}; delete it to make the break permanent")
        else:
            # reading the id must never make a key: a fresh key in a mistyped directory would
            # look like the lab's and pseudonymize nobody the same way
            if not key_configured(data_dir):
                raise UserError(
                    f"no pseudonym key in {data_dir / 'keys'} and none configured "
                    "(AUTOSCOPE_PSEUDONYM_KEY_FILE or AUTOSCOPE_PSEUDONYM_KEY); "
                    "`autoscope key rotate` makes one"
                )
            print(key_id_of(load_or_create_key(data_dir)))
    except PseudonymKeyError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0
