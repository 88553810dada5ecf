"""The sensors part of the demo: readings, then events across the upper thresholds and back.

    from satmc import demo_sensors
    demo_sensors.run(sat, sim)           # a transports.Satellite and a running Simulator

Shows the sensor table, raises the simulated board temperature across UNC and UC (the
satellite sends assertion events, which the bridge answers and logs), lowers it below
the hysteresis band (deassertion events), and shows the table again.
"""

from __future__ import annotations

import time

from .eventlog import EventLog, EventReceiver
from .sensors import SensorClient, table

SENSOR = "Board Temp"
DEVICE = "temp0"
STEPS = (
    (62.0, "above UNC (60 C)"),
    (77.0, "above UC (75 C)"),
    (73.5, "back inside UC's hysteresis band (75 - 2 C): nothing deasserts"),
    (40.0, "below both bands"),
)


def run(sat, sim, out=print, log: EventLog | None = None, settle: float = 1.0) -> list:
    """Run the sensor demo against a simulator; returns the events received."""
    client = SensorClient(sat)
    readings = client.read_all()
    deadline = time.monotonic() + 3
    while any(r.raw is None for r in readings) and time.monotonic() < deadline:
        time.sleep(0.2)  # right after boot: each sensor's first scan (the fan counts 1 s)
        readings = client.read_all()
    out("Sensors (SDRs decoded by python-ipmi):")
    for line in table(readings):
        out("  " + line)
    start = sim.control("device", name=DEVICE)["state"]["temperature"]
    rx = EventReceiver(sat, log, on_event=lambda ev: out("    event: " + ev.describe()))
    rx.add_records(client.sensor_records())
    with rx:
        for temp, what in STEPS:
            out(f"  {SENSOR} -> {temp:g} C, {what}")
            sim.control("device", name=DEVICE, set={"temperature": temp})
            time.sleep(settle)
        sim.control("device", name=DEVICE, set={"temperature": start})
        time.sleep(settle)
    out("Sensors now:")
    for line in table(client.read_all()):
        out("  " + line)
    return rx.received
