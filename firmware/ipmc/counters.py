"""The firmware's counters, by name, in the order the OEM statistics command reports them.

    stats = Counters()
    stats["requests"] += 1

Every bounded queue and every dropped frame has a counter here; nothing is dropped
without one saying so. The host reads this very list (satmc.ipmi.messages) to name them.
A counter stops at CAP: beyond 2**30 - 1 an int is a heap object on 32-bit ports, and
every increment would allocate (after ~12 days at 1000 requests/s).
"""

CAP = 0x3FFFFFFE  # CAP + 1 is still a small int on 32-bit ports (no const(): the host
# imports this module too)

NAMES = (
    "frames_in",  # frames received on IPMB (before validation)
    "malformed",  # dropped: too short, too long or bad checksum
    "oversize",  # dropped: longer than an IPMB frame
    "rx_overflow",  # dropped: receive ring full
    "not_for_us",  # dropped: broadcast for another address, stray response
    "requests",  # requests dispatched
    "outbox_full",  # responses not queued: outbox full
    "sent",  # frames delivered by master write
    "send_retries",  # master-write attempts repeated
    "send_failed",  # master writes given up (frame left for readback)
    "read_back",  # frames delivered by readback
    "readback_partial",  # reads that took less than a whole frame (length peeks included)
    "expired",  # responses nobody collected within 5 s
    "serial_frames",  # Serial Basic Mode frames received
    "serial_dropped",  # Serial Basic Mode frames dropped: bad escape, too long, empty
    "events_queued",  # events generated and queued for the event receiver
    "events_sent",  # Platform Event requests sent (first tries)
    "events_retried",  # Platform Event requests sent again (no answer within a try)
    "events_acked",  # events the receiver answered with cc 00
    "events_dropped",  # events lost: queue full, or no answer after all tries
    "sensor_errors",  # sensor reads that failed: chip errors and driver faults (unavailable)
    "handler_errors",  # requests whose handler raised: answered FF
    "task_errors",  # faults a long-lived task survived outside a handler, or restarted it
    "firewall_fallbacks",  # saved firewall policy torn or corrupt at boot: board file's used
    "withdrawn",  # our own frames (events) taken back from the outbox undelivered: the
    # event was answered or given up while a copy still waited (e.g. parked for readback)
    "events_overflow",  # of events_dropped: dropped at once, the queue being full (so
    # events_queued == events_acked + events_dropped - events_overflow + still queued)
)


class Counters:
    """Counters by name (a fixed set); values saturate at CAP. Nothing here allocates."""

    def __init__(self):
        self._values = {name: 0 for name in NAMES}

    def __getitem__(self, name):
        return self._values[name]

    def __setitem__(self, name, value):
        if name not in self._values:
            raise KeyError(name)
        self._values[name] = value if value < CAP else CAP
