"""The `netwatch` command."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections import Counter
from functools import partial
from pathlib import Path

import trio

from netwatch import __version__
from netwatch.gc_tuning import tune_for_polling
from netwatch.inventory import DeviceConfig, Inventory, InventoryError, load_inventory
from netwatch.logformat import use_json_logs

DEFAULT_CONFIG = Path("devices.toml")
SUMMARY_SHOWN = 12  # check-config's summary lists the largest profiles, sites and parents

log = logging.getLogger("netwatch")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="netwatch", description=__doc__)
    parser.add_argument("--version", action="version", version=f"netwatch {__version__}")
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every poll (debug)")
    parser.add_argument(
        "--log-format", default="text", choices=["text", "json"], help="json: one object a line"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the monitoring daemon")
    run.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    run.add_argument(
        "--cycle-stats",
        type=Path,
        metavar="FILE",
        help="append one JSON line per poll cycle (timing, losses, CPU, memory) to FILE",
    )

    check = commands.add_parser("check-config", help="validate an inventory and summarise it")
    check.add_argument("config", type=Path, nargs="?", default=None)
    # --config as in every other command; the positional stays for existing scripts
    check.add_argument("--config", dest="config_option", type=Path, default=None)

    show = commands.add_parser("show-device", help="print a device's resolved settings")
    show.add_argument("device_id")
    show.add_argument("--config", type=Path, default=DEFAULT_CONFIG)

    ack = commands.add_parser("ack", help="acknowledge a device's open PagerDuty incident")
    ack.add_argument("device_id")
    ack.add_argument("--note", help="why / who has it (kept in the alert's log)")
    ack.add_argument("--config", type=Path, default=DEFAULT_CONFIG)

    history = commands.add_parser("history", help="print a device's incident history")
    history.add_argument("device_id")
    history.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    history.add_argument("--limit", type=int, default=20, help="newest N incidents")
    history.add_argument("--json", action="store_true", help="JSON instead of text")

    status = commands.add_parser("status", help="what the NOC page shows, as a table")
    status.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    status.add_argument("--url", help="the daemon's web address (default: from [http])")

    oncall = commands.add_parser("oncall", help="who is on call now and next (PagerDuty)")
    oncall.add_argument("--config", type=Path, default=DEFAULT_CONFIG)

    from netwatch.poll_command import add_poll_parser

    add_poll_parser(commands, DEFAULT_CONFIG)

    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else getattr(logging, args.log_level.upper())
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", stream=sys.stderr
    )
    if args.log_format == "json":
        use_json_logs()
    # pysnmp and httpx log every datagram and request at debug; keep ours readable.
    for noisy in ("pysnmp", "httpx", "httpcore", "hpack"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))

    if args.command == "run":
        return _run(args.config, args.cycle_stats, json_logs=args.log_format == "json")
    if args.command == "check-config":
        if args.config and args.config_option and args.config != args.config_option:
            parser.error("check-config: give the inventory once (PATH or --config PATH)")
        return _check_config(args.config_option or args.config or DEFAULT_CONFIG)
    if args.command == "show-device":
        return _show_device(args.config, args.device_id)
    if args.command in ("status", "oncall"):
        return _status_or_oncall(args)
    if args.command == "ack":
        return _ack(args.config, args.device_id, args.note)
    if args.command == "poll":
        from netwatch.poll_command import run_poll

        return run_poll(args)
    if args.command == "history":
        return _history(args.config, args.device_id, args.limit, args.json)
    return 2


def _status_or_oncall(args: argparse.Namespace) -> int:
    from netwatch.status_cli import run_oncall, run_status

    inventory = _load(args.config)
    if inventory is None:
        return 2
    if args.command == "status":
        return run_status(inventory, args.url)
    return run_oncall(inventory)


def _load(path: Path, *, to_log: bool = False) -> Inventory | None:
    """The inventory, or None after saying what is wrong with it: on stderr for people, or as
    log records (`to_log`) where the daemon's logs are parsed, so one line is one record."""
    try:
        inventory = load_inventory(path)
    except InventoryError as exc:
        if to_log:
            for problem in exc.problems:
                log.error("%s", problem)
            log.error("%s: %d problem(s); not starting", path, len(exc.problems))
            return None
        print(f"netwatch: {path}: {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None
    for warning in inventory.warnings:
        if to_log:
            log.warning("%s", warning)
        else:
            print(f"warning: {warning}", file=sys.stderr)
    return inventory


def _run(path: Path, cycle_stats: Path | None = None, *, json_logs: bool = False) -> int:
    from netwatch.daemon import run_daemon
    from netwatch.icmp.sockets import IcmpPermissionError
    from netwatch.store import StoreOpenError
    from netwatch.workers import WorkerStartError

    # SIGHUP's default action ends the process, and loading 50,000 devices takes seconds: a
    # `systemctl reload` then must not kill the daemon, only be carried out once it runs.
    hangups: list[int] = []
    signal.signal(signal.SIGHUP, lambda signum, _frame: hangups.append(signum))
    inventory = _load(path, to_log=json_logs)
    if inventory is None:
        return 2
    tune_for_polling()
    refused: BaseException | None = None
    try:
        trio.run(
            partial(
                run_daemon,
                inventory,
                cycle_stats=cycle_stats,
                reload_requested=lambda: bool(hangups),
            )
        )
    except* (IcmpPermissionError, StoreOpenError, WorkerStartError) as group:
        # It reaches us wrapped in the daemon nursery's ExceptionGroup.
        refused = group
        while isinstance(refused, BaseExceptionGroup):
            refused = refused.exceptions[0]
    if refused is not None:
        print(f"netwatch: {refused}", file=sys.stderr)
        return 1
    return 0


def _check_config(path: Path) -> int:
    inventory = _load(path)
    if inventory is None:
        return 2
    devices = inventory.devices
    print(f"{path}: OK, {len(devices)} device{'' if len(devices) == 1 else 's'}")
    for title, counts, unit in (
        ("by profile", Counter(d.profile for d in devices), ""),
        ("by site", Counter(d.site or "(no site)" for d in devices), ""),
        ("parents", Counter(d.parent for d in devices if d.parent is not None), " behind"),
    ):
        if counts:
            print(f"  {title}: {_largest_first(counts, unit)}")
    print(f"  paging: {paging_mode(inventory)}")
    if inventory.warnings:
        print(f"  {len(inventory.warnings)} warning(s), see above")
    return 0


def _largest_first(counts: Counter[str], unit: str) -> str:
    shown = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:SUMMARY_SHOWN]
    more = len(counts) - len(shown)
    listed = ", ".join(f"{name} ({n}{unit})" for name, n in shown)
    return listed + (f", and {more} more" if more else "")


def paging_mode(inventory: Inventory) -> str:
    email = inventory.email
    by_mail = email is not None and email.always
    if inventory.routing_key is None:
        return "e-mail only (no routing key)" if by_mail else "dry run (no routing key)"
    if email is None:
        return "PagerDuty"
    return "PagerDuty and e-mail" if by_mail else "PagerDuty, e-mail as fallback"


def _show_device(path: Path, device_id: str) -> int:
    inventory = _load(path)
    if inventory is None:
        return 2
    device = inventory.by_id().get(device_id)
    if device is None:
        print(f"netwatch: no device {device_id!r} in {path}", file=sys.stderr)
        return 1
    print(describe_device(device))
    return 0


def _ack(path: Path, device_id: str, note: str | None) -> int:
    import time

    from netwatch.paging import AcknowledgeRefused, request_acknowledge

    inventory = _load(path)
    if inventory is None:
        return 2
    try:
        request_acknowledge(inventory, device_id, note, time.time())
    except AcknowledgeRefused as exc:
        print(f"netwatch: {exc}", file=sys.stderr)
        return 1
    print(f"{device_id}: acknowledge queued; the daemon sends it (now, or when it next starts)")
    return 0


def _history(path: Path, device_id: str, limit: int, as_json: bool) -> int:
    from netwatch.history_cli import show_history

    inventory = _load(path)
    if inventory is None:
        return 2
    return show_history(inventory, device_id, limit=limit, as_json=as_json, out=sys.stdout)


def describe_device(device: DeviceConfig) -> str:
    """Resolved settings as JSON, secrets masked (pydantic prints SecretBytes as '**********')."""
    return device.model_dump_json(indent=2)


if __name__ == "__main__":
    sys.exit(main())
