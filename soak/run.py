"""The soak: start everything, drive traffic, inject faults on a schedule, drain, compare."""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from collector.apikeys import Role, create_key
from collector.runtime import utcnow
from collector.settings import Settings
from collector.store.db import make_engine, make_sessionmaker
from devices.mobile.topics import Topics
from soak.agent import AGENT_OPTIONS, AgentProcess, backlog, create
from soak.configfile import write_config
from soak.ledger import Comparison, compare
from soak.monitor import Fault, Monitor, StoreReader, SysWatch
from soak.procs import Children, Mosquitto, Postgres, ServiceProcess
from soak.sources import TZ, Plan, Sources
from soak.vendors import VendorFaults


@dataclass
class Options:
    """Command-line choices."""

    duration: float = 600.0
    pg_down_s: float | None = None  # default: 30 s, or 10 s for runs under five minutes
    drain_timeout_s: float = 300.0
    stall_s: float = 90.0
    keep: bool = False  # keep the temp dir (logs) after the run
    readers: list[str] = field(default_factory=lambda: ["/health", "/punches?limit=20"])
    api_key: str | None = None
    plan: Plan = field(default_factory=Plan)


def exit_status(cmp: Comparison, problems: list[str], unexpected_exits: int) -> int:
    """The soak's exit status: 0 only if every ledger entry is stored once and nothing failed."""
    return 0 if cmp.ok and not problems and unexpected_exits == 0 else 1


class Soak:
    """One soak run; `run()` returns the report and the exit status."""

    def _reader_key(self) -> str:
        """An hr API key in the soak's own database, for the API readers."""
        engine = make_engine(self.pg.url)
        try:
            with make_sessionmaker(engine).begin() as session:
                return create_key(session, name="soak readers", role=Role.HR, now=utcnow()).token
        finally:
            engine.dispose()

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.tmp = Path(tempfile.mkdtemp(prefix="punchgate-soak-"))
        self.children = Children()
        self.pg = Postgres(self.tmp, self.children)
        self.broker = Mosquitto(self.tmp, self.children)
        self.sources = Sources(opts.plan)
        self.topics = Topics(root="soak/v1")
        self.service: ServiceProcess | None = None
        self.monitor: Monitor | None = None
        self.sys: SysWatch | None = None
        self.checks: dict[str, Any] = {}
        self.problems: list[str] = []
        self.expected_down = threading.Event()  # the soak itself took the service down
        self.pg_up = True
        self.unexpected_exits = 0
        self.offline: set[str] = set()
        self.drops: list[tuple[Fault, list[str]]] = []  # faults that armed drop switches
        self.vendor_faults: VendorFaults | None = None
        self.agent: AgentProcess | None = None
        self.agent_down = threading.Event()  # the soak itself killed the agent

    # -- lifecycle ------------------------------------------------------------------------

    def run(self) -> tuple[dict[str, Any], int]:
        """Everything, with every child killed and the temp dir removed at the end."""
        try:
            return self._run()
        finally:
            self._teardown()

    def _teardown(self) -> None:
        try:
            if self.monitor:
                self.monitor.stop()
            if self.agent:  # before its terminals go away
                self.agent.stop()
            self.sources.close()
            if self.sys:
                self.sys.close()
            if self.service:
                self.service.stop()
            self.broker.stop()
        finally:
            self.children.kill_all()
            if not self.opts.keep:
                shutil.rmtree(self.tmp, ignore_errors=True)

    def _run(self) -> tuple[dict[str, Any], int]:
        o = self.opts
        d = o.duration
        pg_down = o.pg_down_s if o.pg_down_s is not None else (30.0 if d >= 300 else 10.0)
        self.pg.init()
        self.broker.init()
        self.sources.start_terminals()
        config = self.tmp / "soak.toml"
        write_config(config, self.sources)
        key = Fernet.generate_key().decode()
        token = None
        if self.sources.behind_agent:
            # Before the service first starts, so it never polls the agent's terminals.
            settings = Settings(database_url=self.pg.url, config=config, secret_key=key)
            token = create(settings, list(self.sources.behind_agent))
        env = {
            "PUNCHGATE_DATABASE_URL": self.pg.url,
            "PUNCHGATE_MQTT_URL": f"mqtt://127.0.0.1:{self.broker.port}",
            "PUNCHGATE_MQTT_CLIENT_ID": "soak-collector",
            "PUNCHGATE_MQTT_TOPIC_ROOT": self.topics.root,
            "PUNCHGATE_CONFIG": str(config),
            # Seals the Hikvision and Dahua passwords the configuration gives.
            "PUNCHGATE_SECRET_KEY": key,
            "PUNCHGATE_ZK_RETRY_BASE_S": "1",
            "PUNCHGATE_ZK_RETRY_MAX_S": "5",
            "PUNCHGATE_ZK_TIMEOUT_S": "3",
            "PUNCHGATE_DEFAULT_TIMEZONE": TZ,
            "PUNCHGATE_LOG_LEVEL": "INFO",
            # Stable across the kills: a restart resumes its terminal leases at once.
            "PUNCHGATE_NODE_ID": "soak",
        }
        self.service = ServiceProcess(self.tmp, env, self.children)
        first_start = self.service.start()
        self.checks["service_first_start_s"] = round(first_start, 1)
        if token is not None:
            self.agent = AgentProcess(self.tmp, self.children)
            self.agent.enrol(self.service.base_url, token)
            self.agent.start()
        reader = StoreReader(self.pg.url)
        self.monitor = mon = Monitor(reader, self.sources.counts)
        mon.away = lambda: (
            {f"zk:{c}" for c in self.offline}
            | {f"push:{c}" for c in self.sources.push_paused}
            | self.sources.vendor_away
            | (
                {f"agent:{c}" for c in self.sources.behind_agent}
                if self.agent_down.is_set()
                else set()
            )
        )
        self.sys = SysWatch(self.broker.port)
        self.sources.start_push(self.service.base_url)
        self.sources.start_phones(self.broker.port, self.topics)
        # Readers use an hr key of their own, as an HR dashboard would.
        token = o.api_key or self._reader_key()
        headers = {"Authorization": f"Bearer {token}"}
        self.sources.start_readers(self.service.base_url, o.readers, headers)
        self.sources.start_generators()
        mon.start()
        t0 = time.monotonic()
        schedule = self._schedule(pg_down)
        for frac, name, action in schedule:
            self._sleep_until(t0 + frac * d)
            print(f"[soak {mon.now():7.1f}s] {name}", flush=True)
            action()
        self._sleep_until(t0 + d)
        print(f"[soak {mon.now():7.1f}s] generation stops; draining", flush=True)
        self._drain(reader)
        return self._report(reader)

    def _sleep_until(self, when: float) -> None:
        while time.monotonic() < when:
            self._supervise()
            time.sleep(min(0.5, max(0.0, when - time.monotonic())))

    def _supervise(self) -> None:
        """Restart the service or the agent if it died without the soak killing it (count that)."""
        agent = self.agent
        if agent is not None and not agent.alive() and not self.agent_down.is_set():
            self.unexpected_exits += 1
            code = agent.proc and agent.proc.returncode
            self.problems.append(f"site agent exited by itself (code {code})")
            agent.start()
        svc = self.service
        if svc is None or svc.alive() or self.expected_down.is_set() or not self.pg_up:
            return
        self.unexpected_exits += 1
        self.problems.append(f"service exited by itself (code {svc.proc and svc.proc.returncode})")
        svc.start()

    # -- the fault schedule -----------------------------------------------------------------

    def _schedule(self, pg_down: float) -> list[tuple[float, str, Callable[[], None]]]:
        s = self.sources
        codes = list(s.terminals)
        # A live terminal, a polled UDP one and a polled TCP one.
        away = [codes[1], codes[s.plan.live + 1], codes[20]]
        faults: dict[str, Any] = {}

        def offline() -> None:
            faults["offline"] = self.monitor.begin("terminals offline", terminals=away)  # type: ignore[union-attr]
            for c in away:
                self.offline.add(c)
                s.host.set_offline(s.terminals[c], True)

        def online() -> None:
            f = faults["offline"]
            positions = StoreReader(self.pg.url).positions() or {}
            f.notes["piled_up"] = {
                c: s.terminals[c].record_count - positions.get(c, (0, None))[0] for c in away
            }
            for c in away:
                # The connection is reset as the first chunk of the piled-up records goes out.
                s.terminals[c].faults.drop_after_chunks = 0
                s.host.set_offline(s.terminals[c], False)
                self.offline.discard(c)
            self.drops.append((f, away))
            self.monitor.end(f)  # type: ignore[union-attr]

        def push_away() -> None:
            faults["push"] = self.monitor.begin("push terminal offline", terminal="push-3")  # type: ignore[union-attr]
            s.push_paused.add("push-3")

        def push_back() -> None:
            s.push_paused.discard("push-3")
            self.monitor.end(faults["push"])  # type: ignore[union-attr]

        def drops() -> None:
            f = self.monitor.begin("connections dropped mid-transfer")  # type: ignore[union-attr]
            picked = [c for c in codes[s.plan.live + s.plan.udp :]][5:15]
            for c in picked:
                s.terminals[c].faults.drop_after_chunks = 0  # reset as the new records flow
            f.notes["terminals"] = picked
            self.drops.append((f, picked))
            self.monitor.end(f)  # type: ignore[union-attr]

        def clock_jump() -> None:
            f = self.monitor.begin("terminal clock jumps +2 h", terminals=[codes[25], codes[3]])  # type: ignore[union-attr]
            s.terminals[codes[25]].skew(120)
            s.terminals[codes[3]].skew(120)  # a live one
            self.monitor.end(f)  # type: ignore[union-attr]

        # The outage comes after the last kill, so a worker that dies in it and only comes
        # back with a restart shows up as missing punches rather than being healed unseen.
        plan = [
            (0.08, "terminals go offline", offline),
            (0.12, "a push terminal goes offline", push_away),
            (0.16, "service SIGKILL + restart", self._kill_service),
            (0.22, "malformed burst 1", lambda: self._garbage("b1", [codes[20], codes[2]])),
            (0.26, "terminal clocks jump", clock_jump),
            (0.30, "mosquitto restart", self._restart_broker),
            (0.36, "push terminal back", push_back),
            (0.40, "terminals back (first transfer cut)", online),
            (0.42, "site agent SIGKILL mid-forward + restart", self._kill_agent),
            (0.46, "service SIGKILL + restart", self._kill_service),
            (0.55, f"postgres down {pg_down:.0f}s", lambda: self._postgres_down(pg_down)),
            (0.80, "connections dropped mid-transfer", drops),
            (0.85, "malformed burst 2", lambda: self._garbage("b2", [codes[30], codes[40]])),
        ]
        assert self.monitor is not None  # started before the schedule is drawn up
        self.vendor_faults = VendorFaults(
            s.vendors,
            s.vendor_away,
            self.monitor,
            lambda: StoreReader(self.pg.url).cursors() or {},
            self._supervise,
        )
        return sorted([*plan, *self.vendor_faults.schedule()], key=lambda entry: entry[0])

    def _kill_service(self) -> None:
        assert self.service and self.monitor
        f = self.monitor.begin("service SIGKILL")
        self.expected_down.set()
        acked = {c: sim.ledger.acked_through for c, sim in self.sources.push.items()}
        self.service.kill()
        time.sleep(1.0)
        f.notes["restart_s"] = round(self.service.start(), 1)
        if self.agent:
            # What the agent read while the service was away: it backs off 2.5 s after a
            # refused connection, so right after the restart its buffer still holds it.
            f.notes["agent_buffer_at_restart"] = self.agent.depth()
        self.expected_down.clear()
        f.notes["push_resumed_s"] = self._push_resumed(acked)
        self.monitor.end(f)

    def _push_resumed(self, acked: dict[str, int], timeout: float = 15.0) -> float | None:
        """Seconds until every push terminal had an upload acknowledged again (None: never).

        A push simulator retries with a doubling delay capped at 5 s; one still backing off
        from the restart when the PostgreSQL outage follows would try too seldom in it to
        be refused while it lasts, and the outage check would find no error reply.
        """
        s, t0 = self.sources, time.monotonic()
        while time.monotonic() - t0 < timeout:
            if all(
                sim.ledger.acked_through > acked[c] or not sim.pending or c in s.push_paused
                for c, sim in s.push.items()
            ):
                return round(time.monotonic() - t0, 1)
            self._supervise()
            time.sleep(0.1)
        return None

    def _kill_agent(self) -> None:
        """A backlog on one agent terminal; SIGKILL the agent while it forwards it; restart."""
        if self.agent is None:
            return
        assert self.monitor
        code = next(iter(self.sources.behind_agent))
        f = self.monitor.begin("site agent SIGKILL", terminal=code)
        batch = int(AGENT_OPTIONS["batch_size"])
        f.notes["backlog"] = count = backlog(self.sources.behind_agent[code], 40 * batch)
        # Mid-forward: the centre has acknowledged some batches of the backlog, not all.
        deadline = time.monotonic() + 20.0
        depth = self.agent.depth()
        while time.monotonic() < deadline:
            depth = self.agent.depth()
            if depth is not None and 0 < depth <= count - 2 * batch:
                break
            self._supervise()
            time.sleep(0.01)
        else:
            self.problems.append("site agent SIGKILL: the kill did not fall mid-forward")
        self.agent_down.set()
        self.agent.kill()
        f.notes["buffer_at_kill"] = depth
        f.notes["buffer_after_kill"] = self.agent.depth()
        time.sleep(1.0)
        self.agent.start()
        self.agent_down.clear()
        self.monitor.end(f)

    def _restart_broker(self) -> None:
        assert self.monitor
        f = self.monitor.begin("mosquitto restart")
        f.notes["broker_store_before"] = self.sys.stored() if self.sys else None
        self.broker.stop()
        time.sleep(2.0)
        self.broker.start()
        self.monitor.end(f)

    def _garbage(self, tag: str, zk: list[str]) -> None:
        assert self.monitor and self.service
        f = self.monitor.begin(f"malformed burst {tag}")
        before = len(self.sources.malformed)
        self.sources.zk_impossible(zk)
        # One Hikvision and one Dahua terminal per burst, other ones each time.
        at = 1 if tag == "b1" else 2
        picks = [codes[at % len(codes)] for codes in self.sources.vendor_codes() if codes]
        self.sources.vendor_malformed(picks)
        self.sources.mqtt_garbage(self.broker.port, self.topics, 20, tag)
        self.sources.push_garbage(self.service.base_url, 4, tag)
        f.notes["items"] = len(self.sources.malformed) - before
        self.monitor.end(f)

    def _postgres_down(self, seconds: float) -> None:
        """Stop PostgreSQL; watch that nothing advances while it is away; bring it back.

        The positions are read on a Unix-socket-only start right after the stop and again
        right before the service may reconnect, so nothing in flight at the stop can blur
        them. From a settle second after the stop nothing can commit, so no push upload may
        be acknowledged and the broker must hold every phone message published meanwhile.
        """
        assert self.monitor
        mon, s = self.monitor, self.sources
        f = mon.begin("postgres down", seconds=seconds)
        self.pg_up = False
        end = time.monotonic() + seconds
        self.pg.stop()
        positions = self._positions_offline()
        time.sleep(1.0)  # replies to commits made before the stop have arrived by now
        acked = {c: sim.ledger.acked_through for c, sim in s.push.items()}
        errors = {c: sim.ledger.error_replies for c, sim in s.push.items()}
        time.sleep(1.0)  # a $SYS figure is at most a second old: now it postdates the stop
        broker_start = self.sys.stored() if self.sys else None
        published_start = sum(p.published for p in s.phones)
        published = 0
        # The agent deletes a batch from its buffer only when the centre acknowledged it.
        depths = [d for d in [self.agent.depth() if self.agent else None] if d is not None]
        while time.monotonic() < end:
            time.sleep(0.25)
            depth = self.agent.depth() if self.agent else None
            if depth is not None:
                depths.append(depth)
            if time.monotonic() < end - 2.5:  # surely in the broker's figure read at `end`
                published = sum(p.published for p in s.phones) - published_start
        broker_end = self.sys.stored() if self.sys else None
        after = self._positions_offline()
        pending = {c: len(sim.pending) for c, sim in s.push.items()}
        acked_moved = sorted(c for c in acked if s.push[c].ledger.acked_through != acked[c])
        self.pg.start(tcp=True)
        self.pg_up = True
        moved = sorted(c for c in positions if after.get(c) != positions[c])
        error_replies = sum(s.push[c].ledger.error_replies - errors[c] for c in errors)
        growth = None if broker_start is None or broker_end is None else broker_end - broker_start
        check: dict[str, Any] = {
            "terminals_checked": len(positions),
            "terminal_positions_unchanged": not moved and bool(positions),
            "terminals_moved": moved,
            "push_pending_while_down": sum(pending.values()),
            "push_acked_unchanged_while_down": not acked_moved,
            "push_error_replies_while_down": error_replies,
            "phone_messages_published_while_down": published,
            "broker_store_growth_while_down": growth,
            "mqtt_held_unacked": growth is not None and published > 0 and growth >= published,
        }
        if self.agent:
            check["agent_buffer_while_down"] = [depths[0], depths[-1]] if depths else None
            check["agent_acked_nothing_while_down"] = bool(depths) and all(
                b >= a for a, b in itertools.pairwise(depths)
            )
        check["ok"] = bool(
            check["terminal_positions_unchanged"]
            and check["push_acked_unchanged_while_down"]
            and error_replies > 0
            and check["mqtt_held_unacked"]
            and check.get("agent_acked_nothing_while_down", True)
        )
        self.checks["postgres_down"] = check
        if not check["ok"]:
            self.problems.append("postgres outage checks failed")
        mon.end(f)

    def _positions_offline(self) -> dict[str, tuple[int, int | None]]:
        """Terminal positions read over the Unix socket (the service cannot connect)."""
        self.pg.start(tcp=False)
        try:
            reader = StoreReader(self.pg.local_url)
            found = reader.positions() or {}
            found.update({c: (n, None) for c, n in (reader.cursors() or {}).items()})
            return found
        finally:
            self.pg.stop()

    # -- the end ------------------------------------------------------------------------------

    def _drain(self, reader: StoreReader) -> None:
        assert self.monitor
        s = self.sources
        for code in list(self.offline):
            s.host.set_offline(s.terminals[code], False)
        self.offline.clear()
        s.push_paused.clear()
        for term in s.vendors.values():
            term.refuse_logins(False)
            if term.live:
                term.drop_stream(None)
        s.vendor_away.clear()
        s.stop_generating()
        agent = self.agent
        start = time.monotonic()
        last_total, last_change = -1, start
        while time.monotonic() - start < self.opts.drain_timeout_s:
            self._supervise()
            sample = self.monitor.sample()
            stored = sample.stored or {}
            total = sum(stored.values())
            if total != last_total:
                last_total, last_change = total, time.monotonic()
            positions = reader.positions() or {}
            polled = all(
                positions.get(c, (-1, None))[0] == t.record_count for c, t in s.terminals.items()
            )
            cursors = reader.cursors() or {}
            polled = polled and all(cursors.get(c) == t.last_number for c, t in s.vendors.items())
            caught_up = all(stored.get(k, 0) >= n for k, n in sample.generated.items())
            sent = s.push_pending() == 0 and s.phones_unacked() == 0
            sent = sent and (agent is None or agent.depth() == 0)
            if polled and caught_up and sent:
                time.sleep(5)  # anything still in flight would be a duplicate: let it land
                break
            if time.monotonic() - last_change > self.opts.stall_s:
                self.problems.append("the store stopped growing before every punch arrived")
                break
            time.sleep(1)
        else:
            self.problems.append("drain timed out")
        self.checks["drain_s"] = round(time.monotonic() - start, 1)
        self.monitor.sample()

    def _agent_report(self, cmp: Comparison) -> dict[str, Any] | None:
        """The site agent's process figures and its terminals' ledger figures."""
        if self.agent is None:
            return None
        codes = list(self.sources.behind_agent)
        by_source = {c: cmp.by_source.get(f"agent:{c}", {}) for c in codes}
        return {**self.agent.figures(), "terminals": by_source}

    def _report(self, reader: StoreReader) -> tuple[dict[str, Any], int]:
        assert self.monitor and self.service
        cmp = compare(
            self.sources.generated(), reader.punches(), self.sources.malformed, reader.quarantine()
        )
        for fault, terminals in self.drops:  # a switch resets itself once it has fired
            fault.notes["connections_dropped"] = [
                c for c in terminals if self.sources.terminals[c].faults.drop_after_chunks is None
            ]
            if len(fault.notes["connections_dropped"]) != len(terminals):
                self.problems.append(f"{fault.name}: not every drop switch fired")
        if self.vendor_faults:
            self.problems += self.vendor_faults.unfired()
        peak, peak_at = self.monitor.peak_backlog()
        faults = [
            {
                "name": f.name,
                "at_s": round(f.start, 1),
                "until_s": None if f.end is None else round(f.end, 1),
                "caught_up_s": f.caught_up_s,
                **f.notes,
            }
            for f in self.monitor.faults
        ]
        not_caught = [f["name"] for f in faults if f["caught_up_s"] is None]
        if not_caught:
            self.problems.append(f"never caught up after: {not_caught}")
        status = exit_status(cmp, self.problems, self.unexpected_exits)
        report = {
            "ok": status == 0,
            "duration_s": self.opts.duration,
            "plan": asdict(self.opts.plan),
            **cmp.as_dict(),
            "peak_backlog": peak,
            "peak_backlog_at_s": None if peak_at is None else round(peak_at, 1),
            "faults": faults,
            "checks": self.checks,
            "service": {"starts": self.service.starts, "unexpected_exits": self.unexpected_exits},
            "readers": dict(sorted(self.sources.readers.items())),
            "push": {
                c: {
                    "requests": sim.ledger.requests,
                    "error_replies": sim.ledger.error_replies,
                    "retries": sim.ledger.retries,
                }
                for c, sim in self.sources.push.items()
            },
            "vendors": {c: t.figures() for c, t in self.sources.vendors.items()},
            "agent": self._agent_report(cmp),
            "problems": self.problems,
        }
        if status:
            report["service_log_tail"] = self.service.log_tail(60)
            if self.agent:
                report["agent_log_tail"] = self.agent.log_tail(30)
        return report, status
