"""The `sensors:` list of a board file, validated into firmware config.

    scan_period_ms: 500                                  # default scan period
    sensors:
      - name: Board Temp                                 # SDR id string, up to 16 characters
        number: 1
        type: temperature                                # see TYPES
        unit: C                                          # see UNITS
        source: {chip: lm75, addr: 0x48}                 # see parts.SENSOR_CHIPS
        range: [-20, 107.5]                              # raw 0 reads as -20, 255 as 107.5
        resolution: 0.5                                  # unit per raw count
        thresholds: {unc: 60, uc: 75, unr: 90}           # lnr <= lc <= lnc < unc <= uc <= unr
        settable: [unc, uc]                              # default: every threshold given
        hysteresis: [2, 2]                               # positive, negative, in the unit
        period_ms: 250                                   # optional, else scan_period_ms
      - {name: Presence, number: 7, type: presence, source: {chip: gpio, pin: 7}}

Source options and their defaults: lm75 `bits` (9), ina219/ina226 `shunt_milliohm`
(100), adc `divider` (1), tach `pulses_per_rev` (2), gpio `active_low` (false). I2C
parts sit on the board's private_bus.

Values are in engineering units, rounded to the resolution (a value that is not a whole
number of counts from the range's minimum is loaded with a warning naming the field and
the value it becomes); the firmware gets raw thresholds and the range and
resolution in thousandths of the unit, from which it computes the SDR's M, B, K1, K2.
Every FRU device of the board's `fru:` list but FRU 0 gets a FRU Device Locator SDR:
FRU 0 is the controller's own (Get Device ID and the MC Device Locator say it has one),
and a locator for it too made `ipmitool fru print` list it three times.
"""

from __future__ import annotations

from ..errors import BoardFileError
from .fields import boolean, integer, milli, one_of
from .order import describe, misordered
from .parts import DISCRETE_CHIPS, I2C_CHIPS, POWER_MONITORS, SENSOR_CHIPS

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
MEASURES = ("bus_voltage", "current")
DEFAULT_ENTITY = [0x07, 1]  # system board
PERIOD_MIN_MS, PERIOD_MAX_MS = 10, 60_000


def factors(lo_milli: int, res_milli: int) -> tuple[int, int, int, int]:
    """(M, K2, B, K1) as the firmware derives them (ipmc.sdr.factors), or ValueError."""
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


def _source(src, where: str) -> dict:
    if not isinstance(src, dict) or "chip" not in src:
        raise BoardFileError(f"{where}: expected a mapping with a chip")
    chip = src["chip"]
    if not one_of(chip, SENSOR_CHIPS):
        raise BoardFileError(f"{where}.chip: {chip!r} is not one of {', '.join(SENSOR_CHIPS)}")
    for key in SENSOR_CHIPS[chip]:
        if key not in src:
            raise BoardFileError(f"{where}.{key}: missing")
    out = {"chip": chip}
    if chip in I2C_CHIPS:
        addr = src["addr"]
        if not isinstance(addr, int) or not 0x08 <= addr <= 0x77:
            raise BoardFileError(f"{where}.addr: {addr!r} is not a 7-bit I2C address")
        out["addr"] = addr
    if chip in POWER_MONITORS:
        if not one_of(src["measure"], MEASURES):
            raise BoardFileError(f"{where}.measure: expected bus_voltage or current")
        out["measure"] = src["measure"]
        out["shunt_milliohm"] = integer(src, "shunt_milliohm", where, 1, 0xFFFF, default=100)
    if "pin" in src:
        out["pin"] = integer(src, "pin", where, 0, 255)
    if chip == "adc":
        out["divider_milli"] = milli(src.get("divider", 1), f"{where}.divider")
    if chip == "tach":
        out["pulses_per_rev"] = integer(src, "pulses_per_rev", where, 1, 0xFF, default=2)
    if chip == "gpio":
        out["active_low"] = boolean(src, "active_low", where, False)
    if chip == "lm75":
        out["bits"] = integer(src, "bits", where, 9, 12, default=9)
    return out


def _held(raw: int, lo: int, res: int) -> float:
    """The value, in the unit, that a raw count stands for."""
    return (lo + raw * res) / 1000


def _raw(value, lo: int, res: int, where: str, warnings: list) -> int:
    """The raw count of a value; a warning naming the field when it is not a whole count."""
    m = milli(value, where)
    r = round((m - lo) / res)
    if not 0 <= r <= 255:
        raise BoardFileError(
            f"{where}: {value} is outside the sensor's range "
            f"({_held(0, lo, res):g} to {_held(255, lo, res):g})"
        )
    if lo + r * res != m:
        warnings.append(
            f"{where}: {value} becomes {_held(r, lo, res):g} (the resolution is {res / 1000:g})"
        )
    return r


def _sensor(s: dict, where: str, period: int, warnings: list) -> dict:
    if not isinstance(s, dict):
        raise BoardFileError(f"{where}: expected a mapping")
    name = s.get("name")
    if not isinstance(name, str) or not 0 < len(name.encode()) <= 16:
        raise BoardFileError(f"{where}.name: expected a string of 1..16 characters")
    number = s.get("number")
    if not isinstance(number, int) or not 0 <= number <= 0xFE:
        raise BoardFileError(f"{where}.number: expected 0..0xFE")
    stype = s.get("type")
    if not one_of(stype, TYPES):
        raise BoardFileError(f"{where}.type: {stype!r} is not one of {', '.join(TYPES)}")
    source = _source(s.get("source"), f"{where}.source")
    period_ms = s.get("period_ms", period)
    if not isinstance(period_ms, int) or not PERIOD_MIN_MS <= period_ms <= PERIOD_MAX_MS:
        raise BoardFileError(f"{where}.period_ms: expected 10..60000")
    entity = s.get("entity", DEFAULT_ENTITY)
    out = {
        "name": name,
        "number": number,
        "type": TYPES[stype],
        "source": source,
        "period_ms": period_ms,
        "entity": [int(entity[0]), int(entity[1])],
        "unit": 0,
        "nominal": None,
    }
    if stype == "presence":
        if source["chip"] not in DISCRETE_CHIPS:
            raise BoardFileError(f"{where}.source.chip: a presence sensor reads a gpio")
        out["kind"] = "discrete"
        return out
    if source["chip"] in DISCRETE_CHIPS:
        raise BoardFileError(f"{where}.source.chip: gpio gives a presence sensor, not {stype}")
    unit = s.get("unit", TYPE_UNITS[stype])
    if not one_of(unit, UNITS):
        raise BoardFileError(f"{where}.unit: {unit!r} is not one of {', '.join(UNITS)}")
    rng = s.get("range")
    if not (isinstance(rng, list) and len(rng) == 2):
        raise BoardFileError(f"{where}.range: expected [min, max]")
    lo, hi = milli(rng[0], f"{where}.range"), milli(rng[1], f"{where}.range")
    res = milli(s.get("resolution"), f"{where}.resolution")
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
        _raw(given[k], lo, res, f"{where}.thresholds.{k}", warnings) if k in given else 0
        for k in THRESHOLDS
    ]
    bad = misordered({k: r for k, r in zip(THRESHOLDS, raw, strict=True) if k in given})
    if bad:
        a, b = bad[0], bad[1]
        raise BoardFileError(
            f"{where}.thresholds.{b}: {given[b]} ({describe(*bad)}, {given[a]}); "
            "thresholds keep lnr <= lc <= lnc < unc <= uc <= unr"
        )
    readable = sum(1 << i for i, k in enumerate(THRESHOLDS) if k in given)
    settable_names = s.get("settable", list(given))
    if not isinstance(settable_names, list) or not all(one_of(k, given) for k in settable_names):
        raise BoardFileError(f"{where}.settable: expected a list of thresholds it has")
    settable = sum(1 << THRESHOLDS.index(k) for k in settable_names)
    hyst = s.get("hysteresis", [0, 0])
    if not (isinstance(hyst, list) and len(hyst) == 2):
        raise BoardFileError(f"{where}.hysteresis: expected [positive, negative]")
    hraw = []
    for i, h in enumerate(hyst):
        m = milli(h, f"{where}.hysteresis[{i}]")
        hraw.append(round(m / res))
        if not 0 <= hraw[-1] <= 255:
            raise BoardFileError(f"{where}.hysteresis[{i}]: {h} is out of range")
        if hraw[-1] * res != m:
            warnings.append(
                f"{where}.hysteresis[{i}]: {h} becomes {hraw[-1] * res / 1000:g} "
                f"(the resolution is {res / 1000:g})"
            )
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
        out["nominal"] = _raw(s["nominal"], lo, res, f"{where}.nominal", warnings)
    return out


def on_private_bus(data: dict):
    """What a board file puts on the private bus among its sensors (a name), or None."""
    entries = data.get("sensors")
    for s in entries if isinstance(entries, list) else ():  # else: refused by config()
        src = s.get("source") if isinstance(s, dict) else None
        if isinstance(src, dict) and one_of(src.get("chip"), I2C_CHIPS):
            return f"sensor {s.get('name')!r} ({src['chip']})"
    return None


def config(data: dict, where: str, period: int, warnings: list) -> dict:
    """Firmware config keys (sensors, fru_locators) from a board file's data; a value
    rounded to the sensor's resolution adds a line to `warnings`."""
    entries = data.get("sensors") or []
    if not isinstance(entries, list):
        raise BoardFileError(f"{where}.sensors: expected a list")
    sensors, numbers, names = [], set(), set()
    for i, s in enumerate(entries):
        c = _sensor(s, f"{where}.sensors[{i}]", period, warnings)
        if c["number"] in numbers:
            raise BoardFileError(f"{where}.sensors[{i}].number: {c['number']} used twice")
        if c["name"] in names:
            raise BoardFileError(f"{where}.sensors[{i}].name: {c['name']!r} used twice")
        numbers.add(c["number"])
        names.add(c["name"])
        sensors.append(c)
    frus = [
        {"id": f["id"], "name": f"{data.get('name', '')} FRU {f['id']}".strip()[:16]}
        for f in data.get("fru") or []
        if isinstance(f, dict) and isinstance(f.get("id"), int) and f["id"] != 0
    ]
    return {"sensors": sensors, "fru_locators": frus}
