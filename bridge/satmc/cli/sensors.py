"""Sensor commands: sensors, thresholds, events, sel, and the simulator's stimulus (sim)."""

from __future__ import annotations

import sys
import time

import yaml

from ..errors import SatmcError
from ..eventlog import EventLog, EventReceiver
from ..ipmi.client import get_event_receiver, read_counters, set_event_receiver
from ..sensors import COLUMNS, SHORT, SensorClient, fmt, table
from .complete import sensor_names

EVENT_COUNTERS = (
    "events_queued",
    "events_sent",
    "events_retried",
    "events_acked",
    "events_dropped",
)


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
    p.set_defaults(func=sensors)

    p = sub.add_parser("thresholds", help="show or set a sensor's thresholds")
    tsub = p.add_subparsers(dest="action", metavar="ACTION")
    tsub.required = True
    g = tsub.add_parser("get", help="thresholds of NAME")
    g.add_argument("name").completer = sensor_names
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
        q.set_defaults(func=func, needs_target=False)

    p = sub.add_parser("sim", help="the simulated board's physical values")
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
    client = SensorClient(sat)
    if args.watch is None:
        print("\n".join(table(client.read_all())))
        return 0
    tty = sys.stdout.isatty()
    while True:
        lines = table(client.read_all())
        stamp = time.strftime("%H:%M:%S")
        if tty:
            sys.stdout.write("\x1b[H\x1b[2J")  # home, clear: refresh in place
        print(f"satmc sensors at 0x{sat.address:02x}  {stamp}  (Ctrl-C ends)")
        print("\n".join(lines), flush=True)
        if not tty:
            print()
        time.sleep(args.watch)


def _print_thresholds(name: str, thr: dict) -> None:
    print(f"{name}: " + "  ".join(f"{k}={fmt(thr.get(k))}" for k in COLUMNS if k in thr))


def thresholds_get(args, sat) -> int:
    client = SensorClient(sat)
    rec = client.find(args.name)
    _print_thresholds(rec.device_id_string, client.read(rec).thresholds)
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
        print("event receiver : " + ("off (0xff)" if receiver == 0xFF else f"0x{receiver:02x}"))
        counters = read_counters(sat)
        for k in EVENT_COUNTERS:
            print(f"{k:<14} : {counters.get(k, 0)}")
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


def sel_list(args) -> int:
    log = EventLog(args.log)
    evs = log.events(limit=args.limit)
    for ev in evs:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ev.time))
        print(f"{ev.id:>5}  {stamp}  {ev.describe()}")
    if not evs:
        print(f"no events in {log.path}")
    return 0


def sel_clear(args) -> int:
    log = EventLog(args.log)
    print(f"deleted {log.clear()} events from {log.path}")
    return 0


def sim_set(args) -> int:
    from ..sim.stimulus import set_values

    values = {}
    for item in args.values:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise SatmcError(f"{item!r} is not KEY=VALUE")
        values[key] = yaml.safe_load(text)
    state = set_values(args.target, args.name, **values)
    print(f"{args.name}: " + "  ".join(f"{k}={v}" for k, v in state.items()))
    return 0


def sim_get(args) -> int:
    from ..sim.stimulus import devices, state

    found = {args.name: state(args.target, args.name)} if args.name else devices(args.target)
    for name, st in found.items():
        print(f"{name}: " + "  ".join(f"{k}={v}" for k, v in st.items()))
    return 0
