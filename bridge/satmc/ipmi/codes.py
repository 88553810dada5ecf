"""IPMI numbers and their names, as the host uses them (IPMI v2.0, IPMB v1.0, FRU v1.0).

    from satmc.ipmi import codes
    sat.raw(codes.NETFN_APP, codes.CMD_GET_DEVICE_ID)
    codes.cc_text(0xC9)                          # 'parameter out of range'
    codes.cc_text(0x80, codes.NETFN_STORAGE, codes.CMD_WRITE_FRU_DATA)  # 'write protected'

Requests are encoded and answers decoded by `satmc.ipmi.client` with python-ipmi's
message classes; these names are for what has no message (raw requests, conformance
probes, the CLI's `raw`) and for printing. The firmware keeps its own numbers
(firmware/ipmc/dispatch.py): the host is an independent implementation on purpose.
"""

from __future__ import annotations

# --- network functions (requests; the response is netFn + 1) ------------------------------
NETFN_CHASSIS = 0x00
NETFN_BRIDGE = 0x02
NETFN_SENSOR = 0x04  # Sensor/Event
NETFN_APP = 0x06
NETFN_FIRMWARE = 0x08
NETFN_STORAGE = 0x0A
NETFN_TRANSPORT = 0x0C
NETFN_GROUP = 0x2C  # Group Extension (PICMG)
NETFN_OEM = 0x30  # satmc's own commands (satmc.ipmi.messages)

NETFNS = {
    "chassis": NETFN_CHASSIS,
    "bridge": NETFN_BRIDGE,
    "sensor": NETFN_SENSOR,
    "se": NETFN_SENSOR,
    "app": NETFN_APP,
    "firmware": NETFN_FIRMWARE,
    "storage": NETFN_STORAGE,
    "transport": NETFN_TRANSPORT,
    "picmg": NETFN_GROUP,
}

# --- Chassis (00) -------------------------------------------------------------------------
CMD_GET_CHASSIS_CAPABILITIES = 0x00
CMD_GET_CHASSIS_STATUS = 0x01
CMD_CHASSIS_CONTROL = 0x02
CMD_CHASSIS_IDENTIFY = 0x04
CMD_GET_SYSTEM_RESTART_CAUSE = 0x07
CMD_GET_POH_COUNTER = 0x0F
RESTART_CAUSE_UNKNOWN = 0x00  # Get System Restart Cause byte 1 [3:0]
CHASSIS_CONTROL_LAST = 0x05  # power down, up, cycle, hard reset, diagnostic pulse, soft off
POWER_RESTORE_UNKNOWN = 0x03  # Get Chassis Status byte 1 [6:5]
CHASSIS_IDENTIFY_DEFAULT_S = 15
CHASSIS_IDENTIFY_SUPPORTED = 0x40  # Get Chassis Status byte 3 [6]; the state in [5:4]
IDENTIFY_OFF, IDENTIFY_TIMED, IDENTIFY_ON = 0, 1, 2

# --- App (06) -----------------------------------------------------------------------------
CMD_GET_DEVICE_ID = 0x01
CMD_COLD_RESET = 0x02
CMD_WARM_RESET = 0x03
CMD_GET_SELF_TEST_RESULTS = 0x04
CMD_GET_DEVICE_GUID = 0x08
CMD_SEND_MESSAGE = 0x34
# Firmware Firewall and command discovery (IPMI 2.0 ch. 21)
CMD_GET_NETFN_SUPPORT = 0x09
CMD_GET_COMMAND_SUPPORT = 0x0A
CMD_GET_COMMAND_SUBFUNCTION_SUPPORT = 0x0B
CMD_GET_CONFIGURABLE_COMMANDS = 0x0C
CMD_GET_CONFIGURABLE_COMMAND_SUBFUNCTIONS = 0x0D
CMD_SET_COMMAND_ENABLES = 0x60
CMD_GET_COMMAND_ENABLES = 0x61
CMD_SET_COMMAND_SUBFUNCTION_ENABLES = 0x62
CMD_GET_COMMAND_SUBFUNCTION_ENABLES = 0x63
CMD_GET_OEM_NETFN_IANA_SUPPORT = 0x64
FIREWALL_COMMANDS = tuple(  # the firewall's own: never configurable
    (NETFN_APP, c)
    for c in (
        CMD_GET_NETFN_SUPPORT,
        CMD_GET_COMMAND_SUPPORT,
        CMD_GET_COMMAND_SUBFUNCTION_SUPPORT,
        CMD_GET_CONFIGURABLE_COMMANDS,
        CMD_GET_CONFIGURABLE_COMMAND_SUBFUNCTIONS,
        CMD_SET_COMMAND_ENABLES,
        CMD_GET_COMMAND_ENABLES,
        CMD_SET_COMMAND_SUBFUNCTION_ENABLES,
        CMD_GET_COMMAND_SUBFUNCTION_ENABLES,
        CMD_GET_OEM_NETFN_IANA_SUPPORT,
    )
)

CMD_GET_SYSTEM_GUID = 0x37
CMD_GET_CHANNEL_ACCESS = 0x41
CMD_GET_CHANNEL_INFO = 0x42

# --- Transport (0C) -----------------------------------------------------------------------
CMD_SET_SOL_CONFIGURATION = 0x21
CMD_GET_SOL_CONFIGURATION = 0x22

# App (06), the session and user commands the bench BMC's LAN side answers
CMD_GET_CHANNEL_AUTH_CAPABILITIES = 0x38
CMD_GET_SESSION_CHALLENGE = 0x39
CMD_ACTIVATE_SESSION = 0x3A
CMD_SET_SESSION_PRIVILEGE = 0x3B
CMD_CLOSE_SESSION = 0x3C
CMD_GET_SESSION_INFO = 0x3D
CMD_SET_USER_ACCESS = 0x43
CMD_GET_USER_ACCESS = 0x44
CMD_SET_USER_NAME = 0x45
CMD_GET_USER_NAME = 0x46
CMD_SET_USER_PASSWORD = 0x47
CMD_GET_CHANNEL_CIPHER_SUITES = 0x54

# --- Sensor/Event (04) --------------------------------------------------------------------
CMD_SET_EVENT_RECEIVER = 0x00
CMD_GET_EVENT_RECEIVER = 0x01
CMD_PLATFORM_EVENT = 0x02
CMD_GET_DEVICE_SDR_INFO = 0x20
CMD_GET_DEVICE_SDR = 0x21
CMD_RESERVE_DEVICE_SDR_REPOSITORY = 0x22
CMD_GET_SENSOR_READING_FACTORS = 0x23
CMD_SET_SENSOR_HYSTERESIS = 0x24
CMD_GET_SENSOR_HYSTERESIS = 0x25
CMD_SET_SENSOR_THRESHOLDS = 0x26
CMD_GET_SENSOR_THRESHOLDS = 0x27
CMD_SET_SENSOR_EVENT_ENABLE = 0x28
CMD_GET_SENSOR_EVENT_ENABLE = 0x29
CMD_REARM_SENSOR_EVENTS = 0x2A
CMD_GET_SENSOR_EVENT_STATUS = 0x2B
CMD_GET_SENSOR_READING = 0x2D

# --- Storage (0A) -------------------------------------------------------------------------
CMD_GET_FRU_INVENTORY_AREA_INFO = 0x10
CMD_READ_FRU_DATA = 0x11
CMD_WRITE_FRU_DATA = 0x12
CMD_GET_SDR_REPOSITORY_INFO = 0x20
CMD_GET_SDR_REPOSITORY_ALLOCATION_INFO = 0x21
CMD_RESERVE_SDR_REPOSITORY = 0x22
CMD_GET_SDR = 0x23
CMD_ADD_SDR = 0x24
CMD_PARTIAL_ADD_SDR = 0x25
CMD_DELETE_SDR = 0x26
CMD_CLEAR_SDR_REPOSITORY = 0x27
CMD_GET_SEL_INFO = 0x40
CMD_GET_SEL_ALLOCATION_INFO = 0x41
CMD_RESERVE_SEL = 0x42
CMD_GET_SEL_ENTRY = 0x43
CMD_ADD_SEL_ENTRY = 0x44
CMD_PARTIAL_ADD_SEL_ENTRY = 0x45
CMD_DELETE_SEL_ENTRY = 0x46
CMD_CLEAR_SEL = 0x47
CMD_GET_SEL_TIME = 0x48
CMD_SET_SEL_TIME = 0x49

# --- satmc OEM (30) -----------------------------------------------------------------------
CMD_GET_STATISTICS = 0x01
CMD_GET_HEAP_INFO = 0x02

# --- PICMG (2C), HPM.1 firmware upgrade: every request starts with the PICMG identifier ---
PICMG_IDENTIFIER = 0x00
CMD_GET_PICMG_PROPERTIES = 0x00
CMD_HPM_GET_TARGET_UPGRADE_CAPABILITIES = 0x2E
CMD_HPM_GET_COMPONENT_PROPERTIES = 0x2F
CMD_HPM_ABORT_FIRMWARE_UPGRADE = 0x30
CMD_HPM_INITIATE_UPGRADE_ACTION = 0x31
CMD_HPM_UPLOAD_FIRMWARE_BLOCK = 0x32
CMD_HPM_FINISH_FIRMWARE_UPLOAD = 0x33
CMD_HPM_GET_UPGRADE_STATUS = 0x34
CMD_HPM_ACTIVATE_FIRMWARE = 0x35
CMD_HPM_QUERY_SELF_TEST_RESULTS = 0x36
CMD_HPM_QUERY_ROLLBACK_STATUS = 0x37
CMD_HPM_INITIATE_MANUAL_ROLLBACK = 0x38
HPM_ACTION_BACKUP = 0x00  # Initiate Upgrade Action, and the image's action records
HPM_ACTION_PREPARE = 0x01
HPM_ACTION_UPLOAD = 0x02
HPM_PROP_GENERAL = 0x00  # Get Component Properties selectors
HPM_PROP_CURRENT_VERSION = 0x01
HPM_PROP_DESCRIPTION = 0x02
HPM_PROP_ROLLBACK_VERSION = 0x03
HPM_CAP_SELF_TEST = 0x01  # Get Target Upgrade Capabilities, byte 3
HPM_CAP_AUTO_ROLLBACK = 0x02
HPM_CAP_MANUAL_ROLLBACK = 0x04
HPM_TIMEOUT_UNIT_S = 5  # the capabilities' and the image header's timeouts count 5 s
CC_HPM_IN_PROGRESS = 0x80  # a long-duration command: poll Get Upgrade Status
CC_HPM_81 = 0x81  # length mismatch (Finish), invalid component mask (Initiate)
CC_HPM_82 = 0x82  # integrity check failure (Finish), invalid component ID, mode

# --- command names (board files' firewall policies, `satmc firewall`) ---------------------
COMMANDS = {
    NETFN_APP: {
        "get_device_id": CMD_GET_DEVICE_ID,
        "cold_reset": CMD_COLD_RESET,
        "warm_reset": CMD_WARM_RESET,
        "get_self_test_results": CMD_GET_SELF_TEST_RESULTS,
        "get_device_guid": CMD_GET_DEVICE_GUID,
        "send_message": CMD_SEND_MESSAGE,
        "get_netfn_support": CMD_GET_NETFN_SUPPORT,
        "get_command_support": CMD_GET_COMMAND_SUPPORT,
        "get_command_subfunction_support": CMD_GET_COMMAND_SUBFUNCTION_SUPPORT,
        "get_configurable_commands": CMD_GET_CONFIGURABLE_COMMANDS,
        "get_configurable_command_subfunctions": CMD_GET_CONFIGURABLE_COMMAND_SUBFUNCTIONS,
        "set_command_enables": CMD_SET_COMMAND_ENABLES,
        "get_command_enables": CMD_GET_COMMAND_ENABLES,
        "set_command_subfunction_enables": CMD_SET_COMMAND_SUBFUNCTION_ENABLES,
        "get_command_subfunction_enables": CMD_GET_COMMAND_SUBFUNCTION_ENABLES,
        "get_oem_netfn_iana_support": CMD_GET_OEM_NETFN_IANA_SUPPORT,
    },
    NETFN_SENSOR: {
        "set_event_receiver": CMD_SET_EVENT_RECEIVER,
        "get_event_receiver": CMD_GET_EVENT_RECEIVER,
        "platform_event": CMD_PLATFORM_EVENT,
        "get_device_sdr_info": CMD_GET_DEVICE_SDR_INFO,
        "get_device_sdr": CMD_GET_DEVICE_SDR,
        "reserve_device_sdr_repository": CMD_RESERVE_DEVICE_SDR_REPOSITORY,
        "set_sensor_hysteresis": CMD_SET_SENSOR_HYSTERESIS,
        "set_sensor_thresholds": CMD_SET_SENSOR_THRESHOLDS,
        "set_sensor_event_enable": CMD_SET_SENSOR_EVENT_ENABLE,
        "rearm_sensor_events": CMD_REARM_SENSOR_EVENTS,
        "get_sensor_reading_factors": CMD_GET_SENSOR_READING_FACTORS,
        "get_sensor_hysteresis": CMD_GET_SENSOR_HYSTERESIS,
        "get_sensor_thresholds": CMD_GET_SENSOR_THRESHOLDS,
        "get_sensor_event_enable": CMD_GET_SENSOR_EVENT_ENABLE,
        "get_sensor_event_status": CMD_GET_SENSOR_EVENT_STATUS,
        "get_sensor_reading": CMD_GET_SENSOR_READING,
    },
    NETFN_STORAGE: {
        "get_fru_inventory_area_info": CMD_GET_FRU_INVENTORY_AREA_INFO,
        "read_fru_data": CMD_READ_FRU_DATA,
        "write_fru_data": CMD_WRITE_FRU_DATA,
    },
    NETFN_GROUP: {
        "hpm_abort_firmware_upgrade": CMD_HPM_ABORT_FIRMWARE_UPGRADE,
        "hpm_initiate_upgrade_action": CMD_HPM_INITIATE_UPGRADE_ACTION,
        "hpm_upload_firmware_block": CMD_HPM_UPLOAD_FIRMWARE_BLOCK,
        "hpm_finish_firmware_upload": CMD_HPM_FINISH_FIRMWARE_UPLOAD,
        "hpm_activate_firmware": CMD_HPM_ACTIVATE_FIRMWARE,
        "hpm_initiate_manual_rollback": CMD_HPM_INITIATE_MANUAL_ROLLBACK,
    },
    NETFN_OEM: {"get_statistics": CMD_GET_STATISTICS, "get_heap_info": CMD_GET_HEAP_INFO},
}


def command_name(netfn: int, cmd: int) -> str | None:
    """The name COMMANDS gives a request netFn/cmd, or None."""
    for name, number in COMMANDS.get(netfn, {}).items():
        if number == cmd:
            return name
    return None


ACRONYMS = {
    "id": "ID",
    "sdr": "SDR",
    "fru": "FRU",
    "guid": "GUID",
    "hpm": "HPM",
    "oem": "OEM",
    "iana": "IANA",
    "netfn": "NetFn",
}


def command_title(netfn: int, cmd: int) -> str:
    """A request as the specification names it (Get Device SDR Info), else by its numbers
    (netFn 0x2c cmd 0x2e): for messages."""
    name = command_name(netfn, cmd)
    if name is None:
        return f"netFn 0x{netfn:02x} cmd 0x{cmd:02x}"
    return " ".join(ACRONYMS.get(w, w.capitalize()) for w in name.split("_"))


# commands with sub-functions (the firewall may switch single ones off): what picks one
SUBFUNCTIONS = {
    (NETFN_STORAGE, CMD_GET_FRU_INVENTORY_AREA_INFO): "FRU device id",
    (NETFN_STORAGE, CMD_READ_FRU_DATA): "FRU device id",
    (NETFN_STORAGE, CMD_WRITE_FRU_DATA): "FRU device id",
}

# --- channels (the firewall's policy is per channel) --------------------------------------
CHANNEL_IPMB = 0
CHANNEL_SERIAL = 1  # Serial Basic Mode on the board's USB serial
CHANNEL_PRESENT = 0x0E  # in a request: the channel this request came on
CHANNELS = {"ipmb": CHANNEL_IPMB, "serial": CHANNEL_SERIAL}

# --- completion codes ---------------------------------------------------------------------
CC_OK = 0x00
CC_BUSY = 0xC0
CC_INVALID_COMMAND = 0xC1
CC_INVALID_FOR_LUN = 0xC2
CC_TIMEOUT = 0xC3
CC_OUT_OF_SPACE = 0xC4
CC_RESERVATION = 0xC5
CC_TRUNCATED = 0xC6
CC_LENGTH = 0xC7
CC_FIELD_LENGTH = 0xC8
CC_OUT_OF_RANGE = 0xC9
CC_CANNOT_RETURN = 0xCA
CC_NOT_PRESENT = 0xCB
CC_INVALID_DATA = 0xCC
CC_ILLEGAL_FOR_TYPE = 0xCD
CC_NO_RESPONSE = 0xCE
CC_DUPLICATE = 0xCF
CC_DESTINATION_UNAVAILABLE = 0xD3
CC_PRIVILEGE = 0xD4
CC_NOT_IN_STATE = 0xD5
CC_DISABLED = 0xD6
CC_UNSPECIFIED = 0xFF
# Write FRU Data's own (command specific, 80h-BEh)
CC_FRU_WRITE_PROTECTED = 0x80
CC_FRU_BUSY = 0x81
# Send Message's own
CC_SEND_INVALID_SESSION = 0x80
CC_SEND_LOST_ARBITRATION = 0x81
CC_SEND_BUS_ERROR = 0x82
CC_SEND_NAK_ON_WRITE = 0x83  # nothing acknowledged the address: no satellite there
# Get/Set SOL Configuration Parameters' own
CC_SOL_PARAMETER_NOT_SUPPORTED = 0x80

COMPLETION_CODES = {
    CC_OK: "ok",
    CC_BUSY: "node busy",
    CC_INVALID_COMMAND: "invalid command",
    CC_INVALID_FOR_LUN: "invalid for LUN",
    CC_TIMEOUT: "timeout",
    CC_OUT_OF_SPACE: "out of space",
    CC_RESERVATION: "reservation cancelled or invalid",
    CC_TRUNCATED: "request data truncated",
    CC_LENGTH: "request data length invalid",
    CC_FIELD_LENGTH: "request data field length limit exceeded",
    CC_OUT_OF_RANGE: "parameter out of range",
    CC_CANNOT_RETURN: "cannot return number of requested data bytes",
    CC_NOT_PRESENT: "requested sensor, data or record not present",
    CC_INVALID_DATA: "invalid data field in request",
    CC_ILLEGAL_FOR_TYPE: "command illegal for sensor or record type",
    CC_NO_RESPONSE: "response could not be provided",
    CC_DUPLICATE: "duplicated request",
    CC_DESTINATION_UNAVAILABLE: "destination unavailable",
    CC_PRIVILEGE: "insufficient privilege level or security restriction (firmware firewall)",
    CC_NOT_IN_STATE: "not supported in present state",
    CC_DISABLED: "command sub-function disabled (firmware firewall)",
    CC_UNSPECIFIED: "unspecified error",
}

COMMAND_SPECIFIC_CODES = {
    (NETFN_STORAGE, CMD_WRITE_FRU_DATA): {
        CC_FRU_WRITE_PROTECTED: "write protected",
        CC_FRU_BUSY: "FRU device busy",
    },
    (NETFN_APP, CMD_SEND_MESSAGE): {
        CC_SEND_INVALID_SESSION: "invalid session handle",
        CC_SEND_LOST_ARBITRATION: "lost arbitration",
        CC_SEND_BUS_ERROR: "bus error",
        CC_SEND_NAK_ON_WRITE: "NAK on write",
    },
    (NETFN_TRANSPORT, CMD_GET_SOL_CONFIGURATION): {
        CC_SOL_PARAMETER_NOT_SUPPORTED: "parameter not supported",
    },
    (NETFN_GROUP, CMD_HPM_FINISH_FIRMWARE_UPLOAD): {
        CC_HPM_IN_PROGRESS: "command in progress",
        CC_HPM_81: "image length mismatch",
        CC_HPM_82: "image integrity check failed",
    },
    (NETFN_GROUP, CMD_HPM_INITIATE_UPGRADE_ACTION): {
        CC_HPM_IN_PROGRESS: "command in progress",
        CC_HPM_81: "invalid components",
        CC_HPM_82: "upload mode not supported",
    },
}


def cc_text(cc: int, netfn: int | None = None, cmd: int | None = None) -> str:
    """A completion code in words; 80h-BEh are named when the command is given."""
    if 0x80 <= cc <= 0xBE:
        return COMMAND_SPECIFIC_CODES.get((netfn, cmd), {}).get(cc, "command-specific error")
    return COMPLETION_CODES.get(cc, "reserved")


# --- Get Device ID ------------------------------------------------------------------------
SUPPORT_FRU_INVENTORY = 0x08
SUPPORT_BITS = (  # additional device support, byte 6
    (0x80, "chassis device"),
    (0x40, "bridge"),
    (0x20, "IPMB event generator"),
    (0x10, "IPMB event receiver"),
    (SUPPORT_FRU_INVENTORY, "FRU inventory device"),
    (0x04, "SEL device"),
    (0x02, "SDR repository device"),
    (0x01, "sensor device"),
)
SUPPORT_SENSOR = 0x01
SUPPORT_SDR_REPOSITORY = 0x02
SUPPORT_SEL = 0x04
SUPPORT_FRU = 0x08
SUPPORT_EVENT_RECEIVER = 0x10
SUPPORT_EVENT_GENERATOR = 0x20
SUPPORT_BRIDGE = 0x40
SELF_TEST_OK = 0x55
SELF_TEST_NOT_IMPLEMENTED = 0x56
SELF_TEST_ERROR = 0x57  # corrupted or inaccessible data or devices; the second byte says which
SELF_TEST_FATAL = 0x58  # fatal hardware error; the second byte is device specific
SELF_TEST_57_BITS = (  # Get Self Test Results byte 3 when byte 2 is 57h
    (0x80, "SEL device inaccessible"),
    (0x40, "SDR repository inaccessible"),
    (0x20, "FRU device inaccessible"),
    (0x10, "IPMB signal lines do not respond"),
    (0x08, "SDR repository empty"),
    (0x04, "FRU data corrupted (internal use area or checksums)"),
    (0x02, "boot block firmware corrupted"),
    (0x01, "operational firmware corrupted"),
)

# --- sensors and events -------------------------------------------------------------------
SENSOR_TYPE_TEMPERATURE = 0x01
SENSOR_TYPE_VOLTAGE = 0x02
SENSOR_TYPE_CURRENT = 0x03
SENSOR_TYPE_FAN = 0x04
SENSOR_TYPE_OTHER_UNITS = 0x0B
SENSOR_TYPE_ENTITY_PRESENCE = 0x25
SENSOR_TYPES = {
    SENSOR_TYPE_TEMPERATURE: "Temperature",
    SENSOR_TYPE_VOLTAGE: "Voltage",
    SENSOR_TYPE_CURRENT: "Current",
    SENSOR_TYPE_FAN: "Fan",
    SENSOR_TYPE_OTHER_UNITS: "Other Units",
    SENSOR_TYPE_ENTITY_PRESENCE: "Entity Presence",
}
EVENT_TYPE_THRESHOLD = 0x01
EVENT_TYPE_GENERIC_DISCRETE = 0x08  # device absent / present (offsets 0, 1)
EVENT_TYPE_SENSOR_SPECIFIC = 0x6F
SDR_TYPES = {  # SDR record type -> name (IPMI 2.0 table 43-1)
    0x01: "full sensor",
    0x02: "compact sensor",
    0x11: "FRU device locator",
    0x12: "MC device locator",
}
FRU_LOCATOR_LOGICAL = 0x80  # FRU Device Locator byte 8 [7]: a logical FRU device (an id)
UNITS = {1: "C", 2: "F", 4: "V", 5: "A", 6: "W", 18: "RPM"}  # SDR base unit -> symbol
PRESENCE_STATES = {0x01: "present", 0x02: "absent"}  # entity presence states bits
THRESHOLD_OFFSETS = (  # threshold event offsets 00h-0Bh
    "LNC going low",
    "LNC going high",
    "LC going low",
    "LC going high",
    "LNR going low",
    "LNR going high",
    "UNC going low",
    "UNC going high",
    "UC going low",
    "UC going high",
    "UNR going low",
    "UNR going high",
)
PRESENCE_OFFSETS = ("present", "absent")  # entity presence event offsets

# --- SDR, SEL, channels -------------------------------------------------------------------
SDR_VERSION = 0x51  # SDR records and Get SDR/SEL Repository Info: IPMI v1.5/2.0 format
SEL_VERSION = 0x51
SDR_TYPE_FULL_SENSOR = 0x01
SDR_TYPE_COMPACT_SENSOR = 0x02
SDR_TYPE_FRU_LOCATOR = 0x11
SDR_TYPE_MC_LOCATOR = 0x12
SEL_RECORD_SYSTEM_EVENT = 0x02
SEL_RECORD_SIZE = 16
EVM_REV = 0x04  # event message format revision of IPMI v1.5/2.0
TIMESTAMP_UNSPECIFIED = 0xFFFFFFFF
CLEAR_SEL_INITIATE = 0xAA
CLEAR_SEL_STATUS = 0x00
CLEAR_SEL_COMPLETED = 0x01
CLEAR_SEL_IN_PROGRESS = 0x00
CHANNEL_MEDIUM_IPMB = 0x01
CHANNEL_MEDIUM_LAN = 0x04
CHANNEL_PROTOCOL_IPMB = 0x01
IPMI_IANA = 7154  # the IPMI forum's enterprise number, in Get Channel Info
ENTITY_SYSTEM_MANAGEMENT_MODULE = 0x06
ENTITY_SYSTEM_BOARD = 0x07
PRESENCE_PRESENT = 0x01  # entity presence states (sensor type 25h): offset 0
PRESENCE_ABSENT = 0x02  # offset 1
