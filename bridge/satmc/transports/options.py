"""A target URL's options (`?key=value&...`): each one its scheme takes, each at most once,
else one line saying which (AdapterError). Every transport reads its options here, so a
misspelt option is refused the same way on every scheme instead of being ignored.

    opts = url_options("sim:///tmp/s.sock?readback=1", ("readback",))   # {"readback": "1"}
    flag("sim://...", "readback", opts["readback"])                       # True
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from ..errors import AdapterError

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def url_options(
    url: str, takes: tuple[str, ...], shown: str | None = None, example: str | None = None
) -> dict[str, str]:
    """{key: value} of the URL's query. shown: the URL as errors print it (a password
    hidden); example: what well-formed options look like."""
    shown = shown or url
    parts = urlsplit(url)
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        like = example or "&".join(f"{k}=VALUE" for k in takes) or "none"
        raise AdapterError(f"{shown}: options look like ?{like}") from None
    options: dict[str, str] = {}
    for key, value in pairs:
        if key not in takes:
            what = ", ".join(takes) if takes else "no options"
            raise AdapterError(f"{shown}: unknown option {key!r}; {parts.scheme}:// takes {what}")
        if key in options:
            raise AdapterError(f"{shown}: option {key!r} given twice")
        options[key] = value
    return options


def flag(shown: str, key: str, value: str) -> bool:
    """An on/off option's value (1, true, yes, on / 0, false, no, off)."""
    if value.lower() in TRUE + FALSE:
        return value.lower() in TRUE
    raise AdapterError(f"{shown}: {key}={value!r}: give 1 or 0")
