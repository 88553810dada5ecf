"""The bench BMC's LAN side: RMCP and RMCP+ framing (wire), cipher suites (crypto),
users (users), the session state machine (session) and its asyncio UDP server (server)."""

from .session import Endpoint, Options
from .users import Users, load

__all__ = ["Endpoint", "Options", "Users", "load"]
