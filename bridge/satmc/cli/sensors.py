"""Sensor commands: sensors, sensor get, thresholds, hysteresis, events, sel, and the
simulator's stimulus (sim)."""

from __future__ import annotations

import datetime as dt
import sys
import time

import yaml

from ..errors import SatmcError
from ..eventlog import EventLog, EventReceiver, default_path
from ..ipmi.client import get_event_receiver, read_counters, set_event_receiver
from ..sensors import (
    COLUMNS,
    DETAIL_FIELDS,
    READING_FIELDS,
    SHORT,
    ReadingsLog,
    SensorClient,
    check,
    fmt,
    table,
)
from . import output
from .complete import sensor_names

THRESHOLD_FIELDS = ("name",) + COLUMNS
EVENT_FIELDS = ("receiver",) + (
    "events_queued",
    "events_sent",
    "events_retried",
    "events_acked",
    "events_dropped",
)
SEL_FIELDS = (
    "id",
    "time",
    "generator",
    "sensor",
    "sensor_name",
    "sensor_type",
    "event_type",
    "offset",
    "event",
    "direction",
    "reading",
    "threshold",
    "unit",
    "data",
)

EVENT_COUNTERS = EVENT_FIELDS[1:]


def register(sub) -> None:
    p = sub.add_parser("sensors", help="every sensor: value, status, thresholds")
    p.add_argument(
        "--watch",
        nargs="?",
        type=float,
        const=1.0,
        metavar="SECONDS",
        help="refresh in place every SECONDS (1)",
    )
    p.add_argument("--count", type=int, metavar="N", help="with --watch: stop after N samples")
    p.add_argument(
        "--log",
        metavar="FILE",
        help="append the readings to this CSV file (every sample with --watch)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="one Nagios-style line; exit 0 ok, 1 non-critical, 2 critical or "
        "non-recoverable, 3 unavailable (or no answer)",
    )
    output.add_options(p)
    p.set_defaults(func=sensors)

    p = sub.add_parser("sensor", help="one sensor in full (sensor get NAME)")
    gsub = p.add_subparsers(dest="action", metavar="ACTION")
    gsub.required = True
    g = gsub.add_parser("get", help="reading, thresholds, hysteresis, enables, M/B/K of NAME")
    g.add_argument("name", help="sensor name or number").completer = sensor_names
    output.add_options(g)
    g.set_defaults(func=sensor_get)

    p = sub.add_parser("hysteresis", help="show or set a sensor's hysteresis")
    hsub = p.add_subparsers(dest="action", metavar="ACTION")
    hsub.required = True
    g = hsub.add_parser("get", help="hysteresis of NAME, in the sensor's unit")
    g.add_argument("name").completer = sensor_names
    g.set_defaults(func=hysteresis_get)
    g = hsub.add_parser("set", help="set the hysteresis of NAME, in the sensor's unit")
    g.add_argument("name").completer = sensor_names
    g.add_argument("--positive", type=float, metavar="VALUE", help="positive-going")
    g.add_argument("--negative", type=float, metavar="VALUE", help="negative-going")
    g.set_defaults(func=hysteresis_set)

    p = sub.add_parser("thresholds", help="show or set a sensor's thresholds")
    tsub = p.add_subparsers(dest="action", metavar="ACTION")
    tsub.required = True
    g = tsub.add_parser("get", help="thresholds of NAME")
    g.add_argument("name").completer = sensor_names
    output.add_options(g)
    g.set_defaults(func=thresholds_get)
    s = tsub.add_parser("set", help="set thresholds of NAME, in the sensor's unit")
    s.add_argument("name").completer = sensor_names
    for k in SHORT:
        s.add_argument(f"--{k}", type=float, metavar="VALUE")
    s.set_defaults(func=thresholds_set)

    p = sub.add_parser("events", help="event receiver and counters; --follow to receive")
    p.add_argument(
        "--follow",
        action="store_true",
        help="answer and print events as they arrive (into the event log)",
    )
    p.add_argument(
        "--receiver",
        metavar="ADDR",
        help="set the satellite's event receiver (8-bit address, or off)",
    )
    p.add_argument(
        "--log",
        help="event log file (default $SATMC_EVENT_LOG or ~/.local/share/satmc/events.sqlite)",
    )
    output.add_options(p)
    p.set_defaults(func=events)

    p = sub.add_parser("sel", help="the bridge's persistent event log")
    ssub = p.add_subparsers(dest="action", metavar="ACTION")
    ssub.required = True
    for name, func, text in (
        ("list", sel_list, "logged events, oldest first"),
        ("clear", sel_clear, "delete every logged event"),
    ):
        q = ssub.add_parser(name, help=text)
        q.add_argument("--log", help="event log file")
        if name == "list":
            q.add_argument("-n", "--limit", type=int, help="only the last N events")
            output.add_options(q)
        q.set_defaults(func=func, needs_target=False)

    p = sub.add_parser(
        "sim", help="the simulated board's physical values (on a chassis: -a picks the satellite)"
    )
    msub = p.add_subparsers(dest="action", metavar="ACTION")
    msub.required = True
    q = msub.add_parser("set", help="set NAME KEY=VALUE... (e.g. temp0 temperature=80)")
    q.add_argument("name")
    q.add_argument("values", nargs="+", metavar="KEY=VALUE")
    q.set_defaults(func=sim_set, needs_target=False)
    q = msub.add_parser("get", help="state of NAME, or of every device")
    q.add_argument("name", nargs="?")
    q.set_defaults(func=sim_get, needs_target=False)


def sensors(args, sat) -> int:
    if args.check and (args.watch is not None or output.machine(args)):
        raise SatmcError("--check prints one line and sets the exit status; use it alone")
    if args.count is not None and (args.watch is None or args.count < 1):
        raise SatmcError("--count N (1 or more) counts the samples of --watch")
    log = ReadingsLog(args.log) if args.log else None
    client = SensorClient(sat)
    if args.check:
        readings = client.read_all()
        if log:
            log.append(readings)
        code, line = check(readings)
        print(line)
        return code
    if args.watch is None:
        readings = client.read_all()
        if log:
            log.append(readings)
        output.emit(
            args, [r.as_record() for r in readings], READING_FIELDS, lambda: table(readings)
        )
        return 0
    tty = sys.stdout.isatty()
    n = 0
    while True:
        readings = client.read_all()
        if log:
            log.append(readings)
        n += 1
        if output.machine(args):
            records = [r.as_record() for r in readings]
            output.emit(args, records, READING_FIELDS, list, one_line=True)
            args.no_header = True  # CSV: the header once
        else:
            if tty:
                sys.stdout.write("\x1b[H\x1b[2J")  # home, clear: refresh in place
            stamp = time.strftime("%H:%M:%S")
            print(f"satmc sensors at 0x{sat.address:02x}  {stamp}  (Ctrl-C ends)")
            print("\n".join(table(readings)))
            if not tty:
                print()
        sys.stdout.flush()
        if args.count is not None and n >= args.count:
            return 0
        time.sleep(args.watch)


def sensor_get(args, sat) -> int:
    d = SensorClient(sat).details(args.name)
    output.emit(args, d, DETAIL_FIELDS, lambda: _detail_lines(d))
    return 0


def _detail_lines(d: dict) -> list[str]:
    """As `ipmitool sensor get` prints a sensor (na for absent thresholds)."""
    unit = f" {d['unit']}" if d["unit"] else ""
    lines = [
        f"Sensor ID              : {d['name']} (0x{d['number']:x})",
        f" Entity ID             : {d['entity']}",
        f" Sensor Type ({d['reading_type'].capitalize()}) : {d['type']}",
    ]
    if d["reading_type"] == "discrete":
        lines.append(f" States Asserted       : {d['text']}")
    else:
        reading = "na" if d["value"] is None else f"{d['value']:g}{unit}"
        lines += [
            f" Sensor Reading        : {reading} (raw 0x{d['raw'] or 0:02x})",
            f" Status                : {d['status']}",
        ]
        for key, label in (
            ("lnr", "Lower Non-Recoverable"),
            ("lc", "Lower Critical"),
            ("lnc", "Lower Non-Critical"),
            ("unc", "Upper Non-Critical"),
            ("uc", "Upper Critical"),
            ("unr", "Upper Non-Recoverable"),
        ):
            lines.append(f" {label:<22}: {fmt(d[key]) if d[key] is not None else 'na'}")
        lines += [
            f" Positive Hysteresis   : {d['hysteresis_positive']:g}{unit}",
            f" Negative Hysteresis   : {d['hysteresis_negative']:g}{unit}",
            f" M, B, K1 (B exp), K2 (R exp) : {d['m']}, {d['b']}, {d['k1']}, {d['k2']}"
            f"  (resolution {d['resolution']:g}{unit}, tolerance {d['tolerance']})",
        ]
    onoff = {True: "enabled", False: "disabled"}
    lines += [
        f" Event Messages        : {onoff[d['events_enabled']]}",
        f" Scanning              : {onoff[d['scanning_enabled']]}",
        f" Assertions Enabled    : {' '.join(d['assertions_enabled']) or 'none'}",
        f" Deassertions Enabled  : {' '.join(d['deassertions_enabled']) or 'none'}",
    ]
    return lines


def _print_hysteresis(name: str, unit: str, pos: float, neg: float) -> None:
    unit = f" {unit}" if unit else ""
    print(f"{name}: positive={pos:g}{unit}  negative={neg:g}{unit}")


def hysteresis_get(args, sat) -> int:
    client = SensorClient(sat)
    pos, neg = client.hysteresis(args.name)
    rec = client.read(client.find(args.name))
    _print_hysteresis(rec.name, rec.unit, pos, neg)
    return 0


def hysteresis_set(args, sat) -> int:
    if args.positive is None and args.negative is None:
        raise SatmcError("give --positive VALUE, --negative VALUE or both")
    client = SensorClient(sat)
    (pos, neg), notes = client.set_hysteresis(args.name, args.positive, args.negative)
    for note in notes:
        print(f"satmc: note: {note}", file=sys.stderr)
    rec = client.read(client.find(args.name))
    _print_hysteresis(rec.name, rec.unit, pos, neg)
    return 0


def _print_thresholds(name: str, thr: dict) -> None:
    print(f"{name}: " + "  ".join(f"{k}={fmt(thr.get(k))}" for k in COLUMNS if k in thr))


def thresholds_get(args, sat) -> int:
    client = SensorClient(sat)
    rec = client.find(args.name)
    thr = client.read(rec).thresholds
    record = {"name": rec.device_id_string, **{k: thr.get(k) for k in COLUMNS}}
    if output.machine(args):
        output.emit(args, record, THRESHOLD_FIELDS, list)
    else:
        _print_thresholds(rec.device_id_string, thr)
    return 0


def thresholds_set(args, sat) -> int:
    values = {k: getattr(args, k) for k in SHORT if getattr(args, k) is not None}
    if not values:
        raise SatmcError("give at least one threshold, e.g. --unc 75")
    client = SensorClient(sat)
    held = client.set_thresholds(args.name, **values)
    for k, v in values.items():
        if held.get(k) is not None and held[k] != v:
            print(f"{k}={v:g} is held as {held[k]:g} (the sensor's resolution)")
    _print_thresholds(client.find(args.name).device_id_string, held)
    return 0


def _address(text: str) -> int:
    if text.lower() in ("off", "none", "disable"):
        return 0xFF
    try:
        v = int(text, 0)
    except ValueError:
        raise SatmcError(f"receiver {text!r} is not an address (0x20) or off") from None
    if not 0 <= v <= 0xFF or (v & 1 and v != 0xFF):
        raise SatmcError(f"receiver 0x{v:02x} is not an even 8-bit IPMB address")
    return v


def events(args, sat) -> int:
    if args.receiver is not None:
        set_event_receiver(sat, _address(args.receiver))
    if not args.follow:
        receiver, _ = get_event_receiver(sat)
        counters = read_counters(sat)
        record = {"receiver": None if receiver == 0xFF else receiver}
        record.update({k: counters.get(k, 0) for k in EVENT_COUNTERS})

        def lines():
            yield "event receiver : " + ("off (0xff)" if receiver == 0xFF else f"0x{receiver:02x}")
            yield from (f"{k:<14} : {record[k]}" for k in EVENT_COUNTERS)

        output.emit(args, record, EVENT_FIELDS, lines)
        return 0
    log = EventLog(args.log)
    client = SensorClient(sat)
    rx = EventReceiver(
        sat,
        log,
        on_event=lambda ev: print(
            time.strftime("%H:%M:%S", time.localtime(ev.time)) + " " + ev.describe(), flush=True
        ),
    )
    rx.add_records(client.sensor_records())
    print(f"receiving events from 0x{sat.address:02x} into {log.path} (Ctrl-C ends)", flush=True)
    check = getattr(sat.interface, "check_listening", lambda: None)
    with rx:
        while True:
            check()  # a follower that no longer hears the bus says so and ends
            time.sleep(0.5)


def _log_path(args) -> str:
    return str(args.log) if args.log else str(default_path())


def sel_list(args) -> int:
    log = EventLog.existing(args.log)  # reading creates no log
    evs = log.events(limit=args.limit) if log else []

    def lines():
        for ev in evs:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ev.time))
            yield f"{ev.id:>5}  {stamp}  {ev.describe()}"
        if not evs:
            yield f"no events in {_log_path(args)}"

    output.emit(args, [_sel_record(ev) for ev in evs], SEL_FIELDS, lines)
    return 0


def _sel_record(ev) -> dict:
    when = dt.datetime.fromtimestamp(ev.time, dt.UTC).isoformat(timespec="milliseconds")
    return {
        "id": ev.id,
        "time": when,
        "generator": ev.generator,
        "sensor": ev.sensor,
        "sensor_name": ev.sensor_name,
        "sensor_type": ev.sensor_type,
        "event_type": ev.event_type,
        "offset": ev.offset,
        "event": ev.what,
        "direction": ev.direction,
        "reading": ev.reading_value,
        "threshold": ev.threshold_value,
        "unit": ev.unit,
        "data": ev.data.hex(),
    }


def sel_clear(args) -> int:
    log = EventLog.existing(args.log)
    print(f"deleted {log.clear() if log else 0} events from {_log_path(args)}")
    return 0


def sim_set(args) -> int:
    from ..sim.stimulus import set_values

    values = {}
    for item in args.values:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise SatmcError(f"{item!r} is not KEY=VALUE")
        values[key] = yaml.safe_load(text)
    state = set_values(args.target, args.name, address=args.address, **values)
    print(f"{args.name}: " + "  ".join(f"{k}={v}" for k, v in state.items()))
    return 0


def sim_get(args) -> int:
    from ..sim.stimulus import devices, state

    found = (
        {args.name: state(args.target, args.name, args.address)}
        if args.name
        else devices(args.target, args.address)
    )
    for name, st in found.items():
        print(f"{name}: " + "  ".join(f"{k}={v}" for k, v in st.items()))
    return 0
