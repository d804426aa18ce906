"""The pedal's signal chain in numpy: the oracle the firmware's chain (firmware/app/chain.c) is
compared with, sample for sample.

    in -> input gain -> noise gate -> model -> cabinet FIR -> output gain -> out, with bypass

The gains, the gate and the cross-fades are computed in float32 with the C code's operations
in the C code's order (IEEE float32 arithmetic is exact to reproduce: one rounding per
operation), so they agree bit for bit given the same model and cabinet outputs; the model is
the numpy oracle (valvenet.models.oracle) and the cabinet a float64 convolution with the
image's float32 taps, so the chain agrees with the firmware within the model's own bound.

A conditioned model's knobs (models/knobs.py) are chain parameters too, named as the model
names them, ids KNOB_FIRST + i, positions 0..1: a turn ramps like a gain, and the model takes
the ramp's values at the end of each block (chain.c's knobs_advance).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from valvenet.models import knobs as model_knobs
from valvenet.models.model_file import ModelFile
from valvenet.models.oracle import Oracle

F = np.float32

# Parameter ids of the PARAM message (firmware/app/chain.h, firmware/app/pedal.h).
PARAMS = {
    "input_gain_db": 1,
    "gate_threshold_db": 2,
    "output_gain_db": 3,
    "bypass": 4,
    "cabinet": 5,
    "ramp_ms": 6,
    "stress_percent": 7,
}
RANGES = {
    "input_gain_db": (-24.0, 24.0),
    "gate_threshold_db": (-120.0, 0.0),
    "output_gain_db": (-60.0, 12.0),
    "bypass": (0.0, 1.0),
    "cabinet": (0.0, 1.0),
    "ramp_ms": (1.0, 100.0),
    "stress_percent": (0.0, 1000.0),
}
SWITCHES = ("bypass", "cabinet")
KNOB_FIRST, MAX_KNOBS = 8, 4  # chain.h CHAIN_KNOB_0, CHAIN_MAX_KNOBS
GATE_OFF_DB = -120.0
ENVELOPE_DECAY_S, GATE_ATTACK_S, GATE_RELEASE_S = 0.020, 0.001, 0.050


class ChainError(ValueError):
    """A parameter the firmware would reject; the message says which and why."""


def param_id(name: str, knob_names: list[str] | tuple[str, ...] = ()) -> int:
    """The PARAM id of a parameter name (as in PARAMS), of one of the model's knobs by name, or
    of knob i as `knob<i>` (whatever the model calls it)."""
    knob_names = list(knob_names)[:MAX_KNOBS]
    if name in knob_names:
        return KNOB_FIRST + knob_names.index(name)
    if name in [f"knob{i}" for i in range(MAX_KNOBS)]:
        return KNOB_FIRST + int(name[4:])
    if name not in PARAMS:
        knob_text = f"; the model's knobs: {', '.join(knob_names)}" if knob_names else ""
        raise ChainError(f"unknown parameter {name!r}; parameters: {', '.join(PARAMS)}{knob_text}")
    return PARAMS[name]


def check_param(name: str, value: float, has_cabinet: bool = True, knob_names: tuple[str, ...] = ()) -> None:
    """Raises ChainError for a value the firmware's chain_valid() would refuse."""
    if param_id(name, knob_names) >= KNOB_FIRST:
        if not 0.0 <= value <= 1.0:
            raise ChainError(f"knob {name} is a position in [0, 1], not {value:g}")
        return
    low, high = RANGES[name]
    if not (low <= value <= high):
        raise ChainError(f"{name} must be in [{low:g}, {high:g}], not {value:g}")
    if name in SWITCHES and value not in (0.0, 1.0):
        raise ChainError(f"{name} is a switch: 0 or 1, not {value:g}")
    if name == "cabinet" and value == 1.0 and not has_cabinet:
        raise ChainError("this image has no cabinet to switch on")


def db_to_gain(db: float) -> np.float32:
    return F(np.power(F(10.0), F(db) / F(20.0), dtype=F))


def one_pole(seconds: float, rate: int) -> np.float32:
    return F(F(1.0) / (F(1.0) + F(seconds) * F(rate)))


@dataclass
class Ramp:
    value: np.float32 = F(1.0)
    target: np.float32 = F(1.0)
    step: np.float32 = F(0.0)
    remaining: int = 0

    def jump(self, value: np.float32) -> None:
        self.value = self.target = F(value)
        self.step, self.remaining = F(0.0), 0

    def to(self, target: np.float32, samples: int) -> None:
        self.target, self.remaining = F(target), samples
        self.step = F((self.target - self.value) / F(samples))

    def next(self) -> np.float32:
        if self.remaining:
            self.remaining -= 1
            self.value = self.target if self.remaining == 0 else F(self.value + self.step)
        return self.value


@dataclass
class Gate:
    enabled: bool = False
    is_open: bool = True
    open_level: np.float32 = F(0.0)
    close_level: np.float32 = F(0.0)
    envelope: np.float32 = F(0.0)
    gain: np.float32 = F(1.0)
    decay: np.float32 = F(0.0)
    attack: np.float32 = F(0.0)
    release: np.float32 = F(0.0)

    def set_threshold(self, db: float) -> None:
        self.enabled = db > GATE_OFF_DB
        self.open_level = db_to_gain(db)
        self.close_level = F(F(0.5) * self.open_level)

    def reset(self) -> None:
        self.is_open = not self.enabled
        self.envelope = F(0.0)
        self.gain = F(0.0) if self.enabled else F(1.0)

    def next(self, x: np.float32) -> np.float32:
        if not self.enabled:
            return x
        decayed = F(self.envelope * self.decay)
        level = F(abs(x))
        self.envelope = level if level > decayed else decayed
        if self.envelope > self.open_level:
            self.is_open = True
        elif self.envelope < self.close_level:
            self.is_open = False
        target = F(1.0) if self.is_open else F(0.0)
        coef = self.attack if self.is_open else self.release
        self.gain = F(self.gain + F(F(target - self.gain) * coef))
        return F(x * self.gain)


@dataclass
class Chain:
    """The firmware chain at one sample rate: `set` a parameter (it ramps), `process` blocks."""

    model: ModelFile
    cabinet_taps: np.ndarray | None
    sample_rate: int
    ramp: int = 0
    input_gain: Ramp = field(default_factory=Ramp)
    output_gain: Ramp = field(default_factory=Ramp)
    wet: Ramp = field(default_factory=Ramp)
    cabinet_mix: Ramp = field(default_factory=Ramp)
    gate: Gate = field(default_factory=Gate)

    def __post_init__(self) -> None:
        self.oracle = Oracle(self.model)
        self.knob_names = tuple(model_knobs.knob_names(self.model.config)[:MAX_KNOBS])
        self.knobs = [Ramp() for _ in self.knob_names]
        for ramp, default in zip(self.knobs, model_knobs.knob_vector(self.model.config)):
            ramp.jump(F(default))
        taps = None if self.cabinet_taps is None or len(self.cabinet_taps) == 0 else self.cabinet_taps
        self.taps = None if taps is None else np.asarray(taps, np.float32).astype(np.float64)
        self.ramp = self.sample_rate // 100
        self.cabinet_mix.jump(F(1.0) if self.taps is not None else F(0.0))
        self.gate.decay = F(F(1.0) - one_pole(ENVELOPE_DECAY_S, self.sample_rate))
        self.gate.attack = one_pole(GATE_ATTACK_S, self.sample_rate)
        self.gate.release = one_pole(GATE_RELEASE_S, self.sample_rate)
        self.gate.set_threshold(GATE_OFF_DB)
        self.reset()

    def reset(self) -> None:
        """Clears the model, cabinet and gate state and finishes every ramp (chain_reset)."""
        self.oracle.reset()
        self.history = np.zeros(0 if self.taps is None else len(self.taps) - 1)
        self.gate.reset()
        for ramp in (self.input_gain, self.output_gain, self.wet, self.cabinet_mix, *self.knobs):
            ramp.jump(ramp.target)
        if self.knobs:
            self._apply_knobs()

    def _apply_knobs(self) -> None:
        """The model takes the knobs' current values (chain.c knobs_apply)."""
        self.oracle.set_knob_positions(np.array([float(r.value) for r in self.knobs]))

    def _advance_knobs(self, n: int) -> None:
        """A turning knob moves n samples along its ramp per block (chain.c knobs_advance)."""
        if not any(r.remaining for r in self.knobs):
            return
        for ramp in self.knobs:
            for _ in range(n):
                ramp.next()
        self._apply_knobs()

    def set(self, name: str, value: float) -> None:
        """chain_set(): validates, then ramps (gains, bypass, cabinet) or applies."""
        check_param(name, value, self.taps is not None, self.knob_names)
        value = float(value)
        if name in self.knob_names:
            self.knobs[self.knob_names.index(name)].to(F(value), self.ramp)
        elif name == "input_gain_db":
            self.input_gain.to(db_to_gain(value), self.ramp)
        elif name == "gate_threshold_db":
            was = self.gate.enabled
            self.gate.set_threshold(value)
            if was != self.gate.enabled:
                self.gate.is_open, self.gate.gain = True, F(1.0)
        elif name == "output_gain_db":
            self.output_gain.to(db_to_gain(value), self.ramp)
        elif name == "bypass":
            self.wet.to(F(1.0 - value), self.ramp)
        elif name == "cabinet":
            self.cabinet_mix.to(F(value), self.ramp)
        elif name == "ramp_ms":
            self.ramp = int(np.rint(F(F(value) * F(self.sample_rate) / F(1000.0))))

    def _cabinet(self, x: np.ndarray) -> np.ndarray:
        if self.taps is None:
            return x
        padded = np.concatenate([self.history, x.astype(np.float64)])
        y = np.convolve(padded, self.taps)[len(self.history):len(self.history) + len(x)]
        self.history = padded[len(padded) - (len(self.taps) - 1):]
        return y.astype(np.float32)

    def process(self, block: np.ndarray) -> np.ndarray:
        """One block (any length) through the chain, carrying all state to the next call."""
        dry = np.asarray(block, np.float32).reshape(-1)
        work = np.empty_like(dry)
        for i, x in enumerate(dry):
            work[i] = self.gate.next(F(x * self.input_gain.next()))
        self._advance_knobs(len(dry))
        work = self.oracle.process(work).astype(np.float32)
        cab = self._cabinet(work)
        out = np.empty_like(dry)
        for i in range(len(dry)):
            mix = self.cabinet_mix.next()
            amp = F(work[i] + F(mix * F(cab[i] - work[i])))
            wet = F(amp * self.output_gain.next())
            y = F(dry[i] + F(self.wet.next() * F(wet - dry[i])))
            out[i] = min(max(y, F(-1.0)), F(1.0))
        return out


DEFAULTS = {"input_gain_db": 0.0, "gate_threshold_db": GATE_OFF_DB, "output_gain_db": 0.0, "bypass": 0.0}
BLOCK_DROPPED = 3  # firmware/app/pedal.h pedal_block_t


@dataclass(frozen=True)
class Change:
    """A parameter change as the firmware applied it: before processing block `block`."""

    name: str
    value: float
    block: int


def start_chain(model: ModelFile, taps: np.ndarray | None, rate: int, params: dict[str, float]) -> Chain:
    """The chain as pedal_start() builds it: defaults overridden by `params`, ramp time first,
    then gains, gate, bypass and cabinet, then every ramp finished and all state cleared."""
    chain = Chain(model, taps, rate)
    settings = dict(DEFAULTS, cabinet=1.0 if chain.taps is not None else 0.0, ramp_ms=10.0)
    settings.update({k: v for k, v in params.items() if k != "stress_percent"})
    chain.set("ramp_ms", settings["ramp_ms"])
    for name in ("input_gain_db", "gate_threshold_db", "output_gain_db", "bypass", "cabinet"):
        chain.set(name, settings[name])
    for name in chain.knob_names:
        if name in settings:
            chain.set(name, settings[name])
    chain.reset()
    return chain


def expected_sink(chain: Chain, source: np.ndarray, block: int, blocks: int, changes: list[Change] = (),
                  block_log: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """What the firmware's software sink should hold after `blocks` blocks of `source`: block n
    of the source, through the chain, is played from event n + 1, so sink block m holds the
    output of source block m - 1 (sink block 0 is the initial silence). Blocks the log marks
    dropped are skipped (the chain never saw them). Returns the sink and a mask of the samples
    that are defined: those of blocks processed in time (late and dropped ones are whatever the
    transmitter found in the buffer)."""
    source = np.asarray(source, np.float32).reshape(-1)
    padded = np.zeros(blocks * block, np.float32)
    padded[:min(source.size, padded.size)] = source[:padded.size]
    sink = np.zeros((blocks + 1) * block, np.float32)
    valid = np.zeros(sink.size, bool)
    valid[:block] = True
    for n in range(blocks):
        status = 1 if block_log is None or n >= len(block_log) else int(block_log[n])
        for change in changes:
            if change.block == n and change.name != "stress_percent":
                chain.set(change.name, change.value)
        if status == BLOCK_DROPPED:
            continue
        sink[(n + 1) * block:(n + 2) * block] = chain.process(padded[n * block:(n + 1) * block])
        valid[(n + 1) * block:(n + 2) * block] = status == 1
    return sink, valid
