"""`punchgate serve`: the service with its API and workers, on one store."""

from __future__ import annotations

from collections.abc import Callable

import typer

from collector.cli.common import console, setup_logging
from collector.days import DaysWorker
from collector.fleet import JOB_DAYS_CLOSE, JOB_RETENTION, FleetMember, Role, parse_roles
from collector.fleet.roles import RolesError, push_only
from collector.mqtt.workers import mqtt_workers
from collector.outbound.worker import OutboxWorker
from collector.poller.worker import TerminalPollerWorker
from collector.retention import RetentionWorker
from collector.runtime import Store, open_store, utcnow
from collector.service import ASGIApp, Service, WebApp, Worker
from collector.settings import get_settings

ROLES_HELP = (
    "Comma-separated parts this process runs: api, poller, mqtt, push, days, outbox,"
    " retention (default: PUNCHGATE_ROLES, else all). Several processes may run any role"
    " (docs/fleet.md)."
)


def serve_command(web: WebApp) -> Callable[..., None]:
    """The `serve` command, serving the API that `web` builds on the command's store."""

    def serve(
        host: str | None = typer.Option(None, help="Address to listen on (default from settings)."),
        port: int | None = typer.Option(None, help="Port to listen on (default from settings)."),
        roles: str | None = typer.Option(None, help=ROLES_HELP),
    ) -> None:
        """Run the service: migrate, apply the configuration, serve the API, run the workers."""
        settings = get_settings()
        try:
            chosen = parse_roles(roles or settings.roles)
        except RolesError as exc:
            raise typer.BadParameter(str(exc), param_hint="--roles") from None
        setup_logging(settings)
        # The one store of the process: the API and every worker share its pool.
        store = open_store(settings)
        try:
            member = FleetMember(
                store.engine, node_id=settings.node_id, roles=chosen, lease_s=settings.lease_s
            )
            # The member starts first and stops last: it gives the leases up after the rest.
            parts = [member, *workers(store, chosen, member)]
            service = Service(http_app(web, store, chosen), parts)
            bind_host, bind_port = host or settings.api_host, port or settings.api_port
            # Serving creates and migrates a missing database: say which one it is.
            where = (
                f"on http://{bind_host}:{bind_port}" if service.app is not None else "without HTTP"
            )
            console.print(
                f"punchgate serving {where} (database {settings.database_url_safe()})"
                f" as {member.node_id}: {','.join(sorted(chosen))}"
            )
            service.run(host=bind_host, port=bind_port)
        finally:
            store.close()

    return serve


def http_app(web: WebApp, store: Store, roles: frozenset[Role]) -> ASGIApp | None:
    """The whole API (api role), only the push endpoints (push without api), or nothing."""
    if Role.API in roles:
        return web(store)
    if Role.PUSH in roles:
        # The push endpoints live in the API app; a push-only node serves that app
        # narrowed to them, so there is one implementation of /iclock and /hik.
        return push_only(web(store))
    return None


def workers(store: Store, roles: frozenset[Role], member: FleetMember) -> list[Worker]:
    """The background workers of `roles`, each aware of the fleet's leases."""
    settings = store.settings
    out: list[Worker] = []
    if Role.POLLER in roles:
        out.append(TerminalPollerWorker(store, member=member))
    if Role.DAYS in roles:
        out.append(
            DaysWorker(
                store.engine,
                clock=utcnow,
                interval_s=settings.days_interval_s,
                lookback_days=settings.days_lookback,
                may_close=lambda: member.holds(JOB_DAYS_CLOSE),
            )
        )
    if Role.RETENTION in roles:
        out.append(
            RetentionWorker(
                store.engine,
                days=settings.location_retention_days,
                dismissed_days=settings.quarantine_dismissed_retention_days,
                outbox_days=settings.outbox_retention_days,
                clock=utcnow,
                may_run=lambda: member.holds(JOB_RETENTION),
            )
        )
    if Role.OUTBOX in roles and settings.outbox_enabled:
        out.append(OutboxWorker(store))
    if Role.MQTT in roles:
        out += mqtt_workers(store, node_id=member.node_id)
    return out
