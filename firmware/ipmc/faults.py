"""Faults the firmware survives: counted always, told only where text cannot do harm.

    faults.caught(mc.stats, "handler_errors", e)   # count it, keep it, print it if safe
    faults.task(mc.stats, self._sender)            # an asyncio task started again if it dies

One request, one device or one frame must never stop a service: the loops of the
long-lived tasks catch what a step raises (a handler's fault answers FF, a driver's
makes its reading unavailable) and go on. A task that dies anyway is started again
after RESTART_MS by its supervisor and counted (task_errors). CancelledError and
KeyboardInterrupt (the REPL's Ctrl-C) are not Exceptions and pass through.

The USB serial is stdout. While it speaks IPMI Serial Basic Mode (serial_basic sets
`quiet`), a traceback would land in a host's byte stream, so nothing is printed then;
the last fault is kept (`last`) and main prints it when the line goes back to the REPL.
"""

import asyncio
import sys

from micropython import const

RESTART_MS = const(100)

quiet = False  # True while the serial line carries Serial Basic Mode frames
last = None  # the most recent fault, for the REPL


def caught(stats, counter, e):
    """Count a fault the firmware survived; print its traceback unless the line is busy."""
    global last
    stats[counter] += 1
    last = e
    if not quiet:
        tell(e)


def tell(e):
    try:
        sys.print_exception(e)
    except Exception:  # no heap left for the text: the counter already says it
        pass


async def _supervised(stats, fn, args):
    while True:
        try:
            await fn(*args)
            return  # a task that ends by itself is done
        except Exception as e:
            caught(stats, "task_errors", e)
        await asyncio.sleep_ms(RESTART_MS)


def task(stats, fn, *args):
    """asyncio.create_task(fn(*args)), started again (and counted) whenever it raises."""
    return asyncio.create_task(_supervised(stats, fn, args))
