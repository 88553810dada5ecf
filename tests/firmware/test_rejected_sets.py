"""Every invalid variant of every command that changes state is refused and changes nothing.

State is read back the way a host sees it: with the Get counterpart of each Set command.
"""

from fakes import CONFIG, CRITICAL, FakeController, FakeTarget, ask, sensor_entry
from test_fru import RAMStore, image

from ipmc import app, events, fru, sdr, sensor_setup, sensors  # noqa: F401
from ipmc.link import IPMBLink
from ipmc.mc import MC

_SENSOR = 0x04
_STORAGE = 0x0A
_APP = 0x06
THRESHOLD = 1  # threshold sensor: LNC LC UNC UC readable, UNC UC settable
DISCRETE = 2  # entity presence
ABSENT = 9
_FRU_SIZE = 64


def _mc():
    fru._devices.clear()
    mc = MC(CONFIG)
    mc.link = IPMBLink(FakeTarget(), FakeController(), 0x72, critical=CRITICAL, stats=mc.stats)
    events.setup(mc)
    mc.sensors = sensors.Sensors()
    mc.sdrs = sdr.Repository()
    common = {"type": 1, "unit": 1, "lo_milli": -20000, "res_milli": 500}
    t = sensor_entry(name="Board Temp", number=THRESHOLD, kind="threshold", **common)
    t.update(thresholds=[50, 40, 0, 160, 190, 220], readable=0x1B, settable=0x18)
    t["hysteresis"] = [4, 3]
    d = sensor_entry(name="Present", number=DISCRETE, kind="discrete", **common)
    d["type"] = 0x25
    for c, value in ((t, 25000), (d, 1)):
        s = sensor_setup.make_sensor(mc, c, lambda v=value: v)
        s.scan()
        mc.sensors.add(s)
        mc.sdrs.add(s.record)
    mc.sdrs.changed()
    dev = fru.FRUDevice(0, RAMStore(image(), _FRU_SIZE), _FRU_SIZE)
    dev.load()
    fru._devices.append(dev)
    return mc


def _state(mc, reservation):
    """Everything a rejected request could have changed, as Get commands report it."""
    out = [ask(mc, _SENSOR, 0x01)]  # Get Event Receiver
    for n in (THRESHOLD, DISCRETE):
        for cmd, data in ((0x2D, b""), (0x29, b""), (0x2B, b""), (0x27, b""), (0x25, b"\xff")):
            out.append(ask(mc, _SENSOR, cmd, bytes((n,)) + data))
    out.append(ask(mc, _SENSOR, 0x20, b"\x01"))  # SDR count and change indicator
    rid = 1
    while rid != 0xFFFF:  # every record, read under the reservation taken before
        rec = b""
        cc, d = ask(mc, _SENSOR, 0x21, reservation + bytes((rid, 0, 0, 5)))
        out.append(cc)
        if cc:
            break
        nxt, rec = d[0] | d[1] << 8, bytearray(d[2:])
        while len(rec) < 5 + rec[4]:
            at = len(rec)
            q = reservation + bytes((rid, 0, at, min(22, 5 + rec[4] - at)))
            cc, d = ask(mc, _SENSOR, 0x21, q)
            out.append(cc)
            rec += d[2:]
        out.append(bytes(rec))
        rid = nxt
    for at in range(0, _FRU_SIZE, 16):
        out.append(ask(mc, _STORAGE, 0x11, bytes((0, at, 0, 16))))
    out.append(mc.reset_requested)
    return out


INVALID = (
    # Set Event Receiver: both bytes, an even address or FFh
    (_SENSOR, 0x00, b""),
    (_SENSOR, 0x00, b"\x30"),
    (_SENSOR, 0x00, b"\x30\x00\x00"),
    (_SENSOR, 0x00, b"\x31\x00"),
    (_SENSOR, 0x00, b"\xfd\x00"),
    # Set Sensor Hysteresis: sensor, mask, positive, negative; threshold sensors only
    (_SENSOR, 0x24, bytes((THRESHOLD, 0xFF, 9))),
    (_SENSOR, 0x24, bytes((THRESHOLD, 0xFF, 9, 9, 9))),
    (_SENSOR, 0x24, bytes((ABSENT, 0xFF, 9, 9))),
    (_SENSOR, 0x24, bytes((DISCRETE, 0xFF, 9, 9))),
    # Set Sensor Thresholds: sensor, mask, six values; settable thresholds only
    (_SENSOR, 0x26, bytes((THRESHOLD, 0x08, 1, 1, 1, 1, 1))),
    (_SENSOR, 0x26, bytes((THRESHOLD, 0x08, 1, 1, 1, 1, 1, 1, 1))),
    (_SENSOR, 0x26, bytes((ABSENT, 0x08, 1, 1, 1, 1, 1, 1))),
    (_SENSOR, 0x26, bytes((DISCRETE, 0x08, 1, 1, 1, 1, 1, 1))),
    (_SENSOR, 0x26, bytes((THRESHOLD, 0x01, 1, 1, 1, 1, 1, 1))),  # LNC: readable only
    (_SENSOR, 0x26, bytes((THRESHOLD, 0x04, 1, 1, 1, 1, 1, 1))),  # LNR: absent
    (_SENSOR, 0x26, bytes((THRESHOLD, 0x20, 1, 1, 1, 1, 1, 1))),  # UNR: absent
    (_SENSOR, 0x26, bytes((THRESHOLD, 0x48, 1, 1, 1, 1, 1, 1))),  # reserved bit 6
    (_SENSOR, 0x26, bytes((THRESHOLD, 0x88, 1, 1, 1, 1, 1, 1))),  # reserved bit 7
    # Re-arm Sensor Events: sensor, [7] selected, masks (optional)
    (_SENSOR, 0x2A, bytes((THRESHOLD,))),
    (_SENSOR, 0x2A, bytes((THRESHOLD, 0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0))),
    (_SENSOR, 0x2A, bytes((ABSENT, 0x00))),
    # Reserve Device SDR Repository: no data
    (_SENSOR, 0x22, b"\x00"),
    # Write FRU Data: id, offset, at least one byte, inside the device
    (_STORAGE, 0x12, b"\x00\x00\x00"),
    (_STORAGE, 0x12, bytes((7, 0, 0, 0x55))),
    (_STORAGE, 0x12, bytes((0, _FRU_SIZE, 0, 0x55))),
    (_STORAGE, 0x12, bytes((0, 0xFF, 0xFF, 0x55))),
    (_STORAGE, 0x12, bytes((0, _FRU_SIZE - 2, 0, 0x55, 0x55, 0x55))),
    # Cold Reset: no data
    (_APP, 0x02, b"\x00"),
)

# Set Sensor Event Enable: sensor, flags, masks (optional); action 11b is reserved
_EVENT_ENABLE = tuple(
    (_SENSOR, 0x28, bytes((n, flags | 0x30)) + masks)
    for n in (THRESHOLD, DISCRETE)
    for flags in (0x00, 0x40, 0x80, 0xC0)
    for masks in (b"", b"\xff", b"\xff\xff\xff\xff")
) + (
    (_SENSOR, 0x28, bytes((THRESHOLD,))),
    (_SENSOR, 0x28, bytes((THRESHOLD, 0x90, 0xFF, 0xFF, 0xFF, 0xFF, 0))),
    (_SENSOR, 0x28, bytes((ABSENT, 0x00))),
)


def test_rejected_set_commands_change_nothing():
    mc = _mc()
    for netfn, cmd, data in INVALID + _EVENT_ENABLE:
        reservation = ask(mc, _SENSOR, 0x22)[1]
        before = _state(mc, reservation)
        cc, _ = ask(mc, netfn, cmd, data)
        assert cc not in (0x00, 0xFF), (netfn, cmd, data, cc)
        after = _state(mc, reservation)
        assert after == before, (netfn, cmd, bytes(data), cc)


def test_the_state_read_back_does_see_accepted_changes():
    mc = _mc()
    reservation = ask(mc, _SENSOR, 0x22)[1]
    accepted = (
        (_SENSOR, 0x00, b"\x30\x00"),
        (_SENSOR, 0x24, bytes((THRESHOLD, 0xFF, 9, 9))),
        (_SENSOR, 0x26, bytes((THRESHOLD, 0x08, 1, 1, 1, 150, 1, 1))),
        (_SENSOR, 0x28, bytes((THRESHOLD, 0x00))),
        (_SENSOR, 0x28, bytes((DISCRETE, 0xE0, 0x01))),
        (_STORAGE, 0x12, bytes((0, 20, 0, 0x55))),
        (_APP, 0x02, b""),
    )
    for netfn, cmd, data in accepted:
        before = _state(mc, reservation)
        assert ask(mc, netfn, cmd, data)[0] == 0, (netfn, cmd, data)
        assert _state(mc, reservation) != before, (netfn, cmd, data)
        reservation = ask(mc, _SENSOR, 0x22)[1]
