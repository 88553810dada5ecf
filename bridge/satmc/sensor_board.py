"""The `sensors:` list of a board file, validated into firmware config.

    private_bus: {scl: 5, sda: 4, freq: 100000}          # the board's own I2C (SoftI2C)
    scan_period_ms: 500                                  # default scan period
    sensors:
      - name: Board Temp                                 # SDR id string, up to 16 characters
        number: 1
        type: temperature                                # see TYPES
        unit: C                                          # see UNITS
        source: {chip: lm75, addr: 0x48}                 # see CHIPS; I2C parts: private_bus
        range: [-20, 107.5]                              # raw 0 reads as -20, 255 as 107.5
        resolution: 0.5                                  # unit per raw count
        thresholds: {unc: 60, uc: 75, unr: 90}           # lnc lc lnr unc uc unr, in the unit
        settable: [unc, uc]                              # default: every threshold given
        hysteresis: [2, 2]                               # positive, negative, in the unit
        period_ms: 250                                   # optional, else scan_period_ms
      - {name: Presence, number: 7, type: presence, source: {chip: gpio, pin: 7}}

Values are in engineering units; the firmware gets raw thresholds and the range and
resolution in thousandths of the unit, from which it computes the SDR's M, B, K1, K2.
Every FRU device of the board's `fru:` list but FRU 0 gets a FRU Device Locator SDR:
FRU 0 is the controller's own (Get Device ID and the MC Device Locator say it has one),
and a locator for it too made `ipmitool fru print` list it three times.
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
    "lm75": ("addr",),
    "ina219": ("addr", "measure"),
    "ina226": ("addr", "measure"),
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


I2C_CHIPS = ("lm75", "ina219", "ina226")


def _source(src, where: str, has_bus: bool) -> dict:
    if not isinstance(src, dict) or "chip" not in src:
        raise BoardFileError(f"{where}: expected a mapping with a chip")
    chip = src["chip"]
    if chip not in CHIPS:
        raise BoardFileError(f"{where}.chip: {chip!r} is not one of {', '.join(CHIPS)}")
    for key in CHIPS[chip]:
        if key not in src:
            raise BoardFileError(f"{where}.{key}: missing")
    out = {"chip": chip}
    if chip in I2C_CHIPS:
        if not has_bus:
            raise BoardFileError(f"{where}: an I2C part needs the board's private_bus")
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


def _sensor(s: dict, where: str, has_bus: bool, period: int) -> dict:
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
    source = _source(s.get("source"), f"{where}.source", has_bus)
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
    """Firmware config keys (sensors, fru_locators) from a board file's data."""
    entries = data.get("sensors") or []
    if not isinstance(entries, list):
        raise BoardFileError(f"{where}.sensors: expected a list")
    has_bus = isinstance(data.get("private_bus"), dict)
    period = data.get("scan_period_ms", 1000)
    sensors, numbers, names = [], set(), set()
    for i, s in enumerate(entries):
        c = _sensor(s, f"{where}.sensors[{i}]", has_bus, period)
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
