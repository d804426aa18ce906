"""Recording pairs (dry input, amp output) in the layouts amp modellers publish, validated
and aligned, ready for training: see `loaders` for the layouts and rules, `latency` for how
a reamped output's delay is found."""

from valvenet.datasets.latency import (
    NAM_V1_V2_BLIPS,
    NAM_V3_BLIPS,
    LatencyError,
    LatencyEstimate,
    detect_delay_blips,
    detect_delay_xcorr,
)
from valvenet.datasets.loaders import (
    SPLITS,
    AudioPair,
    DatasetError,
    DatasetWarning,
    clipped_samples,
    load_dataset,
    load_nam_pair,
    load_pattern,
    load_split,
)

__all__ = [
    "NAM_V1_V2_BLIPS",
    "NAM_V3_BLIPS",
    "SPLITS",
    "AudioPair",
    "DatasetError",
    "DatasetWarning",
    "LatencyError",
    "LatencyEstimate",
    "clipped_samples",
    "detect_delay_blips",
    "detect_delay_xcorr",
    "load_dataset",
    "load_nam_pair",
    "load_pattern",
    "load_split",
]
