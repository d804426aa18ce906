"""Robot Framework keywords of the pedal suite (pedal.robot, timing.robot): the real-time stream
through the software source and sink, its parameters, and its output against the numpy chain.

A mixin of ValveNetTarget (which holds the running target and its protocol client): the
keywords are the same library's, only kept in their own file.
"""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import numpy as np
from robot.api import logger

from valvenet.device import protocol
from valvenet.export import cabinet as cabinet_export
from valvenet.models.model_file import load as load_model
from valvenet.pedal import chain as pedal_chain


class PedalKeywords:
    """The pedal's keywords; the class using it provides _require_client() and the target's
    state (_live_changes)."""

    def use_model_knobs(self, model_path: str) -> list[str]:
        """The knobs of the model the stream runs (a conditioned model's, models/knobs.py): their
        names become parameters of the keywords below, and every stream starts them at the
        model's defaults. Returns the names."""
        from valvenet.models import knobs

        config = load_model(Path(model_path)).config
        names = knobs.knob_names(config)[:pedal_chain.MAX_KNOBS]
        self._knobs = dict(zip(names, (float(np.float32(v)) for v in knobs.knob_vector(config))))
        return names

    def _param_id(self, name: str) -> int:
        return pedal_chain.param_id(name, tuple(getattr(self, "_knobs", {})))

    def load_pedal_source(self, audio: np.ndarray) -> int:
        """Loads the audio (as int16 Q15, which the firmware turns into the same floats) into the
        software source; returns its length."""
        return self._require_client().load_source(np.asarray(audio, np.float32), "int16")

    def quantised(self, audio: np.ndarray) -> np.ndarray:
        """The audio as the firmware holds it after an int16 SOURCE load."""
        q = np.clip(np.round(np.asarray(audio, np.float32) * 32768.0), -32768, 32767)
        return (q / 32768.0).astype(np.float32)

    def run_pedal_stream(self, block: int, blocks: int, settings: str = "", changes: str = "",
                         rate: int = 48000, source: str = "software", timeout: float = 120.0,
                         any_rate: bool = False) -> dict[str, object]:
        """Runs a stream of `blocks` blocks. `settings` ("name=value,...") are applied before it
        starts; `changes` ("name=value@block,...") are queued for those blocks; `any_rate` runs
        the model at a rate it was not trained at. Returns the stream's record: AUDIO_START's
        reply, STATS at the end, the sink, the block log and the changes as applied (name,
        value, block)."""
        client = self._require_client()
        self._set_pedal_parameters(settings)
        queued = []
        for item in _pairs(changes):
            name, (value, at) = item[0], item[1]
            queued.append((name, value, client.send_param(self._param_id(name), value, int(at))))
        stream = client.audio_start(source, int(rate), int(block), int(blocks), any_rate=_true(any_rate))
        stats = client.wait_stream_end(float(timeout))
        applied = [pedal_chain.Change(name, value, client.wait_param(seq)) for name, value, seq in queued]
        record = self._stream_record(client, stream, stats, applied, int(blocks))
        logger.info(f"stream: {stream}; stats: {stats}; applied: {applied}")
        return record

    def _stream_record(self, client: Client, stream, stats: dict[str, int], applied: list, blocks: int) -> dict:
        sink = client.read_sink(stats["sink_samples"]) if stream.source == "software" else np.zeros(0, np.float32)
        log = client.read_sink(min(blocks, 1024), what=1)
        return {"stream": stream, "stats": stats, "sink": sink, "log": log, "applied": applied,
                "blocks": blocks, "block": stream.block}

    def _set_pedal_parameters(self, settings: str) -> None:
        """Every parameter to its default (they persist in the firmware), then `settings`."""
        client = self._require_client()
        values = dict(pedal_chain.DEFAULTS, cabinet=1.0, ramp_ms=10.0, stress_percent=0.0, **getattr(self, "_knobs", {}))
        values.update(dict(_pairs(settings)))
        for name, value in values.items():
            client.set_param(self._param_id(name), value)

    def scheduled_change_past_the_end_should_fail(self, block: int, change: str, blocks: int) -> str:
        """A change scheduled past a stream's last block: ERROR PAYLOAD when the stream stops."""
        client = self._require_client()
        self._set_pedal_parameters("")
        (name, (value, at)), = _pairs(change)
        sequence = client.send_param(self._param_id(name), value, int(at))
        client.audio_start("software", 48000, int(block), int(blocks))
        client.wait_stream_end()
        try:
            applied = client.wait_param(sequence)
        except protocol.FirmwareError as err:
            if err.name != "PAYLOAD":
                raise AssertionError(f"expected ERROR PAYLOAD, got {err.name}: {err.message}") from err
            return err.message
        raise AssertionError(f"the change for block {at} applied at block {applied} of a {blocks}-block stream")

    def start_live_stream(self, block: int, settings: str = "", rate: int = 48000) -> dict[str, object]:
        """Starts an endless software stream (until Stop Live Stream)."""
        self._set_pedal_parameters(settings)
        stream = self._require_client().audio_start("software", int(rate), int(block), 0)
        self._live_changes = []
        return {"stream": stream}

    def change_live_parameter(self, name: str, value: float) -> int:
        """Changes a parameter of the running stream now; returns the block it applied at."""
        block = self._require_client().set_param(self._param_id(name), float(value))
        self._live_changes.append(pedal_chain.Change(name, float(value), block))
        return block

    def stop_live_stream(self, block: int) -> dict[str, object]:
        """Stops the endless stream and collects it like Run Pedal Stream (with the changes
        Change Live Parameter made)."""
        applied = list(self._live_changes)
        client = self._require_client()
        # let the stream run 40 blocks past the last change, so its ramp is in the sink
        wanted = max([c.block for c in applied], default=0) + 40
        deadline = time.monotonic() + 30.0
        while client.stats()["audio_events"] < wanted and time.monotonic() < deadline:
            time.sleep(0.05)
        client.audio_stop()
        stats = client.stats()
        if stats["audio_running"]:
            raise AssertionError(f"AUDIO_STOP left the stream running: {stats}")
        blocks = stats["sink_samples"] // int(block) - 1  # sink block m holds source block m - 1
        return {"stream": None, "stats": stats, "sink": client.read_sink(stats["sink_samples"]),
                "log": client.read_sink(min(blocks, 1024), what=1), "applied": applied, "blocks": blocks,
                "block": int(block)}

    def cabinet_taps(self, ir: str, model_path: str, length: int = 256) -> np.ndarray:
        """The taps the image's cabinet was built from (valvenet.export.cabinet_table)."""
        rate = load_model(Path(model_path)).sample_rate
        return cabinet_export.load(ir, rate=rate, length=int(length)).taps

    def oracle_chain_sink(self, record: dict, model_path: str, taps: np.ndarray, audio: np.ndarray,
                          settings: str = "", rate: int = 48000, with_changes: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The sink the oracle chain predicts for a stream record (without its parameter
        changes if with_changes is false), and its mask of defined samples."""
        chain = pedal_chain.start_chain(load_model(Path(model_path)), taps, int(rate), dict(_pairs(settings)))
        changes = record["applied"] if _true(with_changes) else []
        return pedal_chain.expected_sink(chain, self.quantised(audio), record["block"], record["blocks"],
                                         changes, record["log"])

    def pedal_sink_should_match(self, record: dict, expected: tuple, bound: float = 1e-4,
                                from_block: int = 0) -> dict[str, float]:
        """Compares the firmware's sink with the oracle chain's over the defined samples (from
        sink block `from_block`); fails above `bound` (max abs error)."""
        sink = record["sink"]
        want, valid = expected
        n = min(sink.size, want.size)
        if n < want.size:
            raise AssertionError(f"the sink holds {sink.size} samples, the stream should have played {want.size}")
        mask = valid[:n].copy()
        mask[:int(from_block) * record["block"]] = False
        if not mask.any():
            raise AssertionError("no defined samples to compare")
        error = np.abs(sink[:n][mask].astype(np.float64) - want[:n][mask])
        result = {"max_abs_error": float(error.max()), "samples": int(mask.sum()),
                  "rms_expected": float(np.sqrt(np.mean(want[:n][mask].astype(np.float64) ** 2)))}
        logger.info(f"sink vs oracle chain: {result}")
        if result["rms_expected"] < 1e-3:
            raise AssertionError(f"the expected output is near silence (rms {result['rms_expected']:.2e}): no check")
        if not result["max_abs_error"] <= float(bound):
            worst = int(np.flatnonzero(mask)[np.argmax(error)])
            raise AssertionError(f"sink differs from the oracle chain by {result['max_abs_error']:.3g} "
                                 f"(> {bound}) at sample {worst} (block {worst // record['block']})")
        return result

    def knob_turn_should_show_within_one_block(self, record: dict, unturned: tuple, name: str,
                                               bound: float = 1e-4, min_move: float = 0.0) -> float:
        """The sink equals the unturned chain's (within `bound`) up to the block the knob's
        change was applied at, and differs from it in that very block (sink block at + 1:
        source block n plays from event n + 1) by at least `min_move` (default 20 x bound).
        Returns that difference."""
        min_move = float(min_move) or 20 * float(bound)
        at = next(c.block for c in record["applied"] if c.name == name)
        block, sink = record["block"], np.asarray(record["sink"], np.float64)
        reference = np.asarray(unturned[0], np.float64)
        before = float(np.max(np.abs(sink[:(at + 1) * block] - reference[:(at + 1) * block])))
        if before > bound:
            raise AssertionError(f"the sink differs by {before:.3g} before block {at}, where {name} was turned")
        first = float(np.max(np.abs(sink[(at + 1) * block:(at + 2) * block] - reference[(at + 1) * block:(at + 2) * block])))
        logger.info(f"{name} turned at block {at}: that block's output moved by up to {first:.3g}")
        if first < min_move:
            raise AssertionError(f"turning {name} at block {at} moved that block's output by only {first:.3g}")
        return first

    def knob_turn_should_not_click(self, record: dict, unturned: tuple, name: str, blocks: int = 25,
                                   max_ratio: float = 0.3) -> float:
        """Over the `blocks` blocks from the one `name` was turned at, the turn's effect on the
        sink (sink minus the unturned chain's) grows without a step: its largest sample-to-sample
        change stays under `max_ratio` of its largest value (a ramped turn measured 0.07 with a
        20 ms ramp; a turn done at once, 0.9). Returns the ratio."""
        at = next(c.block for c in record["applied"] if c.name == name)
        block = record["block"]
        span = slice((at + 1) * block, (at + 1 + int(blocks)) * block)
        effect = np.asarray(record["sink"], np.float64)[span] - np.asarray(unturned[0], np.float64)[span]
        ratio = float(np.max(np.abs(np.diff(effect))) / np.max(np.abs(effect)))
        logger.info(f"{name} turned at block {at}: largest step of its effect {ratio:.3f} of the effect")
        if ratio > float(max_ratio):
            raise AssertionError(f"turning {name} at block {at} clicks: a step of {ratio:.2f} of its whole effect")
        return ratio

    def gain_ramp_should_be_smooth(self, record: dict, reference: tuple, change_block: int, gain_db: float,
                                   ramp_ms: float, rate: int = 48000, tolerance: float = 2e-3) -> dict[str, float]:
        """From the firmware's sink against the oracle chain WITHOUT the change: the gain the
        firmware applied is 1 before the change's first sample, moves monotonically in steps no
        larger than a linear ramp's over ramp_ms, and is exactly the new gain after it."""
        sink, (ref, valid) = record["sink"], reference
        block = record["block"]
        start = (int(change_block) + 1) * block  # the change's first output sample in the sink
        ramp = int(round(float(ramp_ms) * int(rate) / 1000.0))
        target = 10.0 ** (float(gain_db) / 20.0)
        idx = np.arange(max(start - 4 * block, 0), min(start + ramp + 4 * block, sink.size))
        idx = idx[valid[idx] & (np.abs(ref[idx]) > 0.02)]
        if idx.size < ramp // 4:
            raise AssertionError(f"only {idx.size} loud samples around the ramp: no check")
        gain = sink[idx].astype(np.float64) / ref[idx]
        expected = np.clip(1.0 + (idx - start + 1) * (target - 1.0) / ramp,
                           min(1.0, target), max(1.0, target))
        deviation = float(np.max(np.abs(gain - expected)))
        before, after = gain[idx < start], gain[idx >= start + ramp]
        result = {"max_deviation_from_linear": deviation, "gain_before": float(np.median(before)),
                  "gain_after": float(np.median(after)), "target": target, "ramp_samples": ramp,
                  "loud_samples": int(idx.size)}
        logger.info(f"gain ramp: {result}")
        if deviation > float(tolerance):
            worst = int(idx[np.argmax(np.abs(gain - expected))])
            raise AssertionError(f"applied gain leaves the linear {ramp}-sample ramp by {deviation:.3g} "
                                 f"at sink sample {worst} (change at {start})")
        return result

    def overload_should_be_recovered(self, record: dict) -> dict[str, int]:
        """The stress (stress_percent changes) was on from its first applied block to the block
        it went back to 0: the block log and STATS agree; every missed block is inside that span
        (plus the late block the overload ran into and the one its resync drops); every block
        from three after it is on time."""
        spans = [c.block for c in record["applied"] if c.name == "stress_percent"]
        if len(spans) != 2:
            raise AssertionError(f"expected a stress on and off change, applied: {record['applied']}")
        stress_from, stress_to = spans
        log, stats = record["log"].astype(int), record["stats"]
        late, dropped = int(np.sum(log == 2)), int(np.sum(log == 3))
        missed = np.flatnonzero((log == 2) | (log == 3))
        result = {"stress_from": stress_from, "stress_to": stress_to, "late": late, "dropped": dropped, "first_missed": int(missed[0]) if missed.size else -1,
                  "last_missed": int(missed[-1]) if missed.size else -1,
                  "load_max_ppm": stats["load_max_ppm"], "load_avg_ppm": stats["load_avg_ppm"]}
        logger.info(f"overload: {result}; stats {stats}")
        if late + dropped == 0:
            raise AssertionError("the forced overload missed no deadline: the stress did not work")
        if stats["audio_missed"] != late + dropped or stats["audio_dropped"] != dropped:
            raise AssertionError(f"STATS (missed {stats['audio_missed']}, dropped {stats['audio_dropped']}) "
                                 f"disagrees with the block log (late {late}, dropped {dropped})")
        if missed[0] < int(stress_from) or missed[-1] > int(stress_to) + 2:
            raise AssertionError(f"deadlines missed outside the stressed blocks {stress_from}..{stress_to}: {missed}")
        tail = log[int(stress_to) + 3:record["blocks"]]
        if not np.all(tail == 1):
            raise AssertionError(f"not every block after the overload was on time: {tail}")
        return result

    def load_should_show_the_overload(self, record: dict) -> str:
        """What the load says about a forced overload, where the target can measure it: with a
        work counter the block's maximum load is over 100 % of its period; without one (the
        stream's unit is none, e.g. a Renode before 1.16.0) the firmware must report no load at
        all, and the log says the load was not measured (the missed deadlines, which
        Overload Should Be Recovered checks, are measured on every target)."""
        stream, stats = record["stream"], record["stats"]
        if stream.unit == "none":
            if stats["load_max_ppm"] or stats["load_avg_ppm"] or stats["period_counts"]:
                raise AssertionError(f"a load was reported without a work counter: {stats}")
            logger.warn("load not measured: this target has no work counter (unit none); only the "
                        "missed deadlines of the overload were checked")
            return "not measured"
        if stats["load_max_ppm"] <= 1_000_000:
            raise AssertionError(f"maximum load {stats['load_max_ppm'] / 1e4:.1f} % of a block period "
                                 f"({stream.unit}) under a 150 % stress: expected over 100 %")
        return f"{stats['load_max_ppm'] / 1e4:.1f} %"

    def bypassed_output_should_equal_input(self, record: dict, audio: np.ndarray, from_block: int) -> int:
        """Bypassed (and its cross-fade over), the sink is the input exactly, one block later."""
        block = record["block"]
        dry = np.zeros((record["blocks"] + 1) * block, np.float32)
        clip = self.quantised(audio)[:record["blocks"] * block]
        dry[block:block + clip.size] = clip
        start, end = (int(from_block) + 1) * block, min(record["sink"].size, dry.size)
        if start >= end:
            raise AssertionError(f"the stream ended before block {from_block}")
        if not np.array_equal(record["sink"][start:end], dry[start:end]):
            bad = start + int(np.flatnonzero(record["sink"][start:end] != dry[start:end])[0])
            raise AssertionError(f"bypassed output differs from the input at sink sample {bad}")
        return end - start

    def cabinet_should_be(self, record: dict, taps: np.ndarray) -> None:
        """AUDIO_START's cabinet (taps, CRC) is the one the host prepared from the same IR."""
        stream = record["stream"]
        crc = zlib.crc32(np.asarray(taps, "<f4").tobytes()) & 0xFFFFFFFF
        if stream.cabinet_taps != len(taps) or stream.cabinet_crc32 != crc:
            raise AssertionError(f"image cabinet {stream.cabinet_name!r}: {stream.cabinet_taps} taps, CRC "
                                 f"{stream.cabinet_crc32:08X}; host: {len(taps)} taps, CRC {crc:08X}")

    def audio_start_should_be_refused(self, block: int, rate: int, code: str = "PAYLOAD") -> str:
        """AUDIO_START (software source) must be answered with ERROR `code`; returns its message."""
        try:
            self._require_client().audio_start("software", int(rate), int(block), 1)
        except protocol.FirmwareError as err:
            if err.name != code or err.request != protocol.AUDIO_START:
                raise AssertionError(f"AUDIO_START: ERROR {err.name} ({err.message}), expected {code}") from err
            return err.message
        raise AssertionError(f"AUDIO_START at {rate} Hz, block {block} was accepted")

    def request_should_be_refused(self, what: str, code: str = "BUSY") -> str:
        """PROCESS (one sample) or SOURCE (clear) must be answered with ERROR `code`."""
        client = self._require_client()
        try:
            if what == "PROCESS":
                client.process(np.zeros(1, np.float32))
            else:
                client.request(protocol.SOURCE, struct.pack("<BBHI", 2, 0, 0, 0))
        except protocol.FirmwareError as err:
            if err.name != code:
                raise AssertionError(f"{what}: ERROR {err.name}, expected {code}") from err
            return err.message
        raise AssertionError(f"{what} was accepted while it should be refused with {code}")


def _pairs(text: str) -> list[tuple[str, object]]:
    """"a=1,b=2@30" -> [("a", 1.0), ("b", (2.0, 30))]."""
    pairs = []
    for item in filter(None, (part.strip() for part in str(text).split(","))):
        name, _, value = item.partition("=")
        if "@" in value:
            number, _, block = value.partition("@")
            pairs.append((name.strip(), (float(number), int(block))))
        else:
            pairs.append((name.strip(), float(value)))
    return pairs


def _true(value: object) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() not in ("false", "0", "no", "")
