"""satmc.ipmi.codes against python-ipmi's own numbers, and completion codes in words."""

from __future__ import annotations

from pyipmi.msgs import constants as py

from satmc.errors import CompletionCodeError
from satmc.ipmi import codes

SAME = {  # ours: python-ipmi's (an independent declaration of the same specification)
    "NETFN_CHASSIS": "NETFN_CHASSIS",
    "NETFN_BRIDGE": "NETFN_BRIDGE",
    "NETFN_SENSOR": "NETFN_SENSOR_EVENT",
    "NETFN_APP": "NETFN_APP",
    "NETFN_FIRMWARE": "NETFN_FIRMWARE",
    "NETFN_STORAGE": "NETFN_STORAGE",
    "NETFN_TRANSPORT": "NETFN_TRANSPORT",
    "NETFN_GROUP": "NETFN_GROUP_EXTENSION",
    "CMD_GET_DEVICE_ID": "CMDID_GET_DEVICE_ID",
    "CMD_COLD_RESET": "CMDID_COLD_RESET",
    "CMD_WARM_RESET": "CMDID_WARM_RESET",
    "CMD_GET_SELF_TEST_RESULTS": "CMDID_GET_SELF_TEST_RESULTS",
    "CMD_GET_DEVICE_GUID": "CMDID_GET_DEVICE_GUID",
    "CMD_SEND_MESSAGE": "CMDID_SEND_MESSAGE",
    "CMD_SET_EVENT_RECEIVER": "CMDID_SET_EVENT_RECEIVER",
    "CMD_GET_EVENT_RECEIVER": "CMDID_GET_EVENT_RECEIVER",
    "CMD_PLATFORM_EVENT": "CMDID_PLATFORM_EVENT",
    "CMD_GET_DEVICE_SDR_INFO": "CMDID_GET_DEVICE_SDR_INFO",
    "CMD_GET_DEVICE_SDR": "CMDID_GET_DEVICE_SDR",
    "CMD_RESERVE_DEVICE_SDR_REPOSITORY": "CMDID_RESERVE_DEVICE_SDR_REPOSITORY",
    "CMD_GET_SENSOR_READING_FACTORS": "CMDID_GET_SENSOR_READING_FACTOR",
    "CMD_SET_SENSOR_HYSTERESIS": "CMDID_SET_SENSOR_HYSTERESIS",
    "CMD_GET_SENSOR_HYSTERESIS": "CMDID_GET_SENSOR_HYSTERESIS",
    "CMD_SET_SENSOR_THRESHOLDS": "CMDID_SET_SENSOR_THRESHOLD",
    "CMD_GET_SENSOR_THRESHOLDS": "CMDID_GET_SENSOR_THRESHOLD",
    "CMD_SET_SENSOR_EVENT_ENABLE": "CMDID_SET_SENSOR_EVENT_ENABLE",
    "CMD_GET_SENSOR_EVENT_ENABLE": "CMDID_GET_SENSOR_EVENT_ENABLE",
    "CMD_REARM_SENSOR_EVENTS": "CMDID_RE_ARM_SENSOR",
    "CMD_GET_SENSOR_EVENT_STATUS": "CMDID_GET_SENSOR_EVENT_STATUS",
    "CMD_GET_SENSOR_READING": "CMDID_GET_SENSOR_READING",
    "CMD_GET_FRU_INVENTORY_AREA_INFO": "CMDID_GET_FRU_INVENTORY_AREA_INFO",
    "CMD_READ_FRU_DATA": "CMDID_READ_FRU_DATA",
    "CMD_WRITE_FRU_DATA": "CMDID_WRITE_FRU_DATA",
    "CC_OK": "CC_OK",
    "CC_BUSY": "CC_NODE_BUSY",
    "CC_INVALID_COMMAND": "CC_INV_CMD",
    "CC_INVALID_FOR_LUN": "CC_INV_CMD_FOR_LUN",
    "CC_TIMEOUT": "CC_TIMEOUT",
    "CC_OUT_OF_SPACE": "CC_OUT_OF_SPACE",
    "CC_RESERVATION": "CC_RES_CANCELED",
    "CC_TRUNCATED": "CC_REQ_DATA_TRUNC",
    "CC_LENGTH": "CC_REQ_DATA_INV_LENGTH",
    "CC_FIELD_LENGTH": "CC_REQ_DATA_FIELD_EXCEED",
    "CC_OUT_OF_RANGE": "CC_PARAM_OUT_OF_RANGE",
    "CC_CANNOT_RETURN": "CC_CANT_RET_NUM_REQ_BYTES",
    "CC_NOT_PRESENT": "CC_REQ_DATA_NOT_PRESENT",
    "CC_INVALID_DATA": "CC_INV_DATA_FIELD_IN_REQ",
    "CC_ILLEGAL_FOR_TYPE": "CC_ILL_SENSOR_OR_RECORD",
    "CC_NO_RESPONSE": "CC_RESP_COULD_NOT_BE_PRV",
    "CC_DUPLICATE": "CC_CANT_RESP_DUPLI_REQ",
    "CC_DESTINATION_UNAVAILABLE": "CC_DESTINATION_UNAVAILABLE",
    "CC_PRIVILEGE": "CC_INSUFFICIENT_PRIVILEGES",
    "CC_NOT_IN_STATE": "CC_NOT_SUPPORTED_PRESENT_STATE",
    "CC_DISABLED": "CC_ILLEGAL_COMMAND_DISABLED",
    "CC_UNSPECIFIED": "CC_UNSPECIFIED_ERROR",
}


def test_numbers_agree_with_python_ipmi():
    differ = {
        ours: (getattr(codes, ours), getattr(py, theirs))
        for ours, theirs in SAME.items()
        if getattr(codes, ours) != getattr(py, theirs)
    }
    assert differ == {}


def test_every_completion_code_has_words():
    ccs = {k: v for k, v in vars(codes).items() if k.startswith("CC_")}
    generic = {v for v in ccs.values() if not 0x80 <= v <= 0xBE}
    assert generic == set(codes.COMPLETION_CODES)
    # the command-specific ones (80h-BEh) have words beside their command
    specific = {v for table in codes.COMMAND_SPECIFIC_CODES.values() for v in table}
    assert {v for v in ccs.values() if 0x80 <= v <= 0xBE} <= specific


def test_completion_codes_in_words():
    assert codes.cc_text(0xC9) == "parameter out of range"
    assert codes.cc_text(0xE0) == "reserved"
    assert codes.cc_text(0x80) == "command-specific error"  # without the command
    write = (codes.NETFN_STORAGE, codes.CMD_WRITE_FRU_DATA)
    assert codes.cc_text(codes.CC_FRU_WRITE_PROTECTED, *write) == "write protected"
    assert codes.cc_text(codes.CC_FRU_BUSY, *write) == "FRU device busy"
    assert codes.cc_text(0x82, *write) == "command-specific error"
    finish = (codes.NETFN_GROUP, codes.CMD_HPM_FINISH_FIRMWARE_UPLOAD)
    assert codes.cc_text(codes.CC_HPM_82, *finish) == "image integrity check failed"
    e = CompletionCodeError(0xCB, "Get Sensor Reading 9")
    assert e.cc == 0xCB
    assert str(e) == (
        "Get Sensor Reading 9: completion code 0xcb (requested sensor, data or record not present)"
    )
