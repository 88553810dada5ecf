"""An event storm into the bench BMC's SEL: every satellite of a simulated chassis crosses
Board Temp's thresholds at once, up and then down again, with the bench BMC in front.

    r = run(chassis, work, rounds=1)   # dict: per phase events, seconds, rates, SEL, problems
    r = run(chassis, work, rounds=1, faults=60, seed=1)   # ... under the fault matrix

The bench BMC is a real `satmc bmc` process (its LAN side on a free loopback port, a users
file made for the run with a random password): at start it makes itself every
satellite's event receiver (0x20) and logs their Platform Events in the SEL (SQLite). The
backplane is paced (satmc.vbus: the bus holds each transaction to its wire time at the
chassis clock), so the wire is a real limit. Each phase sets every satellite's LM75 at
once (HOT crosses UNC, UC and UNR going high; COLD deasserts them) and waits until every
satellite has scanned the new temperature and settled every event it queued
(`satmc.ipmi.client.events_open` is 0: acknowledged, or counted dropped after all tries).

Afterwards, nothing may be lost without a count: the SEL as stock ipmitool
(`-I lanplus sel elist`) and FreeIPMI (`ipmi-sel --hex-dump`) read it holds, satellite by
satellite, every event the firmware counts acknowledged and at most those plus the ones
it counts dropped; the firmware's counters reconcile (queued = acked + dropped after
tries); the SEL did not overflow (a long storm reads and clears it between rounds, see
SelTally). The counters are read by a host of its own at 0x24, so the satellites' events
reach the BMC alone.

Under faults (`faults` seconds, `make soak`'s storm part, tests/test_storm.py's short
form): the matrix of soak.faults (its Injector, each kind once in random order, then at
random) hits a satellite drawn at random while the rounds go on, from a host of its own
at FAULT_HOST; the rounds go on until every kind was injected and the time is up. After
each fault its recovery is the time until every satellite has answered a Get Device ID
(a problem past RECOVERY_LIMIT_S). Then the faults are cleared and every satellite
settles, and the same reconciliation holds, satellite by satellite, from the counters
before and after the whole storm: no event open, every frame accounted for
(soak.hosts.silent_losses), the SEL between acked and acked + dropped.

The figures: events per second over a phase (all satellites' events / time to settle),
as a ratio of the wire limit (one Platform Event request and its response take
WIRE_BITS bit times: satmc.vbus.wire's START, 9 bits per byte, STOP), and the share of
the phase the wire was busy (counter reads included).
"""

from __future__ import annotations

import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from satmc.bmc.chassis import ADDRESS as BMC_ADDRESS
from satmc.errors import SatmcError
from satmc.ipmi.client import (
    events_open,
    get_device_id,
    get_sensor_reading,
    read_counters,
    read_fru_data,
)
from satmc.ipmi.codes import CC_OK, CMD_PLATFORM_EVENT, NETFN_SENSOR, SEL_RECORD_SIZE
from satmc.transports import connect_many
from satmc.vbus import wire

from .faults import MATRIX, Injector, Schedule, retrying
from .hosts import FRU_SIZE, delta, settled, silent_losses

SATMC = str(Path(sys.executable).parent / "satmc")
HOT, COLD = 95.0, 25.0  # Board Temp (sim board): UNC 60, UC 75, UNR 90, hysteresis 2
TEMP_SENSOR, TEMP_DEVICE = 1, "temp0"
COUNTER_HOST = 0x24  # reads counters; not the event receiver's address
FAULT_HOST = 0x26  # the injector's own host (its calls never wait on the counter host's)
RECOVERY_LIMIT_S = 60.0  # a satellite not answering by then after a fault is a problem
# A Platform Event request (rsSA netFn chk rqSA seq cmd EvMRev type number dir data1..3
# chk: 14 bytes) and its response (rqSA netFn chk rsSA seq cmd cc chk: 8 bytes)
EVENT_FRAME, EVENT_RESPONSE = 14, 8
WIRE_BITS = sum(wire.BIT_START + n * wire.BITS_PER_BYTE + wire.BIT_STOP
                for n in (EVENT_FRAME, EVENT_RESPONSE))  # fmt: skip
EVENTS_PER_ROUND = 6  # per satellite: UNC, UC and UNR asserted going high, then deasserted
SETTLE_S = 120.0  # a phase that has not settled by then is reported, not waited for
POLL_S = 0.2  # between the counter host's rounds (its reads share the wire)


def wire_limit(freq_hz: int) -> float:
    """Platform Events per second the wire carries at most (requests and responses)."""
    return freq_hz / WIRE_BITS


class BmcProcess:
    """`satmc bmc` in front of the chassis (its url and addresses) on a free loopback port,
    its SEL in `work`; `options`: more of `satmc bmc`'s options."""

    def __init__(self, chassis, work: Path, options: tuple[str, ...] = ()):
        self.work = work
        self.sel_path = work / "bmc-sel.sqlite"  # beside SATMC_EVENT_LOG (satmc.bmc.chassis)
        self.password = secrets.token_urlsafe(12)[:16]
        self.users = work / "storm-users.toml"
        fd = os.open(self.users, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(
                f'[[user]]\nname = "admin"\npassword = "{self.password}"\n'
                'privilege = "administrator"\n'
            )
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = dict(
            os.environ,
            SATMC_EVENT_LOG=str(work / "events.sqlite"),
            XDG_CACHE_HOME=str(work / "cache"),
        )
        addrs = ",".join(f"0x{a:02x}" for a in chassis.addresses)
        self.proc = subprocess.Popen(
            [SATMC, "-t", chassis.url, "bmc", "--port", str(self.port),
             "--users", str(self.users), "--satellites", addrs, *options],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        self.lines: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            if line.startswith("bench BMC on "):
                self._ready.set()
        self._ready.set()  # it ended

    def wait_ready(self, timeout: float = 180.0) -> None:
        if not self._ready.wait(timeout) or self.proc.poll() is not None:
            raise SatmcError("satmc bmc did not start: " + " / ".join(self.lines[-5:]))

    def ipmitool(self, *args: str, timeout: float = 180.0) -> str:
        r = subprocess.run(
            ["ipmitool", "-I", "lanplus", "-H", "127.0.0.1", "-p", str(self.port),
             "-U", "admin", "-P", self.password, "-N", "3", "-R", "3", *args],
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if r.returncode:
            raise SatmcError(f"ipmitool {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def ipmi_sel(self, *args: str, timeout: float = 180.0) -> str:
        (self.work / "freeipmi").mkdir(mode=0o700, exist_ok=True)
        r = subprocess.run(
            ["ipmi-sel", "-D", "LAN_2_0", "-h", f"127.0.0.1:{self.port}", "-u", "admin",
             "-p", self.password, "-l", "ADMIN", "--sdr-cache-directory",
             str(self.work / "freeipmi"), *args],
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if r.returncode:
            raise SatmcError(f"ipmi-sel {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _counters(sat) -> dict | None:
    try:
        return read_counters(sat)
    except SatmcError:
        return None  # the wire is busy with the storm: read again next round


def _raw_temp(sat) -> int | None:
    try:
        return get_sensor_reading(sat, TEMP_SENSOR).sensor_reading
    except SatmcError:
        return None


def _is_event(rec, response: bool) -> bool:
    """A bus trace record: a Platform Event request to the BMC (or its cc 00 answer)."""
    d = rec.data
    if rec.read or len(d) < 6 or d[4] != CMD_PLATFORM_EVENT:
        return False
    if response:
        return d[0] >> 2 == NETFN_SENSOR | 1 and d[5] == CC_OK
    return d[0] >> 2 == NETFN_SENSOR and rec.addr7 == BMC_ADDRESS >> 1


def _wire(records: list, t_set: float, n: int) -> dict:
    """From the phase's bus trace: the first event request, the last acknowledgement."""
    reqs = [r for r in records if _is_event(r, False)]
    acks = [r for r in records if _is_event(r, True)]
    if not reqs or not acks:
        return {"requests_on_wire": len(reqs), "acks_on_wire": len(acks)}
    first, last = reqs[0], acks[-1]
    span = last.time - first.time
    busy = last.wire_start - first.wire_start
    return {
        "requests_on_wire": len(reqs),  # first tries and retries
        "acks_on_wire": len(acks),
        "first_event_s": round(first.time - t_set, 3),  # the scan that saw it
        "last_ack_s": round(last.time - t_set, 3),
        "burst_s": round(span, 3),
        "events_per_s": round(n / span, 1) if span > 0 else None,
        "wire_busy": round(busy / span, 3) if span > 0 else None,
    }


def _phase(chassis, sats, temperature: float, last_raw: dict, faulted: bool = False) -> dict:
    """Set every satellite's Board Temp at once; wait until each has scanned it and
    settled its events. -> figures of the phase."""
    before = {s.address: retrying(lambda s=s: read_counters(s)) for s in sats}
    bus = chassis.server.buses["ipmb"]
    seq0 = bus.records_since(0)[0]
    t_set = time.time()
    t0 = time.monotonic()
    with ThreadPoolExecutor(len(sats)) as pool:  # every satellite at once
        list(pool.map(lambda a: chassis.control(
            "device", address=a, name=TEMP_DEVICE, set={"temperature": temperature}
        ), chassis.addresses))  # fmt: skip
    waiting = {s.address: s for s in sats}
    settled_at: dict[int, float] = {}
    after: dict[int, dict] = {}
    while waiting and time.monotonic() - t0 < SETTLE_S:
        for a, s in list(waiting.items()):
            raw = _raw_temp(s)
            if raw is None or raw == last_raw.get(a):
                continue  # not scanned yet: its events may not be queued
            c = _counters(s)
            if c is not None and events_open(c) == 0:
                settled_at[a] = time.monotonic() - t0
                after[a] = c
                last_raw[a] = raw
                del waiting[a]
        time.sleep(POLL_S)
    dt = max(settled_at.values(), default=time.monotonic() - t0)
    seq1, records = bus.records_since(seq0)
    overflowed = records and seq1 - len(records) > seq0
    if overflowed and not faulted:
        raise SatmcError("the bus trace (satmc.vbus.bus) no longer holds the whole phase")
    for a in waiting:  # not settled: as they are now
        after[a] = retrying(lambda a=a: read_counters(waiting[a]))
    d = {a: {k: after[a][k] - before[a][k] for k in after[a]} for a in after}
    n = sum(x["events_queued"] for x in d.values())
    return {
        "temperature": temperature,
        "unsettled": sorted(waiting),
        "events": n,
        "acked": sum(x["events_acked"] for x in d.values()),
        "dropped": sum(x["events_dropped"] for x in d.values()),
        "settled_s": round(dt, 3),  # seen settled by the counter host (polls)
        # under faults a long phase may outgrow the trace: no wire figures then
        **({"trace": "overflowed"} if overflowed else _wire(records, t_set, n)),
    }


_GID = re.compile(r"GID:\[([0-9A-Fa-f]{2})\]")
_ELIST = re.compile(r"\| (Asserted|Deasserted)(?: \||\s*$)")


def sel_by_generator(hexdump: str) -> dict[int, int]:
    """ipmi-sel --hex-dump lines -> records per generator (its 8-bit IPMB address, the
    generator ID's first byte)."""
    out: dict[int, int] = {}
    for line in hexdump.splitlines():
        m = _GID.search(line)
        if m:
            g = int(m[1], 16)
            out[g] = out.get(g, 0) + 1
    return out


def elist_records(text: str) -> list[str]:
    """Asserted or Deasserted, for each record line of ipmitool sel elist."""
    return [m[1] for m in map(_ELIST.search, text.splitlines()) if m]


class StormFaults:
    """The fault matrix of soak.faults on the chassis while the storm runs, one fault at
    a time on a satellite drawn at random (the bus-wide ones, lost arbitration and a
    stuck bus, hit them all), from a host of its own at FAULT_HOST. After each fault its
    recovery is the time until every satellite has answered a Get Device ID again."""

    def __init__(self, chassis, seed: int):
        self.chassis, self.rng = chassis, random.Random(seed)
        self.sats = connect_many(chassis.url, chassis.addresses, slave_address=FAULT_HOST)
        self.kinds = Schedule(self.rng)
        self.refs: dict[int, bytes] = {}
        self.applied: list[dict] = []
        self.problems: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def first_pass_done(self) -> bool:
        return len(self.applied) >= len(MATRIX)

    def _image(self, sat) -> bytes:
        """The satellite's FRU image (busy-eeprom writes its own bytes back)."""
        if sat.address not in self.refs:
            self.refs[sat.address] = b"".join(
                retrying(lambda o=o: read_fru_data(sat, 0, o, 16)) for o in range(0, FRU_SIZE, 16)
            )
        return self.refs[sat.address]

    def _answering(self, end: float) -> tuple[float, int]:
        """Seconds after `end` until every satellite has answered again, and the one
        waited on longest."""
        time.sleep(max(0.0, end - time.monotonic()))
        longest, slowest = -1.0, 0
        for sat in self.sats:
            t = time.monotonic()
            while True:
                try:
                    get_device_id(sat)
                    break
                except SatmcError:
                    if time.monotonic() > end + RECOVERY_LIMIT_S:
                        self.problems.append(
                            f"0x{sat.address:02x}: not answering {RECOVERY_LIMIT_S:.0f} s "
                            "after a fault"
                        )
                        break
            if time.monotonic() - t > longest:
                longest, slowest = time.monotonic() - t, sat.address
        return round(time.monotonic() - end, 3), slowest

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                kind = self.kinds.next()
                sat = self.rng.choice(self.sats)
                a = sat.address
                ref = self._image(sat) if kind == "busy-eeprom" else b""
                inj = Injector(
                    self.chassis,
                    sat,
                    ref,
                    self.rng,
                    board=self.chassis.satellite(a),
                    sat7=a >> 1,
                    host7=BMC_ADDRESS >> 1,
                    receiver=BMC_ADDRESS,
                )
                held = self.sats[0].interface.held_sequences.held
                lasts = inj.apply(kind)  # then its recovery is timed from its end
                end = time.monotonic() + lasts
                rec, slowest = self._answering(end)
                self.applied.append(
                    {
                        "kind": kind,
                        "address": a,
                        "recovery_s": rec,
                        "slowest": slowest,  # the satellite waited on longest
                        # the injector's rqSeqs held back after unanswered tries
                        "seqs_held": self.sats[0].interface.held_sequences.held - held,
                    }
                )
        except Exception as e:  # reported, and the storm goes on without faults
            self.problems.append(f"fault injector: {type(e).__name__}: {e}")
            self.stop.set()

    def finish(self) -> dict:
        self.stop.set()
        self.thread.join(120)
        if self.thread.is_alive():
            self.problems.append("fault injector: still running 120 s after the storm")
        self.chassis.control("clear_faults", bus="ipmb")
        for a in self.chassis.addresses:
            self.chassis.satellite(a).control("clear_faults", bus="board")
        fired = self.chassis.control("stats", bus="ipmb")["fired"]
        board: dict[str, int] = {}
        for a in self.chassis.addresses:
            for k, v in self.chassis.satellite(a).control("stats", bus="board")["fired"].items():
                board[k] = board.get(k, 0) + v
        rec = sorted(x["recovery_s"] for x in self.applied)
        return {
            "faults": self.applied,
            "fired": {"ipmb": fired, "board": board},
            "recovery_s": {
                "max": rec[-1],
                "p50": rec[len(rec) // 2],
                "last": self.applied[-1]["recovery_s"],
            }
            if rec
            else {},
        }

    def close(self) -> None:
        self.sats[0].close()  # one interface for all of them


class SelTally:
    """The SEL as both tools read it, over clears. A long storm (`make soak`'s, an hour)
    queues more events than the bench BMC's SEL holds (satmc.bmc.chassis.SEL_CAPACITY
    records), and a full SEL refuses the rest (the satellites count them dropped, and
    the overflow flag is set). So between rounds, with no event in flight, a SEL with
    room for fewer than `room` more records is read with ipmitool and ipmi-sel, its
    overflow flag checked, and cleared, as an operator would; the reconciliation counts
    every record read."""

    def __init__(self, bmc: BmcProcess):
        self.bmc = bmc
        self.listings: list[str] = []  # `ipmitool sel elist`, one per reading
        self.dumps: list[str] = []  # `ipmi-sel --hex-dump`, the same readings
        self.overflowed: list[str] = []  # the overflow flag at each reading, if not false

    def _info(self) -> tuple[int, str]:
        """Free records, and the overflow flag as ipmitool prints it."""
        info = self.bmc.ipmitool("sel", "info")
        free = re.search(r"Free Space\s*:\s*(\d+)", info)
        overflow = re.search(r"Overflow\s*:\s*(\S+)", info)
        if free is None:
            raise SatmcError(f"ipmitool sel info printed no free space: {info!r}")
        return int(free[1]) // SEL_RECORD_SIZE, overflow[1] if overflow else "not reported"

    @property
    def clears(self) -> int:
        """Readings that were followed by a clear (every one but the last)."""
        return max(0, len(self.listings) - 1)

    def read(self, overflow: str | None = None) -> None:
        """One reading: both tools' listings, and the overflow flag (`overflow`, when
        the caller has just read it with nothing in flight)."""
        if overflow is None:
            overflow = self._info()[1]
        if overflow != "false":
            self.overflowed.append(overflow)
        self.listings.append(self.bmc.ipmitool("sel", "elist"))
        self.dumps.append(self.bmc.ipmi_sel("--hex-dump"))

    def make_room(self, room: int) -> None:
        free, overflow = self._info()
        if free >= room:
            return
        self.read(overflow)
        self.bmc.ipmitool("sel", "clear")


def run(
    chassis,
    work: Path,
    rounds: int = 1,
    faults: float | None = None,
    seed: int = 1,
    sel_room: int | None = None,
) -> dict:
    """The storm, `rounds` times up and down; with `faults` (seconds), under the fault
    matrix (StormFaults, seeded): the rounds go on until every kind was injected once
    and `faults` seconds have passed, then the faults stop, are cleared, and every
    satellite settles before the reconciliation. Before each round after the first, the
    SEL is read and cleared (SelTally) if it has room for fewer than `sel_room` records
    (by default twice a round's events: EVENTS_PER_ROUND per satellite)."""
    work.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    phases: list[dict] = []
    chassis.control("pacing", on=True)
    bmc = BmcProcess(chassis, work)
    sats = []
    inj = None
    try:
        bmc.wait_ready()
        sats = connect_many(chassis.url, chassis.addresses, slave_address=COUNTER_HOST)
        for s in sats:  # the events of Set Event Receiver's re-arm, if any, settled first
            deadline = time.monotonic() + 60
            while events_open(read_counters(s)) and time.monotonic() < deadline:
                time.sleep(0.1)
        bmc.ipmitool("sel", "clear")
        start = {s.address: settled(s) for s in sats}
        last_raw = {s.address: get_sensor_reading(s, TEMP_SENSOR).sensor_reading for s in sats}
        if faults is not None:
            inj = StormFaults(chassis, seed)
            until = time.monotonic() + faults
            inj.thread.start()
        tally = SelTally(bmc)
        room = 2 * EVENTS_PER_ROUND * len(sats) if sel_room is None else sel_room
        done, t0 = 0, time.monotonic()
        while True:
            if done and not any(p["unsettled"] for p in phases[-2:]):
                tally.make_room(room)  # nothing in flight: every satellite settled
            for temperature in (HOT, COLD):
                phases.append(_phase(chassis, sats, temperature, last_raw, inj is not None))
            done += 1
            if done < rounds:
                continue
            if inj is None:
                break
            if inj.first_pass_done and time.monotonic() >= until:
                inj.stop.set()
            if inj.stop.is_set() and not inj.thread.is_alive():
                break
        storm_s = round(time.monotonic() - t0, 1)  # the rounds (and the faults)
        fault_figures = inj.finish() if inj else None
        end = {s.address: settled(s) for s in sats}  # every event acked or counted dropped
        totals = {}
        for a in start:
            d = delta(start[a], end[a])
            totals[a] = {
                "queued": d["events_queued"],
                "acked": d["events_acked"],
                "dropped": d["events_dropped"] - d["events_overflow"],
                "overflow": d["events_overflow"],
                "open": events_open(d),
            }
            problems += [f"0x{a:02x}: {p}" for p in silent_losses(d) if "events queued" not in p]
        for p in phases:
            if p["unsettled"]:
                problems.append(
                    f"{p['temperature']} C: not settled after {SETTLE_S:.0f} s: "
                    + ", ".join(f"0x{a:02x}" for a in p["unsettled"])
                )
        tally.read()
        listing, dump = "".join(tally.listings), "".join(tally.dumps)
        (work / "sel-elist.txt").write_text(listing)  # as the tools printed them, in turn
        (work / "sel-hexdump.txt").write_text(dump)
        elist, by_gen = elist_records(listing), sel_by_generator(dump)
        per_satellite = {}
        for a, t in sorted(totals.items()):
            got = by_gen.get(a, 0)
            per_satellite[a] = {**t, "sel": got}
            if t["open"]:
                problems.append(f"0x{a:02x}: {t['open']} events neither acked nor dropped")
            if not t["acked"] <= got <= t["acked"] + t["dropped"]:
                problems.append(
                    f"0x{a:02x}: {got} SEL records, firmware acked {t['acked']} "
                    f"dropped {t['dropped']}"
                )
            if t["queued"] < 2 * done:
                problems.append(f"0x{a:02x}: {t['queued']} events queued, no crossing seen")
        acked = sum(t["acked"] for t in totals.values())
        if len(elist) != sum(by_gen.values()):
            problems.append(
                f"ipmitool lists {len(elist)} records, ipmi-sel {sum(by_gen.values())}"
            )
        for flag in tally.overflowed:
            problems.append(f"SEL overflow: {flag}")
        asserted = elist.count("Asserted")
        result = {
            "satellites": len(sats),
            "freq_hz": chassis.freq_hz,
            "rounds": done,
            "seconds": storm_s,
            "wire_limit_events_per_s": round(wire_limit(chassis.freq_hz), 1),
            "phases": phases,
            "events": sum(t["queued"] for t in totals.values()),
            "acked": acked,
            "dropped": sum(t["dropped"] for t in totals.values()),
            "overflow": sum(t["overflow"] for t in totals.values()),
            "sel_ipmitool": len(elist),
            "sel_asserted": asserted,
            "sel_deasserted": len(elist) - asserted,
            "sel_ipmi_sel": sum(by_gen.values()),
            "sel_clears": tally.clears,
            "per_satellite": per_satellite,
            "problems": problems,
        }
        if fault_figures is not None:
            problems += inj.problems
            result.update(fault_figures)
    finally:
        if inj is not None:
            inj.stop.set()
            inj.close()
        for s in sats[:1]:
            s.close()  # one interface for all of them
        bmc.stop()
        chassis.control("pacing", on=False)
    return result
