"""The bench BMC: the bridge serving IPMI over LAN at IPMB 0x20, in front of the
satellites on the bus it reaches.

Two halves meet in `satmc.bmc.api`: the LAN side (RMCP, RMCP+, sessions, users) turns
datagrams into `BmcRequest`s; the chassis side (the BMC's own commands, Send Message
bridging, SDR repository, SEL, FRU) answers them. Neither half knows the other's
internals.
"""
