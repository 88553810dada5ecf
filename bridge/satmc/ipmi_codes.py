"""Completion codes and network functions, with readable names."""

COMPLETION_CODES = {
    0x00: "ok",
    0xC0: "node busy",
    0xC1: "invalid command",
    0xC2: "invalid for LUN",
    0xC3: "timeout",
    0xC4: "out of space",
    0xC5: "reservation cancelled or invalid",
    0xC6: "request data truncated",
    0xC7: "request data length invalid",
    0xC8: "request data field length limit exceeded",
    0xC9: "parameter out of range",
    0xCA: "cannot return number of requested data bytes",
    0xCB: "requested sensor, data or record not present",
    0xCC: "invalid data field in request",
    0xCD: "command illegal for sensor or record type",
    0xCE: "response could not be provided",
    0xCF: "duplicated request",
    0xD3: "destination unavailable",
    0xD4: "insufficient privilege level",
    0xD5: "not supported in present state",
    0xD6: "command disabled",
    0xFF: "unspecified error",
}

NETFNS = {
    "chassis": 0x00,
    "bridge": 0x02,
    "sensor": 0x04,
    "se": 0x04,
    "app": 0x06,
    "firmware": 0x08,
    "storage": 0x0A,
    "transport": 0x0C,
    "picmg": 0x2C,
}


def cc_text(cc: int) -> str:
    if 0x80 <= cc <= 0xBE:
        return "command-specific error"
    return COMPLETION_CODES.get(cc, "reserved")
