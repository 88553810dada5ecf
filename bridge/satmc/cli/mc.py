"""`satmc mc`: the controller itself, decoded (what `raw` shows as bytes).

satmc mc selftest          # Get Self Test Results: passed, or the failing parts
satmc mc guid              # Get Device GUID in the standard text form
satmc mc reset cold|warm   # and what the satellite answered
"""

from __future__ import annotations

from ..errors import CompletionCodeError, SatmcError
from ..ipmi import client
from ..ipmi.codes import CC_INVALID_COMMAND, cc_text
from . import output

SELFTEST_FIELDS = ("result", "detail", "passed", "text", "failures")
GUID_FIELDS = ("guid", "raw")


def register(sub) -> None:
    p = sub.add_parser("mc", help="the controller: self test, GUID, reset")
    msub = p.add_subparsers(dest="action", metavar="ACTION")
    msub.required = True
    q = msub.add_parser("selftest", help="Get Self Test Results, decoded (exit 1 unless passed)")
    output.add_options(q)
    q.set_defaults(func=selftest)
    q = msub.add_parser("guid", help="Get Device GUID in the standard text form")
    output.add_options(q)
    q.set_defaults(func=guid)
    q = msub.add_parser("reset", help="Cold or Warm Reset, and the satellite's answer")
    q.add_argument("kind", choices=("cold", "warm"))
    q.set_defaults(func=reset)


def selftest(args, sat) -> int:
    r = client.self_test(sat)

    def lines():
        yield f"Selftest: {r['text']} ({r['result']:02x} {r['detail']:02x})"
        yield from (f" -> {name}" for name in r["failures"])

    output.emit(args, r, SELFTEST_FIELDS, lines)
    return 0 if r["passed"] else 1


def guid(args, sat) -> int:
    raw = client.get_device_guid(sat)
    record = {"guid": client.guid_text(raw), "raw": raw.hex()}
    output.emit(args, record, GUID_FIELDS, lambda: [record["guid"]])
    return 0


def reset(args, sat) -> int:
    send = client.cold_reset if args.kind == "cold" else client.warm_reset
    try:
        send(sat)
    except CompletionCodeError as e:
        hint = "; use satmc mc reset cold" if args.kind == "warm" else ""
        if e.cc == CC_INVALID_COMMAND:
            raise SatmcError(
                f"this satellite does not support {args.kind.capitalize()} Reset "
                f"(0x{e.cc:02x} {cc_text(e.cc)}){hint}"
            ) from None
        raise
    print(f"{args.kind} reset: accepted (completion code 00); the satellite restarts")
    return 0
