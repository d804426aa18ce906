"""Does Neural Amp Modeler's own Python package read what `valvenet export nam` writes, and
compute what ValveNet computes? (docs/results.md, "Read back by NAM's own package")

Two environments, two steps (NAM's package needs PyTorch, which ValveNet does not use):

    # 1. ValveNet's environment: self-made captures of every shape ValveNet imports (the test
    #    fixtures of tests/python/test_nam*.py), plus the real ones if given, each imported and
    #    written back by `export nam` into DIR, with the oracle's output for a test signal
    PYTHONPATH=python .venv/bin/python3 tools/results/nam_package_check.py write DIR [--real-data ../shared/realdata]
    # 2. a scratch environment with neural-amp-modeler==0.12.3 (the last release that reads
    #    0.5.x files) and torch: each exported file through NAM's init_from_nam, float64,
    #    pad_start (zero input before the first sample), against the oracle's output
    python3 tools/results/nam_package_check.py check DIR

Step 2 imports nothing of ValveNet; it prints one Markdown row per file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

SIGNAL = 3000


def write(folder: Path, real: Path | None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "python"))
    from test_nam import SHAPES, capture  # the test fixtures: every A1 shape ValveNet imports
    from test_nam_lstm import lstm_capture

    from valvenet.export.nam import read_nam, to_nam
    from valvenet.models import config as model_config
    from valvenet.models.oracle import Oracle

    folder.mkdir(parents=True, exist_ok=True)
    x = 0.5 * np.sin(np.linspace(0.0, 40.0, SIGNAL)) * np.random.default_rng(1).uniform(0.2, 1.0, SIGNAL)
    np.save(folder / "x.npy", x)
    sources = {f"wavenet-{k}": capture(v, seed=len(k)) for k, v in SHAPES.items()}
    sources |= {f"lstm-{h}x{n}": lstm_capture(h, n, seed=h) for h, n in [(6, 1), (4, 2), (3, 3)]}
    if real is not None:
        sources |= {f"real-{p.stem}": json.loads(p.read_text()) for p in sorted((real / "captures").glob("*.nam"))}
    for name, data in sources.items():
        source = folder / f"{name}.source.json"
        source.write_text(json.dumps(data))
        model = read_nam(source)
        (folder / f"{name}.nam").write_text(json.dumps(to_nam(model)))
        oracle = Oracle(model)
        oracle.process(np.zeros(model_config.receptive_field(model.config) - 1))
        np.save(folder / f"{name}.valvenet.npy", oracle.process_all(x))
    print(f"wrote {len(sources)} exported captures to {folder}")
    return 0


def check(folder: Path) -> int:
    import torch
    from nam.models import init_from_nam

    x = torch.from_numpy(np.load(folder / "x.npy"))[None]
    print("| exported capture | NAM's package | max abs vs ValveNet's oracle |")
    print("|---|---|---:|")
    for path in sorted(folder.glob("*.nam")):
        name = path.stem
        try:
            model = init_from_nam(json.loads(path.read_text())).double().eval()
            with torch.no_grad():
                wavenet = json.loads(path.read_text())["architecture"] == "WaveNet"
                y = (model(x, pad_start=True) if wavenet else model(x))[0].numpy()
            error = np.max(np.abs(y - np.load(folder / f"{name}.valvenet.npy")))
            print(f"| {name} | reads it | {error:.1e} |")
        except Exception as exc:  # a file NAM's package refuses is a result to report
            print(f"| {name} | refuses it: {type(exc).__name__}: {exc} | |")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("write", "check"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--real-data", type=Path, help="the realdata folder (its captures/ are added)")
    args = parser.parse_args()
    return write(args.folder, args.real_data) if args.step == "write" else check(args.folder)


if __name__ == "__main__":
    sys.exit(main())
