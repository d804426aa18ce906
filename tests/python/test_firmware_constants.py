"""The constants the host and the firmware share, read from the firmware's C sources and
compared with the Python tables: model kinds and precisions, message types, error codes,
frame limits and the protocol version, the pedal's stream limits, parameter ids and ranges.
A change on one side that the other misses fails here, not on a device."""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

import pytest

from valvenet.device import protocol
from valvenet.models import config
from valvenet.pedal import chain, cli

_RUNFILES = Path(os.environ["TEST_SRCDIR"]) / "valvenet" if "TEST_SRCDIR" in os.environ else None
ROOT = _RUNFILES or Path(__file__).resolve().parents[2]


def source(path: str) -> str:
    """A firmware source without its comments."""
    text = (ROOT / path).read_text()
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.S)


def number(text: str) -> float | int:
    """A C integer or float literal (0x.., suffixes u/f) as Python's."""
    text = text.strip().rstrip("uUlL")
    return int(text, 0) if re.fullmatch(r"-?(0x[0-9a-fA-F]+|\d+)", text) else float(text.rstrip("fF"))


def defines(path: str) -> dict[str, float | int]:
    """#define NAME LITERAL of a file (other #defines are skipped)."""
    found = re.findall(r"^\s*#define\s+(\w+)\s+(-?[0-9][0-9a-fA-FxX.]*[uUlLfF]*)\s*$", source(path), re.M)
    return {name: number(value) for name, value in found}


def enum(path: str, prefix: str) -> dict[str, int]:
    """NAME = VALUE entries of the enums in a file whose names start with `prefix`."""
    found = re.findall(rf"\b({prefix}\w*)\s*=\s*(0x[0-9a-fA-F]+|\d+)", source(path))
    assert found, f"no {prefix}* enum entries in {path}"
    return {name: int(value, 0) for name, value in found}


def test_model_kinds_and_precisions() -> None:
    kinds = {value: name.removeprefix("VN_KIND_").lower() for name, value in enum("firmware/nn/model.h", "VN_KIND_").items()}
    assert protocol.KINDS == kinds
    assert set(config.KINDS) == set(kinds.values())
    precisions = {value: {"F32": "float32", "Q15": "int16"}[name.removeprefix("VN_PRECISION_")]
                  for name, value in enum("firmware/nn/model.h", "VN_PRECISION_").items()}
    assert protocol.PRECISIONS == precisions


def test_message_types_errors_and_formats() -> None:
    messages = enum("firmware/app/protocol.h", "MSG_")
    python = {name: getattr(protocol, name.removeprefix("MSG_")) for name in messages}
    assert python == messages
    errors = {value: name.removeprefix("PROTOCOL_ERR_") for name, value in enum("firmware/app/protocol.h", "PROTOCOL_ERR_").items()}
    assert protocol.ERROR_NAMES == errors
    formats = {name.removeprefix("SAMPLE_").lower(): value for name, value in enum("firmware/app/protocol.h", "SAMPLE_").items()}
    assert protocol.FORMATS == formats
    units = {value: name.removeprefix("BOARD_COUNTER_").lower() for name, value in enum("firmware/boards/board.h", "BOARD_COUNTER_").items()}
    assert protocol.UNITS == units


def test_frame_limits_and_protocol_version() -> None:
    frame, messages = defines("firmware/app/frame.h"), defines("firmware/app/protocol.h")
    assert protocol.SYNC == bytes([frame["FRAME_SYNC0"], frame["FRAME_SYNC1"]])
    assert protocol.MAX_PAYLOAD == frame["FRAME_MAX_PAYLOAD"]
    assert protocol.MAX_SAMPLES == messages["PROTOCOL_MAX_SAMPLES"]
    assert protocol.PROTOCOL_VERSION == messages["PROTOCOL_VERSION"]
    assert protocol.ANY_RATE == messages["AUDIO_START_ANY_RATE"]
    assert len(protocol.STATS_FIELDS) == messages["PROTOCOL_STATS_FIELDS"]



def test_the_nucleo_receive_ring_holds_the_largest_host_burst() -> None:
    """The NUCLEO console repeats the frame sizes it is sized for (a board does not include the
    application): one request in flight, the largest frame, plus the PARAM changes that may
    wait for their block (docs/protocol.md, "Flow control")."""
    console = defines("firmware/boards/nucleo_f767zi/console.c")
    frame, pedal = defines("firmware/app/frame.h"), defines("firmware/app/pedal.h")
    overhead = frame["FRAME_HEADER_BYTES"] + frame["FRAME_CRC_BYTES"]
    assert console["RX_LARGEST_FRAME_BYTES"] == overhead + frame["FRAME_MAX_PAYLOAD"]
    assert console["RX_PARAM_FRAME_BYTES"] == overhead + struct.calcsize("<BBHfI")
    assert console["RX_QUEUED_PARAMS"] == pedal["PEDAL_MAX_CHANGES"]
    burst = console["RX_LARGEST_FRAME_BYTES"] + console["RX_QUEUED_PARAMS"] * console["RX_PARAM_FRAME_BYTES"]
    assert burst <= console["RX_RING_SIZE"]
    assert len(protocol.encode(protocol.PARAM, 1, struct.pack("<BBHfI", 1, 0, 0, 0.0, protocol.NOW))) == \
        console["RX_PARAM_FRAME_BYTES"]

def test_stream_limits() -> None:
    board, pedal = defines("firmware/boards/board.h"), defines("firmware/app/pedal.h")
    assert (protocol.MIN_BLOCK, protocol.MAX_BLOCK) == (board["BOARD_AUDIO_MIN_BLOCK"], board["BOARD_AUDIO_MAX_BLOCK"])
    rates = re.search(r"sample_rate != (\d+)u && stream->sample_rate != (\d+)u", source("firmware/app/pedal.c"))
    assert rates is not None, "pedal.c's rate check not found"
    assert protocol.RATES == tuple(int(rate) for rate in rates.groups())
    sources = {name.removeprefix("BOARD_AUDIO_").lower(): value
               for name, value in enum("firmware/boards/board.h", "BOARD_AUDIO_").items()
               if name in ("BOARD_AUDIO_CODEC", "BOARD_AUDIO_SOFTWARE")}
    assert protocol.SOURCES == sources
    assert protocol.NOW == pedal["PEDAL_NOW"]
    assert cli.SOURCE_CAPACITY == pedal["PEDAL_SOFT_CAPACITY"]
    blocks = {value: name.removeprefix("PEDAL_BLOCK_").lower() for name, value in enum("firmware/app/pedal.h", "PEDAL_BLOCK_").items()}
    assert protocol.BLOCK_STATUS == blocks
    assert chain.BLOCK_DROPPED == enum("firmware/app/pedal.h", "PEDAL_BLOCK_DROPPED")["PEDAL_BLOCK_DROPPED"]


def firmware_params() -> dict[str, int]:
    """The chain's named parameters (the knobs' ids, CHAIN_KNOB_0 + i, are the model's)."""
    ids = {name.removeprefix("CHAIN_").lower(): value for name, value in enum("firmware/app/chain.h", "CHAIN_").items()
           if name != "CHAIN_KNOB_0"}
    return dict(ids, stress_percent=defines("firmware/app/pedal.h")["PEDAL_STRESS"])


def firmware_ranges() -> dict[str, tuple[float, float]]:
    """chain_valid()'s ranges (chain.c) and the stress range (pedal.c)."""
    text, chain_defines = source("firmware/app/chain.c"), defines("firmware/app/chain.c")
    ranges = {}
    for name, check in re.findall(r"case CHAIN_(\w+):\s*return ([^;]+);", text[text.index("bool chain_valid"):]):
        bounds = re.search(r"in_range\(value, ([^,]+), ([^)]+)\)", check)
        low, high = bounds.groups() if bounds else ("0.0f", "1.0f")  # is_switch: 0 or 1
        ranges[name.lower()] = tuple(float(chain_defines.get(bound.strip(), None) or number(bound)) for bound in (low, high))
    stress = re.search(r"value >= ([^ ]+) && value <= ([^;]+);", source("firmware/app/pedal.c"))
    ranges["stress_percent"] = (float(number(stress.group(1))), float(number(stress.group(2))))
    return ranges


def test_pedal_parameter_ids_and_ranges() -> None:
    assert chain.PARAMS == firmware_params()
    assert chain.RANGES == firmware_ranges()
    assert chain.GATE_OFF_DB == defines("firmware/app/chain.c")["CHAIN_GATE_OFF_DB"]
    assert chain.KNOB_FIRST == enum("firmware/app/chain.h", "CHAIN_")["CHAIN_KNOB_0"]
    assert chain.MAX_KNOBS == defines("firmware/app/chain.h")["CHAIN_MAX_KNOBS"]
    assert max(chain.PARAMS.values()) < chain.KNOB_FIRST  # the knobs' ids follow every named one


def test_the_console_knows_the_same_parameters() -> None:
    text = source("firmware/app/pedal_commands.c")
    names = re.search(r"PARAM_NAMES\[\] = \{([^}]*)\}", text).group(1)
    assert re.findall(r'"(\w*)"', names) == [""] + [name for name in chain.PARAMS if name != "stress_percent"]
    usage = "".join(re.findall(r'"([^"]*)"', text[text.index("\"ERR pedal set NAME VALUE"):].split(";")[0]))
    for name, (low, high) in chain.RANGES.items():
        if name == "stress_percent":
            continue
        expected = f"{name} 0|1" if name in chain.SWITCHES else f"{name} {low:g}..{high:g}"
        assert expected in usage, f"the console's usage line lacks {expected!r}: {usage!r}"


@pytest.mark.parametrize("text, value", [("128u", 128), ("0xFFFFFFFFu", 0xFFFFFFFF), ("-120.0f", -120.0)])
def test_c_literals_are_read_as_c_reads_them(text: str, value: float) -> None:
    assert number(text) == value
