r"""Run configuration: TOML file -> frozen dataclass -> plain keyword arguments.

One flat dataclass per command. A TOML file sets any subset of the fields; unknown keys
and wrong types are errors naming the file. A file may name one ``base = "other.toml"``
(relative to it) whose values it overrides (:func:`read_config_values`). CLI flags then replace a few values with
:func:`dataclasses.replace`, and every run writes the resolved config into its run
directory (``config.toml``), which can be passed back with ``--config`` to repeat it.
"""
from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from skelgraph.data.files import read_text_file
from skelgraph.nn.conv import CONV_NAMES  # torch-free: the names of the one table of convs


class ConfigError(ValueError):
    """An invalid configuration file or value (the message names the file and the key)."""


# input features of the encoder and reconstruction targets (skelgraph.nn.features)
Feature = Literal["position", "motion", "trajectory", "bone"]
Target = Literal["position", "motion"]
TemporalBlock = Literal["depthwise", "full", "bottleneck"]  # skelgraph.nn.encoder.TEMPORAL_BLOCKS
ConvName = Literal[CONV_NAMES]  # type: ignore[valid-type]  # a conv of skelgraph.nn.conv.CONV_CLASSES


@dataclass(frozen=True)
class PretrainConfig:
    r"""SkeletonMAE pre-training. Defaults are the paper's (arXiv 2307.08476, Sec. 4.2)."""

    # data
    # split stored in the HDF5 file; a list = the union of several (an external corpus plus a
    # dataset's training split); None = every sample
    split: str | tuple[str, ...] | None = None
    num_frames: int = 64  # T after uniform sampling
    num_persons: int | None = None  # None: the file's M
    # model
    hidden_channels: int = 64  # D
    enc_layers: int = 3
    dec_layers: int = 1
    conv: ConvName = "gin"
    # the encoder's input features (position = the coordinates, the paper's; motion = frame-to-frame
    # displacement; trajectory = the centre joint's track, needs files preprocessed with --no-center;
    # bone = the joint minus its parent joint, zeroed in the masked input where the parent is hidden)
    features: tuple[Feature, ...] = ("position",)
    temporal_kernel: int = 0  # depthwise temporal conv after each encoder layer; 0 = frame-wise (the paper's)
    # the kind of that temporal layer: depthwise (D * k weights), full (ST-GCN's unit: a D -> D conv over
    # frames, LayerNorm, residual) or bottleneck (the same through D / 4 channels); nn.encoder.make_temporal
    temporal_block: TemporalBlock = "depthwise"
    # what hidden joints are scored on, and how (sce = scaled cosine error, the paper's; mse / l1 are
    # normalised by the targets' scale, skelgraph.nn.losses)
    targets: tuple[Target, ...] = ("position",)
    loss: Literal["sce", "mse", "l1"] = "sce"
    beta: float = 2.0  # exponent of the scaled cosine error
    edge_weight: float = 0.0  # weight of the edge-reconstruction loss; 0 = off
    # beyond the paper: InfoNCE between the pooled encoder features of the masked batch and of a second,
    # unmasked view (aug_* bounds, cropped in time to [contrast_crop, 1] of its frames); 0 = off
    contrastive_weight: float = 0.0
    temperature: float = 0.1
    contrast_crop: float = 0.7
    # what is pre-trained: "encoder" = G_E alone (the paper's); "strl" = the whole STRL network of fine-tuning
    # but its head (position embedding, STRL layers around G_E, multi-scale temporal convs), so fine-tuning and
    # frozen features start from a pre-trained temporal network; strl_layers and temporal as FinetuneConfig's
    # (a fine-tuning run from such a checkpoint must use the same two and num_frames)
    scope: Literal["encoder", "strl"] = "encoder"
    strl_layers: int = 3
    temporal: Literal["head", "per-layer"] = "per-layer"
    # masking
    mask: Literal["body-part", "random-joint"] = "body-part"
    num_parts: int = 2  # body parts hidden per person (body-part masking)
    mask_ratio: float = 0.4  # joints hidden per person (random-joint masking)
    # 0: the same joints hidden in every frame (the paper's); L > 0: a new draw every L frames, so
    # each body part is hidden over some spans of frames and seen in others (masking in time too)
    mask_span: int = 0
    # > 0: motion-aware masking (MAMP's idea): body parts (joints) that move more are hidden more often, with
    # probability proportional to exp(relative motion / mask_motion_tau); 0 = uniform draws (the paper's)
    mask_motion_tau: float = 0.0
    # optimisation
    epochs: int = 50
    batch_size: int = 1024  # global batch (all processes together)
    lr: float = 1.5e-4  # at base_batch_size; scaled linearly with the global batch
    base_batch_size: int = 1024
    weight_decay: float = 0.0
    warmup_epochs: int = 0
    schedule: Literal["constant", "cosine"] = "constant"
    # augmentation before masking (off by default: the paper states none for pre-training);
    # same transforms and bounds as FinetuneConfig's
    augment: bool = False
    aug_rotate: float = 10.0
    aug_scale: float = 0.1
    aug_shear: float = 0.1
    # run
    seed: int = 0
    workers: int = 0
    device: str = "auto"
    amp: bool = False
    checkpoint_every: int = 1  # epochs
    tensorboard: str | None = None  # a folder for TensorBoard scalars (the metrics.jsonl numbers); needs tensorboard


@dataclass(frozen=True)
class FinetuneConfig:
    r"""STRL fine-tuning / linear probe / training from scratch. Defaults are the paper's
    (arXiv 2307.08476, Sec. 4.2); the encoder's width, depth, conv, features and temporal kernel
    are the pre-training checkpoint's when ``init = "pretrained"`` (unset: taken from it; set:
    they must match it)."""

    # data
    train_split: str | None = None
    test_split: str | None = None  # reported every eval_every epochs; never used to choose anything
    # validation, evaluated every eval_every epochs; its best epoch is kept as best.pt beside checkpoint.pt:
    # a split stored in the file (disjoint from the training split), or a fraction in (0, 1) of the training
    # split carved off it (class-balanced, seeded by seed; those samples are not trained on); None = none
    val_split: str | float | None = None
    num_frames: int = 64
    num_persons: int | None = None
    label_fraction: float = 1.0  # class-balanced, seeded subset of the training labels
    # model
    init: Literal["pretrained", "none"] = "pretrained"
    protocol: Literal["finetune", "linear"] = "finetune"
    # the encoder (width D, depth, conv, input features, temporal kernel): unset (None) = the
    # pre-training run's, or the paper's 64, 3, "gin", ("position",), 0 without one; a value set
    # must match the pre-training run's
    hidden_channels: int | None = None
    enc_layers: int | None = None
    conv: ConvName | None = None
    features: tuple[Feature, ...] | None = None
    temporal_kernel: int | None = None
    temporal_block: TemporalBlock | None = None  # unset = the pre-training run's (else depthwise)
    strl_layers: int = 3
    # multi-scale temporal conv after each STRL layer, or once after them all ("head"); per-layer
    # won on a validation split carved from NW-UCLA's training views (experiments/RESULTS.md)
    temporal: Literal["head", "per-layer"] = "per-layer"
    dropout: float = 0.0
    # optimisation
    epochs: int = 110
    batch_size: int = 128
    lr: float = 0.1
    base_batch_size: int = 128
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    warmup_epochs: int = 5
    lr_steps: tuple[int, ...] = (90, 100)  # epochs where the lr is multiplied by lr_gamma
    lr_gamma: float = 0.1
    # lr multiplier of the pre-trained layers (the encoder G_E: embed, encoder convs; and the STRL trunk
    # when the checkpoint holds it, see pretrained_trunk) against the new layers: < 1 keeps
    # pre-trained weights closer to where pre-training left them (layer-wise lr, as in MAE/BEiT
    # fine-tuning); 1 = one lr for everything (the paper's text)
    encoder_lr_scale: float = 1.0
    # epochs at the start in which the pre-trained layers' lr is 0 (the new layers train first, so their
    # random start does not distort the pre-trained features: LP-FT, Kumar et al., ICLR 2022); 0 = off
    encoder_frozen_epochs: int = 0
    # whether the pre-training checkpoint holds the STRL trunk (position embedding, STRL layers, temporal
    # convs: a scope = "strl" pre-training), which then counts as pre-trained for the two settings above;
    # unset = read from the checkpoint (False without one), recorded in the run's config; a value set must match
    pretrained_trunk: bool | None = None
    label_smoothing: float = 0.1
    # augmentation (training batches only; light, per sample)
    augment: bool = True
    aug_rotate: float = 10.0  # degrees, uniform in [-a, a] about each axis
    aug_scale: float = 0.1  # factor uniform in [1 - s, 1 + s] per axis
    aug_shear: float = 0.1  # off-diagonal shear entries uniform in [-s, s]
    # run
    seed: int = 0
    workers: int = 0
    device: str = "auto"
    amp: bool = False
    checkpoint_every: int = 1
    eval_every: int = 5
    tensorboard: str | None = None  # a folder for TensorBoard scalars (the metrics.jsonl numbers); needs tensorboard


C = TypeVar("C")


def _at_least(low: float) -> tuple[str, Callable[[Any], bool]]:
    return (f">= {low:g}", lambda v: v >= low)


#: Seeds go to Python's, NumPy's (at most 2**32 - 1) and torch's generators.
MAX_SEED = 2**32 - 1
_POSITIVE = ("> 0", lambda v: v > 0)
_FRACTION = ("in [0, 1)", lambda v: 0 <= v < 1)

#: Allowed values of the numeric fields (any config class; a field not listed takes any value of
#: its type). Checked on every value a file, --set or a flag gives, with the source named.
VALUE_RULES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    **{key: _POSITIVE for key in ("lr", "beta", "lr_gamma", "temperature")},
    **{key: _at_least(1) for key in ("epochs", "batch_size", "base_batch_size", "num_frames", "num_persons",
                                     "hidden_channels", "enc_layers", "dec_layers", "strl_layers", "num_parts",
                                     "checkpoint_every", "eval_every")},
    **{key: _at_least(0) for key in ("weight_decay", "warmup_epochs", "edge_weight", "aug_rotate", "aug_shear",
                                     "workers", "encoder_lr_scale", "encoder_frozen_epochs", "mask_span",
                                     "mask_motion_tau",
                                     "contrastive_weight")},
    **{key: _FRACTION for key in ("mask_ratio", "momentum", "label_smoothing", "dropout", "aug_scale")},
    "label_fraction": ("in (0, 1]", lambda v: 0 < v <= 1),
    "contrast_crop": ("in (0, 1]", lambda v: 0 < v <= 1),
    "val_split": ("a split name or a fraction in (0, 1)", lambda v: isinstance(v, str) or 0 < v < 1),
    "temporal_kernel": ("0 (none) or an odd number of frames", lambda v: v == 0 or (v > 0 and v % 2 == 1)),
    "lr_steps": ("a list of epochs >= 0", lambda v: all(step >= 0 for step in v)),
    "seed": (f"in [0, {MAX_SEED}]", lambda v: 0 <= v <= MAX_SEED),
}


def check_value(key: str, value: Any) -> None:
    """Raises :class:`ConfigError` when ``value`` is outside :data:`VALUE_RULES` for ``key``, or
    a float that is not finite (``nan``, ``inf``: a run would train to ``nan`` and exit 0).

    Example:
        >>> check_value("lr", -0.1)
        Traceback (most recent call last):
        ...
        skelgraph.train.config.ConfigError: lr must be > 0, got -0.1
    """
    if isinstance(value, float) and not math.isfinite(value):  # nan passes every comparison rule's "not"
        raise ConfigError(f"{key} must be a finite number, got {value!r}")
    rule = VALUE_RULES.get(key)
    if rule is not None and value is not None and not rule[1](value):
        raise ConfigError(f"{key} must be {rule[0]}, got {value!r}")


def _check_type(value: Any, hint: Any, key: str) -> Any:
    """Coerces TOML values to the field type where it is lossless; raises on a mismatch."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if type(None) in options and (value is None or (value == "" and str in options)):
            return None  # TOML has no null: an empty string unsets an optional name (--set split="")
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _check_type(value, option, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0])
    if origin is Literal:
        if value not in typing.get_args(hint):
            raise ConfigError(f"{key} must be one of {', '.join(map(repr, typing.get_args(hint)))}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        inner = typing.get_args(hint)[0]
        return tuple(_check_type(v, inner, key) for v in value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is bool and not isinstance(value, bool) or hint is not bool and isinstance(value, bool) \
            or not isinstance(value, hint):
        raise ConfigError(f"{key} must be {getattr(hint, '__name__', hint)}, got {value!r}")
    return value


def make_config(cls: type[C], values: dict[str, Any], source: str = "config") -> C:
    """Builds ``cls`` from ``values``, checking names and types; ``None`` values are skipped
    (so unset CLI flags keep the file's value)."""
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(fields))})")
    clean = {}
    for key, value in values.items():
        try:
            clean[key] = _check_type(value, hints[key], key)
            check_value(key, clean[key])
        except ConfigError as err:
            raise ConfigError(f"{source}: {err}") from None
    return cls(**clean)


#: The key naming a config's base file (not a field of any config).
BASE = "base"


def config_chain(path: str | Path, _seen: tuple[Path, ...] = ()) -> list[tuple[Path, dict[str, Any]]]:
    r"""``(file, the values it sets itself)`` of a config file and its bases, the furthest base
    first (``base`` keys taken out; see :func:`read_config_values`).

    Raises:
        ConfigError: the file or a base is missing or not TOML, ``base`` is not a string, or
            the bases form a cycle (each names the file).
    """
    path = Path(path)
    if _seen and not path.exists():
        raise ConfigError(f"{path}: config file not found (the base of {_seen[-1]})")
    try:
        values = tomllib.loads(read_text_file(path, "config file", ConfigError))  # the one reader of user text
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    if BASE not in values:
        return [(path, values)]
    base = values.pop(BASE)
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{path}: base must be the path of another config file, got {base!r}")
    base_path = (path.parent / base).resolve()
    chain = (*_seen, path.resolve())
    if base_path in chain:
        raise ConfigError(f"{path}: base {base!r} makes a cycle ({' -> '.join(p.name for p in chain)} -> "
                          f"{base_path.name})")
    return config_chain(base_path, chain) + [(path, values)]


def read_config_values(path: str | Path) -> dict[str, Any]:
    r"""The values a TOML config file sets, its ``base`` resolved: ``base = "other.toml"`` (a path
    relative to the file's folder) loads that file first (which may name its own base), and the
    file's keys override the base's. What a run writes (``config.toml``) is the resolved result,
    with no ``base`` left.

    Raises:
        ConfigError: as :func:`config_chain`.
    """
    values: dict[str, Any] = {}
    for _, own in config_chain(path):
        values |= own
    return values


def load_config(cls: type[C], path: str | Path | None, **overrides: Any) -> C:
    """``cls`` from a TOML file (or defaults when ``path`` is None; a ``base`` key inherits, see
    :func:`read_config_values`), then ``overrides`` whose value is not None."""
    values: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        for file, own in config_chain(path):  # each file's own keys checked under its own name
            make_config(cls, own, str(file))
            values |= own
    config = make_config(cls, values, source)
    changes = {k: v for k, v in overrides.items() if v is not None}
    checked = make_config(cls, changes, "command line")  # validates names and types
    return dataclasses.replace(config, **{k: getattr(checked, k) for k in changes})


def parse_assignments(assignments: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (the CLI's ``--set``) as a dict. A value is read as a TOML value
    (``0.1``, ``true``, ``[45, 55]``, ``"gin"``), else kept as the bare string (``gin``).

    Example:
        >>> parse_assignments(["lr_steps=[45, 55]", "conv=gin", "augment=false"])
        {'lr_steps': [45, 55], 'conv': 'gin', 'augment': False}
    """
    values: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        try:
            values[key] = tomllib.loads(f"value = {raw.strip()}")["value"]
        except tomllib.TOMLDecodeError:
            values[key] = raw.strip()
    return values


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def config_to_toml(config: Any, header: str = "") -> str:
    """The resolved config as TOML (``None`` fields are left out: absent means None)."""
    lines = [f"# {line}" for line in header.splitlines()]
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if value is not None:
            lines.append(f"{f.name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"
