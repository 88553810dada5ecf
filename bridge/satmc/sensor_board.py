"""The `sensors:` and `events:` sections of a board file, validated into firmware config.

    sensors:
      buses: {board: {scl: 4, sda: 5, freq: 100000}}   # private I2C (SoftI2C; block: N for I2C)
      period_ms: 500                                     # default scan period
      list:
        - name: Board Temp                               # SDR id string, up to 16 characters
          number: 1
          type: temperature                              # see TYPES
          unit: C                                        # see UNITS
          source: {chip: lm75, bus: board, addr: 0x48}  # see CHIPS
          range: [-40, 87.5]                             # raw 0 reads as -40, 255 as 87.5 at most
          resolution: 0.5                                # unit per raw count
          thresholds: {unc: 60, uc: 75, unr: 90}         # lnc lc lnr unc uc unr, in the unit
          settable: [unc, uc]                            # default: every threshold given
          hysteresis: [2, 2]                             # positive, negative, in the unit
        - {name: Presence, number: 7, type: presence, source: {chip: gpio, pin: 7}}
      fru_locators:                                      # FRU Device Locator SDRs
        - {id: 0, name: Board FRU}                       # logical FRU device 0
    events: {receiver: 0x20}                             # 0xFF: no events

Values are in engineering units; the firmware gets raw thresholds and the range and
resolution in thousandths of the unit, from which it computes the SDR's M, B, K1, K2.
"""

from __future__ import annotations

from .errors import BoardFileError

TYPES = {
    "temperature": 0x01,
    "voltage": 0x02,
    "current": 0x03,
    "fan": 0x04,
    "power": 0x0B,
    "presence": 0x25,
}
UNITS = {"C": 1, "V": 4, "A": 5, "W": 6, "RPM": 18}
TYPE_UNITS = {"temperature": "C", "voltage": "V", "current": "A", "fan": "RPM", "power": "W"}
THRESHOLDS = ("lnc", "lc", "lnr", "unc", "uc", "unr")  # status bit order
CHIPS = {
    "lm75": ("bus", "addr"),
    "ina219": ("bus", "addr", "measure"),
    "ina226": ("bus", "addr", "measure"),
    "adc": ("pin",),
    "rp2temp": (),
    "tach": ("pin",),
    "gpio": ("pin",),
}
DISCRETE_CHIPS = ("gpio",)


def factors(lo_milli: int, res_milli: int) -> tuple[int, int, int, int]:
    """(M, K2, B, K1) as the firmware derives them (ipmc.sdr.factors), or BoardFileError."""
    m, e = res_milli, 0
    while m % 10 == 0:
        m, e = m // 10, e + 1
    k2 = e - 3
    b, f = lo_milli, 0
    while b and b % 10 == 0 and f - k2 - 3 < 7:
        b, f = b // 10, f + 1
    k1 = f - k2 - 3 if b else 0
    if m > 511 or not -512 <= b <= 511 or not -8 <= k1 <= 7 or not -8 <= k2 <= 7:
        raise ValueError("range/resolution do not fit the SDR conversion factors")
    return m, k2, b, k1


def _milli(v, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise BoardFileError(f"{where}: expected a number, got {v!r}")
    m = round(v * 1000)
    if abs(m - v * 1000) > 1e-6:
        raise BoardFileError(f"{where}: {v} has more than 3 decimals")
    return m


def _source(src, where: str, buses: dict) -> dict:
    if not isinstance(src, dict) or "chip" not in src:
        raise BoardFileError(f"{where}: expected a mapping with a chip")
    chip = src["chip"]
    if chip not in CHIPS:
        raise BoardFileError(f"{where}.chip: {chip!r} is not one of {', '.join(CHIPS)}")
    for key in CHIPS[chip]:
        if key not in src:
            raise BoardFileError(f"{where}.{key}: missing")
    out = {"chip": chip}
    if "bus" in CHIPS[chip]:
        if src["bus"] not in buses:
            raise BoardFileError(f"{where}.bus: {src['bus']!r} is not in sensors.buses")
        out["bus"] = src["bus"]
        addr = src["addr"]
        if not isinstance(addr, int) or not 0x08 <= addr <= 0x77:
            raise BoardFileError(f"{where}.addr: {addr!r} is not a 7-bit I2C address")
        out["addr"] = addr
    if chip in ("ina219", "ina226"):
        if src["measure"] not in ("bus_voltage", "current"):
            raise BoardFileError(f"{where}.measure: expected bus_voltage or current")
        out["measure"] = src["measure"]
        out["shunt_milliohm"] = int(src.get("shunt_milliohm", 100))
    if "pin" in src:
        out["pin"] = int(src["pin"])
    if chip == "adc":
        out["divider_milli"] = _milli(src.get("divider", 1), f"{where}.divider")
    if chip == "tach":
        out["pulses_per_rev"] = int(src.get("pulses_per_rev", 2))
    if chip == "gpio":
        out["active_low"] = bool(src.get("active_low", False))
    if chip == "lm75":
        out["bits"] = int(src.get("bits", 9))
    return out


def _raw(value, lo: int, res: int, where: str) -> int:
    r = round((_milli(value, where) - lo) / res)
    if not 0 <= r <= 255:
        raise BoardFileError(f"{where}: {value} is outside the sensor's range")
    return r


def _sensor(s: dict, where: str, buses: dict, period: int) -> dict:
    if not isinstance(s, dict):
        raise BoardFileError(f"{where}: expected a mapping")
    name = s.get("name")
    if not isinstance(name, str) or not 0 < len(name.encode()) <= 16:
        raise BoardFileError(f"{where}.name: expected a string of 1..16 characters")
    number = s.get("number")
    if not isinstance(number, int) or not 0 <= number <= 0xFE:
        raise BoardFileError(f"{where}.number: expected 0..0xFE")
    stype = s.get("type")
    if stype not in TYPES:
        raise BoardFileError(f"{where}.type: {stype!r} is not one of {', '.join(TYPES)}")
    source = _source(s.get("source"), f"{where}.source", buses)
    period_ms = s.get("period_ms", period)
    if not isinstance(period_ms, int) or not 10 <= period_ms <= 60_000:
        raise BoardFileError(f"{where}.period_ms: expected 10..60000")
    entity = s.get("entity", [0x07, 1])
    out = {
        "name": name,
        "number": number,
        "type": TYPES[stype],
        "source": source,
        "period_ms": period_ms,
        "entity": [int(entity[0]), int(entity[1])],
    }
    if stype == "presence":
        if source["chip"] not in DISCRETE_CHIPS:
            raise BoardFileError(f"{where}.source.chip: a presence sensor reads a gpio")
        out["kind"] = "discrete"
        return out
    if source["chip"] in DISCRETE_CHIPS:
        raise BoardFileError(f"{where}.source.chip: gpio gives a presence sensor, not {stype}")
    unit = s.get("unit", TYPE_UNITS[stype])
    if unit not in UNITS:
        raise BoardFileError(f"{where}.unit: {unit!r} is not one of {', '.join(UNITS)}")
    rng = s.get("range")
    if not (isinstance(rng, list) and len(rng) == 2):
        raise BoardFileError(f"{where}.range: expected [min, max]")
    lo, hi = _milli(rng[0], f"{where}.range"), _milli(rng[1], f"{where}.range")
    res = _milli(s.get("resolution"), f"{where}.resolution")
    if res <= 0 or hi <= lo:
        raise BoardFileError(f"{where}: range must rise and resolution be positive")
    if (hi - lo) / res > 255:
        raise BoardFileError(f"{where}: range/resolution needs more than 255 raw counts")
    try:
        factors(lo, res)
    except ValueError as e:
        raise BoardFileError(f"{where}: {e}") from None
    given = s.get("thresholds") or {}
    if not isinstance(given, dict) or set(given) - set(THRESHOLDS):
        raise BoardFileError(f"{where}.thresholds: keys must be among {', '.join(THRESHOLDS)}")
    raw = [
        _raw(given[k], lo, res, f"{where}.thresholds.{k}") if k in given else 0 for k in THRESHOLDS
    ]
    readable = sum(1 << i for i, k in enumerate(THRESHOLDS) if k in given)
    settable_names = s.get("settable", list(given))
    if not isinstance(settable_names, list) or set(settable_names) - set(given):
        raise BoardFileError(f"{where}.settable: expected a list of thresholds it has")
    settable = sum(1 << THRESHOLDS.index(k) for k in settable_names)
    hyst = s.get("hysteresis", [0, 0])
    if not (isinstance(hyst, list) and len(hyst) == 2):
        raise BoardFileError(f"{where}.hysteresis: expected [positive, negative]")
    hraw = [round(_milli(h, f"{where}.hysteresis") / res) for h in hyst]
    if not all(0 <= h <= 255 for h in hraw):
        raise BoardFileError(f"{where}.hysteresis: out of range")
    out.update(
        kind="threshold",
        unit=UNITS[unit],
        lo_milli=lo,
        res_milli=res,
        thresholds=raw,
        readable=readable,
        settable=settable,
        hysteresis=hraw,
    )
    if "nominal" in s:
        out["nominal"] = _raw(s["nominal"], lo, res, f"{where}.nominal")
    return out


def sensors_config(data: dict, where: str) -> dict:
    """Firmware config keys (sensors, sensor_buses, fru_locators, events) from board data."""
    sec = data.get("sensors") or {}
    if not isinstance(sec, dict):
        raise BoardFileError(f"{where}.sensors: expected a mapping (buses, period_ms, list)")
    buses = {}
    for name, b in (sec.get("buses") or {}).items():
        w = f"{where}.sensors.buses.{name}"
        if not isinstance(b, dict) or "scl" not in b or "sda" not in b:
            raise BoardFileError(f"{w}: expected scl and sda pins")
        buses[name] = {
            "scl": int(b["scl"]),
            "sda": int(b["sda"]),
            "freq": int(b.get("freq", 100_000)),
            "block": b.get("block"),
        }
    period = sec.get("period_ms", 1000)
    sensors, numbers, names = [], set(), set()
    for i, s in enumerate(sec.get("list") or []):
        c = _sensor(s, f"{where}.sensors.list[{i}]", buses, period)
        if c["number"] in numbers:
            raise BoardFileError(f"{where}.sensors.list[{i}].number: {c['number']} used twice")
        if c["name"] in names:
            raise BoardFileError(f"{where}.sensors.list[{i}].name: {c['name']!r} used twice")
        numbers.add(c["number"])
        names.add(c["name"])
        sensors.append(c)
    frus = []
    for i, f in enumerate(sec.get("fru_locators") or []):
        w = f"{where}.sensors.fru_locators[{i}]"
        if not isinstance(f, dict) or not isinstance(f.get("id"), int) or not 0 <= f["id"] <= 254:
            raise BoardFileError(f"{w}.id: expected a FRU device id 0..254")
        name = f.get("name")
        if not isinstance(name, str) or not 0 < len(name.encode()) <= 16:
            raise BoardFileError(f"{w}.name: expected a string of 1..16 characters")
        frus.append({"id": f["id"], "name": name})
    ev = data.get("events") or {}
    receiver = ev.get("receiver", 0x20)
    if (
        not isinstance(receiver, int)
        or not 0 <= receiver <= 0xFF
        or (receiver & 1 and receiver != 0xFF)
    ):
        raise BoardFileError(f"{where}.events.receiver: expected an even 8-bit address or 0xFF")
    return {
        "sensors": sensors,
        "sensor_buses": buses,
        "fru_locators": frus,
        "events": {"receiver": receiver},
    }
