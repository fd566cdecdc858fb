r"""What one ``skelgraph bench`` run measures (:class:`BenchConfig`) and the shapes it knows."""
from __future__ import annotations

from dataclasses import dataclass

from skelgraph.nn.conv import CONV_NAMES

NTU60_XSUB_TRAIN = 40_091  # training sequences of NTU RGB+D 60, cross-subject
LAYOUT_BY_JOINTS = {25: "ntu25", 17: "coco17", 18: "openpose18", 20: "kinect_v1_20"}
CHANNELS = {"ntu25": 3, "kinect_v1_20": 3, "coco17": 2, "openpose18": 2}  # 3D sensors vs 2D pose estimators
MODELS = ("mae", "strl", "aggregate")
MODES = ("fwd", "fwd+bwd")
NUM_CLASSES = 60


@dataclass(frozen=True)
class BenchConfig:
    r"""What one ``skelgraph bench`` run measures (CLI flags map one to one). ``repeats`` is the
    number of timed rounds (paired steps) per row."""

    joints: int = 25
    persons: int = 2
    frames: int = 64
    width: int = 64
    batch: int = 64
    warmup: int = 2
    repeats: int = 15
    threads: int = 1
    device: str = "cpu"
    convs: tuple[str, ...] = CONV_NAMES
    paths: tuple[str, ...] = ()  # () = every path; "dense" is always measured (the reference)
    memory: bool = True
    read_samples: int = 512  # samples read per worker setting
    workers: tuple[int, ...] = (0, 2)
    seed: int = 0

    @property
    def layout_name(self) -> str:
        if self.joints not in LAYOUT_BY_JOINTS:
            raise ValueError(f"--joints {self.joints}: choose one of {', '.join(map(str, LAYOUT_BY_JOINTS))}")
        return LAYOUT_BY_JOINTS[self.joints]

    @property
    def channels(self) -> int:
        return CHANNELS[self.layout_name]
