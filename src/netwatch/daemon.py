"""`netwatch run`: start the services in one nursery, run the cycle, stop cleanly on a signal."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TextIO

import trio

from netwatch.cycle_stats import CycleStatsWriter
from netwatch.delivery import PrintingSender, Sender
from netwatch.http import NetwatchMetrics, PollObserver, run_web
from netwatch.icmp import Pinger
from netwatch.inventory import Inventory, InventoryError, load_inventory
from netwatch.monitor import Monitor
from netwatch.notifier import Notifier
from netwatch.paging import MailOnlyService, open_mail_channel, open_paging_sender
from netwatch.poller import NetworkProber, Prober
from netwatch.resolver import Resolver
from netwatch.snmp.client import SnmpClient
from netwatch.store import Store, claim_store, open_store
from netwatch.store.alert_state import AlertStateStore, state_db_path
from netwatch.workers import ShardedProber, poll_rate, worker_count

log = logging.getLogger("netwatch")


def make_sender(
    inventory: Inventory,
    dry_run_stream: TextIO | None = None,
    notifier: Notifier | None = None,
    state_db: Path | None = None,
) -> Sender:
    # mail recipients follow the routing rules the notifier has in force (reload included)
    plan = (lambda: notifier.plan) if notifier is not None else None
    if inventory.routing_key is None:
        printer = PrintingSender(dry_run_stream)
        email = inventory.email
        if email is not None and email.always:
            # e-mail is the only channel: its queue lives in the store, as the outbox does
            store = open_store(state_db or state_db_path(inventory))
            mail = open_mail_channel(inventory, plan=plan, store=store)
            assert mail is not None
            return MailOnlyService(printer, mail)
        return printer
    return open_paging_sender(inventory, plan=plan)


def make_notifier(inventory: Inventory) -> Notifier:
    return Notifier.for_inventory(inventory)


def poll_workers_for(inventory: Inventory) -> int:
    return worker_count(
        inventory.settings.poll_workers,
        polls_per_s=poll_rate(inventory.devices, inventory.settings.interval),
        cpus=len(os.sched_getaffinity(0)),
    )


async def start_polling(
    nursery: trio.Nursery, inventory: Inventory, wall_clock: Callable[[], float]
) -> tuple[Prober, ShardedProber | None]:
    """The prober: in this process, or over poll worker processes for a large inventory."""
    workers = poll_workers_for(inventory)
    if workers > 1:
        sharded = ShardedProber(inventory.devices, workers, dns_cache=inventory.settings.dns_cache)
        await nursery.start(sharded.run)
        return sharded, sharded
    pinger = Pinger()
    snmp = SnmpClient()
    await nursery.start(pinger.run)
    await nursery.start(snmp.run)
    resolver = Resolver(cache_for=inventory.settings.dns_cache)
    return NetworkProber(pinger, snmp, wall_clock=wall_clock, resolver=resolver), None


async def run_daemon(
    inventory: Inventory,
    *,
    dry_run_stream: TextIO | None = None,
    wall_clock: Callable[[], float] = time.time,
    cycle_stats: Path | None = None,
    state_db: Path | None = None,
    on_listening: Callable[[str], None] | None = None,
    reload_requested: Callable[[], bool] = lambda: False,
    task_status: trio.TaskStatus[Monitor] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run until cancelled or until SIGINT/SIGTERM. With `cycle_stats`, append one JSON line
    per cycle to that file. `reload_requested`: whether a SIGHUP came before this started (while
    the inventory was loading); the inventory is then re-read once the daemon runs."""
    monitor: Monitor | None = None
    sharded: ShardedProber | None = None
    reload_once_started = False
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        async with trio.open_nursery() as nursery:

            async def reload(monitor: Monitor) -> None:
                on_accepted = None if sharded is None else sharded.use_inventory
                await reload_inventory(monitor, on_accepted=on_accepted)

            async def handle_signals() -> None:
                nonlocal reload_once_started
                async for signum in signals:
                    if signum == signal.SIGHUP:
                        if monitor is not None:
                            await reload(monitor)
                        elif not reload_once_started:
                            # A large inventory and poll workers take seconds to start; the
                            # edit the operator signalled must not be lost in the meantime.
                            reload_once_started = True
                            log.info("SIGHUP while starting: the inventory is re-read once started")
                        continue
                    log.info("received %s, stopping", signal.Signals(signum).name)
                    nursery.cancel_scope.cancel()
                    return

            nursery.start_soon(handle_signals)
            # before anything reads the store: what its outbox and mail queue hold is ours
            nursery.start_soon(_close_on_exit, claim_store(state_db or state_db_path(inventory)))
            notifier = make_notifier(inventory)
            sender = make_sender(inventory, dry_run_stream, notifier, state_db)
            polling, sharded = await start_polling(nursery, inventory, wall_clock)
            await nursery.start(sender.run)
            if inventory.routing_key is None:
                log.warning("no PagerDuty routing key configured: events are printed, not sent")
            metrics = NetwatchMetrics()
            prober = PollObserver(polling, on_duration=metrics.poll_duration.observe)
            store = open_store(state_db or state_db_path(inventory))
            nursery.start_soon(_close_store_on_exit, store)
            alert_store = AlertStateStore(store)
            monitor = Monitor(
                inventory,
                prober,
                sender,
                notifier=notifier,
                wall_clock=wall_clock,
                alert_store=alert_store,
            )
            if reload_once_started or reload_requested():
                nursery.start_soon(reload, monitor)
            if cycle_stats is not None:
                stats_writer = CycleStatsWriter(
                    cycle_stats, workers=sharded.usage if sharded is not None else lambda: ()
                )
                nursery.start_soon(_close_on_exit, stats_writer)
                monitor.on_cycle(stats_writer.on_cycle)
            log.info(
                "netwatch started: %d devices, every %ss, inventory %s",
                len(inventory.devices),
                f"{inventory.settings.interval:g}",
                inventory.source,
            )
            if inventory.http.enabled:
                web = partial(
                    run_web, inventory, monitor, sender, observer=prober, history=alert_store
                )
                url = await nursery.start(
                    partial(web, metrics=metrics, store=store, wall_clock=wall_clock)
                )
                if on_listening is not None:
                    on_listening(url)
            await nursery.start(monitor.run)
            task_status.started(monitor)
    log.info("netwatch stopped")


async def _close_on_exit(closeable: CycleStatsWriter | TextIO) -> None:
    try:
        await trio.sleep_forever()
    finally:
        closeable.close()


async def _close_store_on_exit(store: Store) -> None:
    try:
        await trio.sleep_forever()
    finally:
        store.close()


async def reload_inventory(
    monitor: Monitor, *, on_accepted: Callable[[Inventory], None] | None = None
) -> bool:
    """Re-read the inventory file. A valid file takes effect at the next cycle and keeps every
    device's alert state; a broken one is logged and changes nothing. Parsed in a thread: a
    large inventory takes seconds, and polls in flight must not wait for it. `on_accepted`
    sees a valid one before the monitor does (the poll workers need their new devices first)."""
    current = monitor.inventory
    try:
        fresh = await trio.to_thread.run_sync(
            load_inventory, current.source, abandon_on_cancel=True
        )
    except InventoryError as exc:
        log.error("reload of %s rejected, still running the previous inventory:", current.source)
        for problem in exc.problems:
            log.error("  %s", problem)
        return False
    if fresh.routing_key != current.routing_key or fresh.pagerduty != current.pagerduty:
        log.warning("[pagerduty] changed: takes effect at the next restart")
        fresh = replace(fresh, routing_key=current.routing_key, pagerduty=current.pagerduty)
    if fresh.settings.interval != current.settings.interval:
        log.warning("[netwatch] interval changed: takes effect at the next restart")
    if fresh.settings.poll_workers != current.settings.poll_workers:
        log.warning("[netwatch] poll_workers changed: takes effect at the next restart")
    if on_accepted is not None:
        on_accepted(fresh)
    monitor.inventory = fresh
    log.info("reloaded %s: %d devices", fresh.source, len(fresh.devices))
    return True
