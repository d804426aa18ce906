"""A performance (performance.py) as a Standard MIDI File, for fluidsynth to play.

Hand-made (format 0, one track, all channels) so no extra package is needed: the file is a
header chunk and one track of delta-timed events, a few dozen lines of the published format.
"""

from __future__ import annotations

import struct
from pathlib import Path

from valvenet.synth.performance import BEND_RANGE_SEMITONES, CHANNEL_PROGRAMS, Note, Performance

# Timing: 480 ticks per quarter note at a fixed 120 BPM, so 960 ticks per second (~1 ms).
TICKS_PER_QUARTER = 480
MICROSECONDS_PER_QUARTER = 500_000
TICKS_PER_SECOND = TICKS_PER_QUARTER * 1_000_000 // MICROSECONDS_PER_QUARTER


def _variable_length(value: int) -> bytes:
    """MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _ticks(seconds: float) -> int:
    return max(0, int(round(seconds * TICKS_PER_SECOND)))


def _bend_value(semitones: float) -> int:
    return max(0, min(16383, 8192 + int(round(semitones / BEND_RANGE_SEMITONES * 8191))))


# Events at the same tick: set-up first, then note-offs, bends, note-ons.
_SETUP, _NOTE_OFF, _BEND, _NOTE_ON, _END = range(5)


# volume 100, expression 127, pan centre (the render is downmixed), reverb and chorus sends 0,
# then RPN 0 (pitch-bend range) = BEND_RANGE_SEMITONES.
_CHANNEL_CONTROLLERS = (
    (7, 100), (11, 127), (10, 64), (91, 0), (93, 0),
    (101, 0), (100, 0), (6, BEND_RANGE_SEMITONES), (38, 0),
)  # fmt: skip


def _setup_events() -> list[tuple[int, int, bytes]]:
    """Tempo, then per channel: program, volume, pan centre, no reverb/chorus send, bend range."""
    events = [(0, _SETUP, b"\xff\x51\x03" + MICROSECONDS_PER_QUARTER.to_bytes(3, "big"))]
    for ch, program in CHANNEL_PROGRAMS.items():
        events.append((0, _SETUP, bytes([0xC0 | ch, program])))
        for controller, value in _CHANNEL_CONTROLLERS:
            events.append((0, _SETUP, bytes([0xB0 | ch, controller, value])))
    return events


def _untangle(notes: list[Note]) -> list[Note]:
    """End a note where the same pitch starts again on its channel (no overlapping unisons)."""
    ordered = sorted(notes, key=lambda n: (n.channel, n.pitch, n.start))
    out = []
    for i, note in enumerate(ordered):
        end = note.start + note.duration
        nxt = ordered[i + 1] if i + 1 < len(ordered) else None
        if nxt and nxt.channel == note.channel and nxt.pitch == note.pitch:
            end = min(end, nxt.start - 0.002)
        if end - note.start >= 0.01:
            out.append(Note(note.start, end - note.start, note.pitch, note.velocity, note.channel))
    return out


def _performance_events(perf: Performance) -> list[tuple[int, int, bytes]]:
    events = _setup_events()
    for note in _untangle([n for n in perf.notes if n.start < perf.seconds]):
        events.append((_ticks(note.start), _NOTE_ON, bytes([0x90 | note.channel, note.pitch, note.velocity])))
        events.append((_ticks(note.start + note.duration), _NOTE_OFF, bytes([0x80 | note.channel, note.pitch, 0])))
    for bend in perf.bends:
        if bend.time < perf.seconds:
            value = _bend_value(bend.semitones)
            events.append((_ticks(bend.time), _BEND, bytes([0xE0 | bend.channel, value & 0x7F, value >> 7])))
    last = max([tick for tick, _, _ in events] + [_ticks(perf.seconds)])
    events.append((last + TICKS_PER_SECOND, _END, b"\xff\x2f\x00"))  # one second of tail
    return events


def midi_bytes(perf: Performance) -> bytes:
    """The performance as a format-0 Standard MIDI File (one track, all channels)."""
    events = sorted(enumerate(_performance_events(perf)), key=lambda e: (e[1][0], e[1][1], e[0]))
    track = bytearray()
    previous = 0
    for _, (tick, _, data) in events:
        track += _variable_length(tick - previous) + data
        previous = tick
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def write_midi(perf: Performance, path: Path) -> None:
    """Writes the performance as a .mid file (see midi_bytes)."""
    Path(path).write_bytes(midi_bytes(perf))
