"""Seeded guitar performances: what the built-in dataset's dry guitar plays (midi.py writes
them as Standard MIDI Files for fluidsynth).

Why generate the performance: an amp model learns only what its training signal exercises, so
the dry guitar has to cover what a player does — single-note lines with bends and vibrato,
strummed and arpeggiated chords, power chords, palm mutes, silences, and dynamics from
pianissimo (velocity ~20) to fortissimo (127). Everything is drawn from a seeded generator, so
the same seed always gives the same file, and different seeds (one per split) give different
phrases.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")

# General MIDI programs (0-based) of FluidR3_GM's sampled electric guitars.
PROGRAM_JAZZ = 26
PROGRAM_CLEAN = 27
PROGRAM_MUTED = 28

# Channels: chords and mutes on 0-2; monophonic lead lines (the only ones bent) on 3-4, so a
# bend never detunes a chord that is still ringing.
CHANNEL_PROGRAMS: dict[int, int] = {
    0: PROGRAM_JAZZ,
    1: PROGRAM_CLEAN,
    2: PROGRAM_MUTED,
    3: PROGRAM_JAZZ,
    4: PROGRAM_CLEAN,
}
CHORD_CHANNELS = (0, 1)
MUTED_CHANNEL = 2
LEAD_CHANNELS = (3, 4)
BEND_RANGE_SEMITONES = 2  # set on every channel with RPN 0 (the GM default, made explicit)

LOWEST_NOTE = 40  # E2, the open low string
HIGHEST_NOTE = 86  # D6, around the 22nd fret of the high string

SCALES: dict[str, tuple[int, ...]] = {
    "minor_pentatonic": (0, 3, 5, 7, 10),
    "major_pentatonic": (0, 2, 4, 7, 9),
    "blues": (0, 3, 5, 6, 7, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "major": (0, 2, 4, 5, 7, 9, 11),
    "aeolian": (0, 2, 3, 5, 7, 8, 10),
}

# Guitar chord voicings as semitones above the bass note (E-shape and A-shape barres, jazz
# shells); the bass note range keeps every voicing on the neck.
VOICINGS: dict[str, tuple[int, ...]] = {
    "maj_e": (0, 7, 12, 16, 19, 24),
    "min_e": (0, 7, 12, 15, 19, 24),
    "dom7_e": (0, 7, 10, 16, 19, 24),
    "min7_e": (0, 7, 10, 15, 19, 24),
    "maj_a": (0, 7, 12, 16, 19),
    "min_a": (0, 7, 12, 15, 19),
    "maj7_a": (0, 7, 11, 16, 19),
    "min7_a": (0, 7, 10, 15, 19),
    "maj7_jazz": (0, 11, 16, 19),
    "min7_jazz": (0, 10, 15, 19),
    "dom7_jazz": (0, 10, 16, 19),
    "sus4_e": (0, 7, 12, 17, 19, 24),
}

# Progressions as (semitones above the key, chord quality); qualities pick a voicing family.
PROGRESSIONS: tuple[tuple[tuple[int, str], ...], ...] = (
    ((0, "maj"), (5, "maj"), (7, "maj"), (0, "maj")),
    ((0, "maj"), (9, "min"), (5, "maj"), (7, "maj")),
    ((9, "min"), (5, "maj"), (0, "maj"), (7, "maj")),
    ((2, "min7"), (7, "dom7"), (0, "maj7"), (0, "maj7")),
    ((0, "min"), (10, "maj"), (8, "maj"), (7, "maj")),
    ((0, "dom7"), (5, "dom7"), (0, "dom7"), (7, "dom7")),
    ((0, "min7"), (5, "min7"), (10, "maj"), (3, "maj7")),
    ((0, "sus4"), (0, "maj"), (5, "maj"), (7, "sus4")),
)

QUALITY_VOICINGS: dict[str, tuple[str, ...]] = {
    "maj": ("maj_e", "maj_a"),
    "min": ("min_e", "min_a"),
    "dom7": ("dom7_e", "dom7_jazz"),
    "min7": ("min7_e", "min7_a", "min7_jazz"),
    "maj7": ("maj7_a", "maj7_jazz"),
    "sus4": ("sus4_e",),
}


class Rng:
    """Seeded random draws built only on `random.Random.random()`.

    Python guarantees that `random()` gives the same sequence for the same seed across
    versions, but not the helpers (`randrange`, `choice`, ...): building on `random()` alone
    keeps a dataset reproducible across Python upgrades.
    """

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self._random.random()

    def integer(self, low: int, high: int) -> int:
        """An integer in [low, high], both included."""
        return low + min(int(self._random.random() * (high - low + 1)), high - low)

    def choice(self, items: Sequence[T]) -> T:
        return items[self.integer(0, len(items) - 1)]

    def chance(self, probability: float) -> bool:
        return self._random.random() < probability

    def weighted(self, weights: dict[str, float]) -> str:
        total = sum(weights.values())
        point = self._random.random() * total
        for name, weight in weights.items():
            point -= weight
            if point < 0:
                return name
        return name


@dataclass(frozen=True)
class Note:
    """One note in seconds; channel picks the instrument (see CHANNEL_PROGRAMS)."""

    start: float
    duration: float
    pitch: int
    velocity: int
    channel: int


@dataclass(frozen=True)
class Bend:
    """A pitch-bend value (semitones, +-BEND_RANGE_SEMITONES) on a lead channel at a time."""

    time: float
    channel: int
    semitones: float


@dataclass
class Performance:
    """What the generator plays: notes and bends, and the length to render."""

    notes: list[Note] = field(default_factory=list)
    bends: list[Bend] = field(default_factory=list)
    seconds: float = 0.0


def _clip_velocity(velocity: float) -> int:
    return max(1, min(127, int(round(velocity))))


@dataclass
class Dynamics:
    """A phrase's loudness: a base velocity (20-120), a crescendo/decrescendo and jitter."""

    base: float
    slope: float
    jitter: float

    @staticmethod
    def draw(rng: Rng) -> "Dynamics":
        return Dynamics(rng.uniform(20, 120), rng.uniform(-30, 30), rng.uniform(3, 15))

    def velocity(self, rng: Rng, progress: float, accent: float = 0.0) -> int:
        return _clip_velocity(self.base + self.slope * progress + accent + rng.uniform(-self.jitter, self.jitter))


# ------------------------------------------------------------------------------- lead lines


def _scale_pitches(rng: Rng) -> list[int]:
    key = rng.integer(0, 11)
    steps = SCALES[rng.choice(sorted(SCALES))]
    return [p for p in range(LOWEST_NOTE + 5, HIGHEST_NOTE + 1) if (p - key) % 12 in steps]


def _add_bend(perf: Performance, rng: Rng, note: Note) -> None:
    """Bend a held note up (half or whole tone), maybe add vibrato, maybe release it."""
    target = rng.choice((1.0, 2.0, 2.0))
    rise = min(rng.uniform(0.04, 0.2), note.duration * 0.5)
    vibrato = rng.uniform(0.1, 0.35) if rng.chance(0.5) else 0.0
    rate = rng.uniform(4.5, 7.0)
    release_at = note.duration * rng.uniform(0.6, 0.9) if rng.chance(0.4) else note.duration
    step = 0.01
    t = 0.0
    while t < note.duration:
        if t < rise:
            value = target * t / rise
        elif t < release_at:
            value = target - vibrato * 0.5 * (1.0 - math.cos(2 * math.pi * rate * (t - rise)))
        else:
            value = target * max(0.0, 1.0 - (t - release_at) / max(rise, 0.02))
        perf.bends.append(Bend(note.start + t, note.channel, value))
        t += step
    perf.bends.append(Bend(note.start + note.duration, note.channel, 0.0))


def _add_vibrato(perf: Performance, rng: Rng, note: Note) -> None:
    """Finger vibrato without a bend: a small pitch wobble on a long note."""
    depth = rng.uniform(0.1, 0.4)
    rate = rng.uniform(4.5, 7.0)
    onset = rng.uniform(0.05, 0.2)
    t = onset
    while t < note.duration:
        perf.bends.append(Bend(note.start + t, note.channel, depth * math.sin(2 * math.pi * rate * (t - onset))))
        t += 0.01
    perf.bends.append(Bend(note.start + note.duration, note.channel, 0.0))


def _express(perf: Performance, rng: Rng, note: Note, bend_probability: float) -> None:
    if note.duration >= 0.2 and rng.chance(bend_probability):
        _add_bend(perf, rng, note)
    elif note.duration >= 0.4 and rng.chance(0.3):
        _add_vibrato(perf, rng, note)


def phrase_single_line(perf: Performance, rng: Rng, t: float) -> float:
    """A monophonic line on a scale: steps, leaps, mixed rhythms, some bends and vibrato."""
    pitches = _scale_pitches(rng)
    index = rng.integer(len(pitches) // 4, 3 * len(pitches) // 4)
    beat = 60.0 / rng.uniform(70, 170)
    channel = rng.choice(LEAD_CHANNELS)
    dyn = Dynamics.draw(rng)
    count = rng.integer(6, 24)
    for i in range(count):
        length = beat * rng.choice((0.25, 0.5, 0.5, 1 / 3, 1.0, 1.5, 2.0))
        step = rng.choice((-2, -1, -1, 1, 1, 2, 0, rng.integer(-5, 5)))
        index = max(0, min(len(pitches) - 1, index + step))
        if not rng.chance(0.08):  # a rest now and then
            accent = 15.0 if rng.chance(0.2) else 0.0
            velocity = dyn.velocity(rng, i / count, accent)
            note = Note(t, length * rng.uniform(0.5, 1.0), pitches[index], velocity, channel)
            perf.notes.append(note)
            _express(perf, rng, note, 0.2)
        t += length
    return t


def phrase_bend_lick(perf: Performance, rng: Rng, t: float) -> float:
    """A few long notes, most of them bent: bends and vibrato dominate this phrase."""
    pitches = [p for p in _scale_pitches(rng) if p >= 55]
    channel = rng.choice(LEAD_CHANNELS)
    dyn = Dynamics.draw(rng)
    count = rng.integer(2, 6)
    for i in range(count):
        length = rng.uniform(0.3, 1.6)
        note = Note(t, length * rng.uniform(0.8, 1.0), rng.choice(pitches), dyn.velocity(rng, i / count), channel)
        perf.notes.append(note)
        _express(perf, rng, note, 0.75)
        t += length
    return t


# ------------------------------------------------------------------------------- chords


def _chord(rng: Rng, key: int, degree: int, quality: str) -> list[int]:
    voicing = VOICINGS[rng.choice(QUALITY_VOICINGS[quality])]
    low = LOWEST_NOTE if voicing[-1] >= 24 else 45
    bass = low + (key + degree - low) % 12
    if bass + voicing[-1] > HIGHEST_NOTE:
        bass -= 12
    return [bass + v for v in voicing if bass + v >= LOWEST_NOTE]


def _progression(rng: Rng) -> list[list[int]]:
    key = rng.integer(0, 11)
    return [_chord(rng, key, degree, quality) for degree, quality in rng.choice(PROGRESSIONS)]


def _strum(perf: Performance, rng: Rng, t: float, chord: list[int], velocity: int, ring: float, channel: int) -> None:
    """One strum: the strings sound one after another (down: low to high, up: high to low)."""
    down = rng.chance(0.65)
    strings = chord if down else list(reversed(chord))[: rng.integer(3, len(chord))]
    spread = rng.uniform(0.004, 0.025)
    for k, pitch in enumerate(strings):
        perf.notes.append(Note(t + k * spread, ring, pitch, _clip_velocity(velocity * (1.0 - 0.03 * k)), channel))


def phrase_strummed_chords(perf: Performance, rng: Rng, t: float) -> float:
    """A progression strummed in a rhythm, with the odd muted chuck on the muted guitar."""
    beat = 60.0 / rng.uniform(70, 150)
    channel = rng.choice(CHORD_CHANNELS)
    dyn = Dynamics.draw(rng)
    chords = _progression(rng)
    pattern = rng.choice(((1.0, 1.0, 1.0, 1.0), (1.5, 0.5, 1.0, 1.0), (0.5,) * 8, (2.0, 1.0, 0.5, 0.5), (4.0,)))
    for c, chord in enumerate(chords):
        for step in pattern:
            accent = 12.0 if rng.chance(0.25) else 0.0
            velocity = dyn.velocity(rng, c / len(chords), accent)
            if rng.chance(0.12):
                _strum(perf, rng, t, chord[:4], velocity, rng.uniform(0.03, 0.08), MUTED_CHANNEL)
            else:
                _strum(perf, rng, t, chord, velocity, step * beat * rng.uniform(0.7, 1.0), channel)
            t += step * beat
    return t


def phrase_arpeggio(perf: Performance, rng: Rng, t: float) -> float:
    """Chord tones picked one at a time and left ringing across the chord."""
    beat = 60.0 / rng.uniform(60, 140)
    channel = rng.choice(CHORD_CHANNELS)
    dyn = Dynamics.draw(rng)
    division = rng.choice((0.5, 1 / 3, 0.25))
    order = rng.choice(("up", "down", "updown", "random"))
    for c, chord in enumerate(_progression(rng)):
        tones = {"up": chord, "down": chord[::-1], "updown": chord + chord[-2:0:-1], "random": chord}[order]
        steps = int(round(rng.choice((2.0, 4.0)) / division))
        chord_end = t + steps * division * beat
        for s in range(steps):
            pitch = rng.choice(chord) if order == "random" else tones[s % len(tones)]
            ring = max(division * beat, chord_end - t) * rng.uniform(0.6, 1.0)
            perf.notes.append(Note(t, ring, pitch, dyn.velocity(rng, c / 4 + s / (4 * steps)), channel))
            t += division * beat
    return t


def phrase_power_chords(perf: Performance, rng: Rng, t: float) -> float:
    """Root-fifth(-octave) chords, either ringing or palm-muted chugs with open accents."""
    beat = 60.0 / rng.uniform(80, 180)
    dyn = Dynamics.draw(rng)
    chugging = rng.chance(0.6)
    channel = rng.choice(CHORD_CHANNELS)
    for c in range(rng.integer(2, 6)):
        root = rng.integer(LOWEST_NOTE, 52)
        shape = [root, root + 7] + ([root + 12] if rng.chance(0.6) else [])
        hits = rng.integer(4, 16) if chugging else rng.integer(1, 3)
        step = beat * (rng.choice((0.25, 0.5)) if chugging else rng.choice((1.0, 2.0)))
        for h in range(hits):
            velocity = dyn.velocity(rng, c / 6 + h / (6 * hits), 10.0 if h == 0 else 0.0)
            muted = chugging and not (h == 0 and rng.chance(0.3))
            ring = rng.uniform(0.05, 0.14) if muted else step * rng.uniform(0.7, 1.0)
            _strum(perf, rng, t, shape, velocity, ring, MUTED_CHANNEL if muted else channel)
            t += step
    return t


def phrase_palm_mute_riff(perf: Performance, rng: Rng, t: float) -> float:
    """Single-note chugs on the low strings (muted guitar) with occasional open notes."""
    beat = 60.0 / rng.uniform(90, 180)
    dyn = Dynamics.draw(rng)
    low = rng.integer(LOWEST_NOTE, 47)
    riff = [low + rng.choice((0, 0, 0, 3, 5, 7, 10, 12)) for _ in range(rng.integer(4, 8))]
    for r in range(rng.integer(2, 4)):
        for i, pitch in enumerate(riff):
            step = beat * rng.choice((0.25, 0.25, 0.5))
            velocity = dyn.velocity(rng, r / 4, 12.0 if i == 0 else 0.0)
            if rng.chance(0.15):
                perf.notes.append(Note(t, step * 0.95, pitch + 12, velocity, rng.choice(CHORD_CHANNELS)))
            else:
                perf.notes.append(Note(t, rng.uniform(0.04, 0.12), pitch, velocity, MUTED_CHANNEL))
            t += step
    return t


def phrase_silence(perf: Performance, rng: Rng, t: float) -> float:
    """Nothing at all for a while: the model must learn the amp's idle (noise-free) state."""
    return t + rng.uniform(0.5, 3.0)


PHRASES: dict[str, Callable[[Performance, Rng, float], float]] = {
    "single_line": phrase_single_line,
    "bend_lick": phrase_bend_lick,
    "strummed_chords": phrase_strummed_chords,
    "arpeggio": phrase_arpeggio,
    "power_chords": phrase_power_chords,
    "palm_mute_riff": phrase_palm_mute_riff,
    "silence": phrase_silence,
}
PHRASE_WEIGHTS: dict[str, float] = {
    "single_line": 3.0,
    "bend_lick": 1.5,
    "strummed_chords": 2.0,
    "arpeggio": 2.0,
    "power_chords": 2.0,
    "palm_mute_riff": 1.5,
    "silence": 0.7,
}


def generate_performance(seed: int, seconds: float) -> Performance:
    """Phrases drawn at random (seeded) until `seconds` is filled, with short gaps between.

    The first phrase alternates through the kinds in turn so that even a few seconds of audio
    (tests, --seconds-scale) holds more than one kind of playing.
    """
    rng = Rng(seed)
    perf = Performance(seconds=seconds)
    t = rng.uniform(0.05, 0.3)
    kinds = [k for k in PHRASES if k != "silence"]
    first = rng.integer(0, len(kinds) - 1)
    n = 0
    while t < seconds:
        kind = kinds[(first + n) % len(kinds)] if n < 2 else rng.weighted(PHRASE_WEIGHTS)
        t = PHRASES[kind](perf, rng, t) + rng.uniform(0.05, 0.8)
        n += 1
    return perf
