"""Training reports users can read: loss curves, waveforms, spectra, ESR per test segment.

PNG files, short WAV excerpts of the test split (dry, amp, model) to listen to, and one HTML
page that shows and plays them, written into the run folder. The page says what an ESR figure
means (Neural Amp Modeler's scale) and which epoch's weights the model file kept, because the
last epoch can be worse than the best one.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from valvenet import atomic
from valvenet.losses import scores

SEGMENT_SECONDS = 2.0
EXCERPT_SECONDS = 5.0
ESR_SCALE = ("ESR (error-to-signal ratio; Neural Amp Modeler's scale): below 1 % great, below 3.5 % good, "
             "below 10 % may still sound fine; listen to the excerpts below.")


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:  # type: ignore[no-untyped-def]
    """Write a finished figure as PNG and free it (pyplot keeps figures alive otherwise)."""
    fig.tight_layout()
    with atomic.replacing(path) as tmp:
        fig.savefig(tmp, dpi=100)
    _pyplot().close(fig)


def plot_curves(rows: list[dict[str, float]], path: Path, kept_epoch: int | None = None) -> None:
    """Training loss and validation ESR per epoch, the kept (best) epoch marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    epochs = [r["epoch"] for r in rows]
    trained = [r for r in rows if r["epoch"] > 0]
    ax.semilogy([r["epoch"] for r in trained], [100 * r["train_loss"] for r in trained], label="train loss (ESR pre-emph + DC)")
    ax.semilogy(epochs, [100 * r["val_esr_preemph"] for r in rows], label="validation ESR, pre-emphasised")
    ax.semilogy(epochs, [100 * r["val_esr"] for r in rows], label="validation ESR, raw")
    kept = [r for r in rows if r["epoch"] == kept_epoch]
    if kept:
        ax.axvline(kept_epoch, color="black", ls=":", lw=1)
        ax.plot([kept_epoch], [100 * kept[0]["val_esr_preemph"]], "k*", ms=12,
                label=f"kept: epoch {kept_epoch} (best validation ESR)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("%")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    _save(fig, path)


def plot_waveforms(target: np.ndarray, prediction: np.ndarray, rate: int, starts: list[int], path: Path) -> None:
    plt = _pyplot()
    length = int(0.02 * rate)
    fig, axes = plt.subplots(len(starts), 1, figsize=(9, 2.4 * len(starts)), squeeze=False)
    for ax, start in zip(axes[:, 0], starts):
        t = np.arange(length) / rate * 1000 + start / rate * 1000
        ax.plot(t, target[start:start + length], label="target", lw=1.2)
        ax.plot(t, prediction[start:start + length], label="model", lw=1.0, ls="--")
        ax.plot(t, target[start:start + length] - prediction[start:start + length], label="error", lw=0.8)
        ax.set_xlabel("ms")
        ax.legend(loc="upper right", fontsize=8)
    _save(fig, path)


def plot_spectra(target: np.ndarray, prediction: np.ndarray, rate: int, path: Path) -> None:
    from scipy import signal

    plt = _pyplot()
    f, pt = signal.welch(target, rate, nperseg=4096)
    _, pp = signal.welch(prediction, rate, nperseg=4096)
    _, pe = signal.welch(target - prediction, rate, nperseg=4096)
    fig, ax = plt.subplots(figsize=(8, 4))
    for spectrum, label in ((pt, "target"), (pp, "model"), (pe, "error")):
        ax.semilogx(f[1:], 10 * np.log10(spectrum[1:] + 1e-20), label=label)
    ax.set_xlabel("Hz")
    ax.set_ylabel("dB/Hz")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    _save(fig, path)


def segment_scores(target: np.ndarray, prediction: np.ndarray, rate: int) -> list[dict[str, float]]:
    """ESR per SEGMENT_SECONDS of the test split (where the model does well or badly)."""
    step = int(SEGMENT_SECONDS * rate)
    rows = []
    for start in range(0, target.size - step + 1, step):
        s = scores(target[start:start + step], prediction[start:start + step])
        rows.append({"start_s": start / rate, **s, "level_db": float(10 * np.log10(np.mean(target[start:start + step] ** 2) + 1e-20))})
    return rows


def plot_segments(rows: list[dict[str, float]], path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.bar([r["start_s"] for r in rows], [100 * r["esr_preemph"] for r in rows], width=SEGMENT_SECONDS * 0.9, align="edge")
    ax.set_xlabel("test time (s)")
    ax.set_ylabel("ESR pre-emph (%)")
    _save(fig, path)


def loudest_excerpt(target: np.ndarray, rate: int, seconds: float = EXCERPT_SECONDS) -> tuple[int, int]:
    """(start, stop) of the loudest `seconds` of the split (all of it when shorter)."""
    length = min(target.size, int(seconds * rate))
    if length == target.size:
        return 0, length
    energy = np.concatenate([[0.0], np.cumsum(target.astype(np.float64) ** 2)])
    start = int(np.argmax(energy[length:] - energy[:-length]))
    return start, start + length


def write_excerpts(out: Path, test: Any, prediction: np.ndarray) -> tuple[list[tuple[str, str]], float]:
    """excerpt-{dry,amp,model}.wav beside the report; returns (label, file name) pairs and the
    excerpts' length in seconds."""
    start, stop = loudest_excerpt(np.asarray(test.target), test.sample_rate)
    files = []
    for label, audio in (("dry (input)", test.input), ("amp (target)", test.target), ("model", prediction)):
        name = f"excerpt-{label.split()[0]}.wav"
        atomic.write_wav(out / name, np.asarray(audio[start:stop], dtype=np.float32), test.sample_rate)
        files.append((label, name))
    return files, (stop - start) / test.sample_rate


def audio_section(files: list[tuple[str, str]], seconds: float) -> str:
    """HTML players for the excerpts."""
    players = "".join(f"<p>{html.escape(label)}<br><audio controls preload='none' src='{name}'></audio></p>"
                      for label, name in files)
    return f"<h2>Listen: the loudest {seconds:.1f} s of the test split</h2>{players}"


def recurrent_section(diagnostics: dict[str, Any] | None) -> str:
    """An LSTM's or GRU's gate statistics and state (valvenet.recurrent_diagnostics), with the
    signs of a model that is not learning in words; empty for WaveNets."""
    if not diagnostics:
        return ""
    from valvenet.recurrent_diagnostics import warnings

    rows = "".join(f"<tr><th>{html.escape(name)} gate</th><td>{g['mean']:+.3f}</td><td>{g['std']:.3f}</td></tr>"
                   for name, g in diagnostics["gates"].items())
    facts = [f"state RMS {diagnostics['state_rms']:.3f}, peak {diagnostics['state_peak']:.3f}"]
    if "forget_bias" in diagnostics:
        facts.append(f"mean forget-gate bias {diagnostics['forget_bias']:+.2f}; the cell state's memory about "
                     f"{diagnostics['memory_samples']:.1f} samples")
    signs = "".join(f"<p><strong>Not learning?</strong> {html.escape(w)}</p>" for w in warnings(diagnostics))
    return (f"<h2>Recurrent state and gates (validation audio)</h2>{signs}<table><tr><th></th><th>pre-activation "
            f"mean</th><th>spread (std)</th></tr>{rows}</table><p>{html.escape('; '.join(facts))}</p>")


def plot_knob_esr(rows: list[dict[str, Any]], path: Path) -> None:
    """Test ESR (pre-emphasised) over the knob settings: for one knob against its value, for two
    or more over the first two knobs' plane, each setting annotated; settings never trained on
    drawn as open markers."""
    plt = _pyplot()
    names = list(rows[0]["settings"])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for trained, marker, label in ((True, "o", "trained setting"), (False, "D", "between the trained ones")):
        chosen = [r for r in rows if r.get("trained", True) == trained]
        if not chosen:
            continue
        esr = [100 * r["esr_preemph"] for r in chosen]
        if len(names) == 1:
            ax.plot([r["settings"][names[0]] for r in chosen], esr, marker, mfc="none" if not trained else None,
                    label=label)
        else:
            xs, ys = [r["settings"][names[0]] for r in chosen], [r["settings"][names[1]] for r in chosen]
            points = ax.scatter(xs, ys, c=esr, marker=marker, s=160, cmap="viridis", edgecolors="black",
                                vmin=0, vmax=max(100 * r["esr_preemph"] for r in rows), label=label)
            for x, y, value in zip(xs, ys, esr):
                ax.annotate(f"{value:.1f}", (x, y), textcoords="offset points", xytext=(0, 10), ha="center",
                            fontsize=8)
    if len(names) == 1:
        ax.set_xlabel(names[0])
        ax.set_ylabel("test ESR, pre-emphasised (%)")
    else:
        fig.colorbar(points, ax=ax, label="test ESR, pre-emphasised (%)")
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
    ax.set_title("Test ESR over the knobs")
    ax.grid(True, alpha=0.3)
    ax.margins(0.12)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8)
    _save(fig, path)


def knob_section(out: Path, rows: list[dict[str, Any]] | None) -> str:
    """The report's ESR-over-knobs plot and table (empty for a model without knobs)."""
    if not rows:
        return ""
    plot_knob_esr(rows, out / "knobs.png")
    lines = "".join(f"<tr><td>{html.escape(', '.join(f'{k}={v:g}' for k, v in r['settings'].items()))}</td>"
                    f"<td>{'yes' if r.get('trained', True) else 'no'}</td><td>{100 * r['esr_preemph']:.2f} %</td>"
                    f"<td>{100 * r['esr']:.2f} %</td></tr>" for r in rows)
    return ("<h2>ESR over the knobs (test split)</h2><img src='knobs.png' alt='ESR over the knobs'>"
            "<table><tr><th>setting</th><th>trained on</th><th>ESR pre-emph</th><th>ESR raw</th></tr>"
            f"{lines}</table>")


def write_training_report(out: Path, model: Any, test: Any, rows: list[dict[str, float]], prediction: np.ndarray) -> Path:
    """Write PNGs, the excerpts' WAVs and report.html into `out`; return the HTML path."""
    rate = test.sample_rate
    target = np.asarray(test.target, dtype=np.float64)
    t = model.metadata["training"]
    plot_curves(rows, out / "curves.png", t.get("best_epoch"))
    loud = np.argsort([-np.mean(target[s:s + rate // 10] ** 2) for s in range(0, target.size - rate // 10, rate // 10)])
    starts = sorted({int(i) * (rate // 10) for i in loud[:3]})
    plot_waveforms(target, prediction, rate, starts, out / "waveforms.png")
    plot_spectra(target, prediction, rate, out / "spectra.png")
    segments = segment_scores(target, prediction, rate)
    plot_segments(segments, out / "segments.png")
    atomic.write_text(out / "segments.json", json.dumps(segments, indent=2))
    excerpts, seconds = write_excerpts(out, test, prediction)
    summary = {"model": model.name, "parameters": model.parameter_count(), "epochs": t["epochs"],
               "kept epoch (best validation ESR)": t.get("best_epoch", "?"), "stopped by": t.get("stopped", "?"),
               "minutes": t["minutes"], "samples/s": t["samples_per_second"],
               "test ESR (pre-emph)": f"{100 * t['test']['esr_preemph']:.2f} %",
               "test ESR (raw)": f"{100 * t['test']['esr']:.2f} %"}
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in summary.items())
    images = "".join(f'<h2>{title}</h2><img src="{name}" alt="{title}">' for title, name in (
        ("Loss curves", "curves.png"), ("Loudest test excerpts", "waveforms.png"),
        ("Spectra (test split)", "spectra.png"), ("ESR per test segment", "segments.png")))
    note = t.get("note", "")
    warning = f"<p><strong>Not settled:</strong> {html.escape(note)}</p>" if note else ""
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>ValveNet run: {html.escape(model.name)}</title>"
            f"</head><body><h1>ValveNet training report: {html.escape(model.name)}</h1>{warning}<table>{table}</table>"
            f"<p>{html.escape(ESR_SCALE)}</p>{audio_section(excerpts, seconds)}{images}"
            f"{knob_section(out, t['test'].get('per_setting'))}{recurrent_section(t.get('recurrent'))}</body></html>")
    path = out / "report.html"
    atomic.write_text(path, page)
    return path
