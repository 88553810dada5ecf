"""The IPMI vocabulary of the host, in one place.

    codes.py     netFn, command and completion code numbers, their names; SDR units,
                 sensor types and event offsets
    messages.py  satmc's OEM commands (and what else python-ipmi lacks) as python-ipmi
                 message classes, registered; the firmware's counter names
    client.py    one function per request (device id, self test, counters, heap, event
                 receiver, device SDRs, sensor readings, FRU data), encoded and decoded
                 with pyipmi.msgs

Sensor listing and thresholds (satmc.sensors), the event receiver (satmc.eventlog) and
FRU access (satmc.fru.access) are built on client.py; the CLI only parses and prints.
codes.py imports nothing, so every layer (transports included) may use it; importing
messages.py (client.py does) registers the OEM messages with python-ipmi.
"""
