r"""Frozen-feature evaluation, measured honestly: every protocol on three sources of features.

A number for pre-trained features means something only beside two baselines measured the same
way (the project's rule, and what reviewers ask for):

- ``pretrained``: the pre-training run's encoder ``G_E``, frozen (from a ``scope = "strl"`` run:
  the STRL trunk around it, whose output is then the feature);
- ``random``: an encoder (and trunk) of the same architecture with random weights (seeded);
- ``raw``: the input itself: the same preprocessed channels the encoder reads (positions,
  motion, ... as the run's ``features``), at the same frames, flattened.

Protocols, each fitted on ``train_split`` (or its class-balanced ``label_fraction``) and scored on
``split``:

- ``linear``: a converged multinomial logistic regression (scikit-learn, L-BFGS) on
  standardised features; its inverse regularisation ``C`` is chosen by stratified 3-fold
  cross-validation *on the fit set* over :data:`C_GRID` (never on the evaluated split), or
  given. The SGD probe of ``finetune --protocol linear`` is a different protocol: it is not
  run to convergence.
- ``1nn``: the nearest training sample by cosine similarity (Predict & Cluster's protocol).
- ``knn``: weighted k-NN, votes ``exp(similarity / 0.07)`` (the instance-discrimination monitor).

Encoder features are the encoder's output ``[N, T, D]`` pooled by
:func:`~skelgraph.nn.pool.segment_pool`: ``segments=1`` is the mean over frames and joints
(``D`` features); ``segments=S`` keeps the order of ``S`` consecutive time segments
(``S * D``); ``keep_joints`` keeps every joint too (``V * M * S * D``); ``all_layers`` (a
``scope = "strl"`` run) reads the output of every STRL layer, concatenated, instead of the last.

``fit_copies = K`` adds K augmented copies of every fit sample to the fit set (rotated, scaled and
sheared within ``fit_augment``, the training augmentation's transforms; the scored split is never
augmented). Every source reads the same draws, so the baselines stay measured the same way; a
fit set that covers more viewpoints matters most when the scored split is another camera
(NW-UCLA's cross-view protocol).

Writes ``frozen_metrics.json`` (every source x protocol: top-1, top-5, mean class accuracy,
feature dimension, the probe's ``C``, iterations and whether it converged).
"""
from __future__ import annotations

import json
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.loader import DataLoader

from skelgraph.data.files import atomic_write_text, make_folder
from skelgraph.nn.encoder import graph_centers, graph_parents
from skelgraph.nn.features import skeleton_features
from skelgraph.nn.pool import segment_pool
from skelgraph.train.config import PretrainConfig
from skelgraph.train.evaluate import EvaluationError, classification_metrics, collect, knn_scores
from skelgraph.transforms.augment import spatial_augment

PROTOCOLS = ("linear", "1nn", "knn")
SOURCES = ("pretrained", "random", "raw")
C_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # inverse L2 strength of the logistic probe, chosen by CV
FALLBACK_C = 1.0  # when a class has a single fit sample, cross-validation cannot run
MAX_ITER = 5000
# rotate (degrees), scale, shear bounds of fit copies: the training augmentation's defaults
FIT_AUGMENT = (PretrainConfig.aug_rotate, PretrainConfig.aug_scale, PretrainConfig.aug_shear)


# ----------------------------------------------------------------------------- features


def raw_input_features(data: Any, features: Sequence[str]) -> Tensor:
    r"""The raw-input baseline of a batch: the encoder's input channels ``[N, T, C_f]``
    (:func:`~skelgraph.nn.features.skeleton_features` of ``data.x``), flattened per graph in
    node order: ``[B, V * M * T * C_f]``."""
    features = list(features)
    x = skeleton_features(data.x, features, graph_centers(data, features), graph_parents(data, features))
    batch = getattr(data, "batch", None)
    return segment_pool(x, batch, getattr(data, "num_graphs", 1), segments=x.size(1), keep_nodes=True)


def encoder_features(model: Any, data: Any, segments: int = 1, keep_joints: bool = False,
                     all_layers: bool = False) -> Tensor:
    r"""The frozen encoder's output ``[N, T, D]`` of ``model`` (any model built on
    :class:`~skelgraph.nn.encoder.EncoderMixin`: its :meth:`encode`, which for a
    :class:`~skelgraph.nn.strl.LinearProbe` with a pre-trained trunk is the trunk's) pooled by
    :func:`~skelgraph.nn.pool.segment_pool`: ``[B, S * D]`` (``[B, V * M * S * D]`` with
    ``keep_joints``). ``all_layers`` (a trunk only): every STRL layer's output, ``D`` -> ``L * D``."""
    h = model.encode(data, all_layers=True) if all_layers else model.encode(data)
    batch = getattr(data, "batch", None)
    return segment_pool(h, batch, getattr(data, "num_graphs", 1), segments=min(segments, h.size(1)),
                        keep_nodes=keep_joints)


# ----------------------------------------------------------------------------- the linear probe


def _sklearn():
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import GridSearchCV, StratifiedKFold
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        raise EvaluationError("the linear protocol needs scikit-learn: pip install 'skelgraph[probe]'") from None
    return LogisticRegression, GridSearchCV, StratifiedKFold, make_pipeline, StandardScaler


def linear_probe_scores(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, num_classes: int,
                        c: float | None = None, seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    r"""Class scores ``[Q, K]`` (log-probabilities; ``-inf`` for classes absent from the fit set)
    of a standardised multinomial logistic regression fitted to convergence on
    ``train_x`` ``[N, F]``, ``train_y`` ``[N]``.

    ``c=None`` chooses ``C`` from :data:`C_GRID` by stratified cross-validation on the fit set
    (3 folds, fewer when the smallest class has fewer samples; :data:`FALLBACK_C` with a
    warning when a class has one sample). Returns ``(scores, info)``, ``info`` holding ``C``,
    how it was chosen, the iterations and ``converged``.
    """
    LogisticRegression, GridSearchCV, StratifiedKFold, make_pipeline, StandardScaler = _sklearn()

    def probe(value: float):
        return make_pipeline(StandardScaler(), LogisticRegression(C=value, max_iter=MAX_ITER))

    info: dict[str, Any] = {}
    if c is None:
        folds = min(3, int(np.unique(train_y, return_counts=True)[1].min()))  # every fold sees every class
        if folds < 2:
            warnings.warn(f"a class has a single fit sample: no cross-validation, C = {FALLBACK_C}", stacklevel=2)
            c, info["c_chosen_by"] = FALLBACK_C, "fallback (a class has one fit sample)"
        else:
            with warnings.catch_warnings():  # grid points far from the optimum may stop early: only the refit counts
                warnings.simplefilter("ignore")
                search = GridSearchCV(probe(1.0), {"logisticregression__C": list(C_GRID)},
                                      cv=StratifiedKFold(folds, shuffle=True, random_state=seed), refit=False)
                search.fit(train_x, train_y)
            c = float(search.best_params_["logisticregression__C"])
            info["c_chosen_by"] = f"stratified {folds}-fold CV on the fit set"
            info["cv_accuracy"] = {str(v): round(100 * float(s), 4)
                                   for v, s in zip(C_GRID, search.cv_results_["mean_test_score"])}
    else:
        info["c_chosen_by"] = "given"
    model = probe(c)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(train_x, train_y)
    logistic = model[-1]
    iterations = int(np.max(logistic.n_iter_))
    info.update(C=c, iterations=iterations,
                converged=iterations < MAX_ITER and not any("converge" in str(w.message) for w in caught))
    scores = np.full((test_x.shape[0], num_classes), -np.inf)
    with np.errstate(divide="ignore"):  # a probability that underflows to 0 scores -inf, as an absent class
        scores[:, logistic.classes_] = model.predict_log_proba(test_x)
    return scores, info


# ----------------------------------------------------------------------------- the evaluation


def frozen_evaluate(data_path: str | Path, *, pretrained: str | Path | None = None, split: str | None = None,
                    train_split: str | None = None, protocols: Sequence[str] = ("linear", "1nn"),
                    sources: Sequence[str] = SOURCES, segments: int = 1, keep_joints: bool = False,
                    all_layers: bool = False, k: int = 20, fit_copies: int = 0,
                    fit_augment: tuple[float, float, float] = FIT_AUGMENT, probe_c: float | None = None,
                    label_fraction: float = 1.0, num_frames: int | None = None,
                    features: Sequence[str] | None = None,
                    out: str | Path | None = None, batch_size: int = 64, device: str = "auto", workers: int = 0,
                    seed: int = 0, progress: bool | None = None) -> dict[str, Any]:
    r"""Every ``protocol`` (:data:`PROTOCOLS`) on every feature ``source`` (:data:`SOURCES`).

    Args:
        data_path: The ``.h5`` dataset.
        pretrained: The pre-training run (directory or ``checkpoint.pt``); its config gives the
            architecture, the input features, frames and persons, and the default fit split.
            Without it only ``raw`` and ``random`` (the default encoder) can be evaluated.
        split / train_split: Scored split / fitted split (default: the run's ``split``; both
            must be given when the run has none).
        segments / keep_joints: Pooling of encoder features (module docs).
        all_layers: Features of every STRL layer of a pre-trained trunk, concatenated (module docs).
        k: Neighbours of the ``knn`` protocol.
        fit_copies / fit_augment: Augmented copies of every fit sample added to the fit set, and
            the ``(rotate degrees, scale, shear)`` bounds they are drawn in (module docs).
        probe_c: ``C`` of the linear probe (default: chosen by cross-validation on the fit set).
        label_fraction: Fit on this class-balanced, seeded fraction of the fit split's labels
            (the subset ``finetune --label-fraction`` trains on with the same ``seed``).
        num_frames: Frames per sample (default: the run's, else 64).
        features: Input features of the baselines when there is no ``pretrained`` run (default
            ``("position",)``); with a run, its own (a different value is an error).
        out: Where ``frozen_metrics.json`` goes (``None``: not written).
        seed: Seed of the random encoder and of the label-fraction subset.

    Returns:
        ``{"results": {source: {protocol: metrics}}, "dims": {source: F}, ...}``; each metrics
        dict as :func:`~skelgraph.train.evaluate.classification_metrics`' plus the probe's
        details for ``linear``.
    """
    from skelgraph.data.dataset import SkeletonDataset
    from skelgraph.nn.strl import LinearProbe, check_compatible, checkpoint_trunk
    from skelgraph.train.checkpoints import load_pretraining
    from skelgraph.train.common import resolve_device
    from skelgraph.train.compat import check_data
    from skelgraph.train.subset import label_fraction_indices

    for name in protocols:
        if name not in PROTOCOLS:
            raise EvaluationError(f"unknown frozen protocol {name!r} (choose from {', '.join(PROTOCOLS)})")
    for name in sources:
        if name not in SOURCES:
            raise EvaluationError(f"unknown feature source {name!r} (choose from {', '.join(SOURCES)})")
    if not protocols or not sources:
        raise EvaluationError("nothing to evaluate: give at least one protocol and one source")
    if "pretrained" in sources and pretrained is None:
        raise EvaluationError("the pretrained source needs a pre-training run (--pretrained RUN)")
    if segments < 1:
        raise EvaluationError(f"segments must be >= 1, got {segments}")
    if k < 1:
        raise EvaluationError(f"k must be >= 1, got {k}")
    if not 0.0 < label_fraction <= 1.0:
        raise EvaluationError(f"label_fraction must be in (0, 1], got {label_fraction}")
    if fit_copies < 0:
        raise EvaluationError(f"fit_copies must be >= 0, got {fit_copies}")
    if fit_copies and spatial_augment(*fit_augment) is None:
        raise EvaluationError(f"fit_copies = {fit_copies} needs a non-zero bound in fit_augment, got {fit_augment}")
    if probe_c is not None and not probe_c > 0:
        raise EvaluationError(f"the probe's C must be > 0, got {probe_c}")

    state = load_pretraining(pretrained)[0] if pretrained is not None else None
    cfg = state["config"] if state is not None else {}
    frames = num_frames or cfg.get("num_frames", 64)
    fit_split = train_split if train_split is not None else cfg.get("split")
    if split is None or fit_split is None:
        raise EvaluationError("frozen protocols need a split to fit on and one to score: "
                              "pass --train-split and --split")
    if split == fit_split:
        raise EvaluationError(f"fitting and scoring on the same split {split!r} measures memory, not features")
    test_set = SkeletonDataset(data_path, split=split, num_frames=frames, num_persons=cfg.get("num_persons"))
    fit_set = SkeletonDataset(data_path, split=fit_split, num_frames=frames, num_persons=cfg.get("num_persons"))
    if state is not None:
        check_data(state, test_set, data=data_path)
    if label_fraction < 1.0:
        fit_set = fit_set.index_select(label_fraction_indices(fit_set.labels, label_fraction, seed=seed).tolist())
    in_channels, num_classes = test_set.store.num_channels, test_set.num_classes
    dev = resolve_device(device)

    trunk = checkpoint_trunk(state) if state is not None else None  # a pre-trained trunk: a random one too
    if trunk is not None and frames > trunk["max_frames"]:
        raise EvaluationError(f"{pretrained} pre-trained the STRL network on {trunk['max_frames']} frames: "
                              f"--frames {frames} is more than its position embedding holds")
    if all_layers and trunk is None:
        raise EvaluationError(f"--all-layers reads the layers of a pre-trained STRL trunk, and "
                              f"{pretrained or 'no pre-training run'} has none (it needs scope = 'strl')")
    if state is not None:
        arch = check_compatible(state, in_channels=in_channels, features=features)
    else:
        arch = {"in_channels": in_channels, "features": tuple(features or ("position",))}
    feature_names = list(arch["features"])
    extractors: dict[str, Any] = {}
    if "pretrained" in sources:
        model = LinearProbe.from_pretrained(state, num_classes, layout=test_set.layout.to_json(),
                                            in_channels=in_channels)[0].to(dev).eval()
        extractors["pretrained"] = lambda b, m=model: encoder_features(m, b, segments, keep_joints, all_layers)
    if "random" in sources:
        torch.manual_seed(seed)
        model = LinearProbe(**arch, **(trunk or {}), num_classes=num_classes).to(dev).eval()
        extractors["random"] = lambda b, m=model: encoder_features(m, b, segments, keep_joints, all_layers)
    if "raw" in sources:
        extractors["raw"] = lambda b: raw_input_features(b, feature_names)

    def loader(dataset):
        return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers)

    results: dict[str, dict[str, Any]] = {}
    dims: dict[str, int] = {}
    for source in (s for s in SOURCES if s in extractors):
        started = time.perf_counter()
        fit_x, fit_y = collect(extractors[source], loader(fit_set), dev, f"{source} (fit)", progress)
        if fit_copies:
            fit_x, fit_y = _with_copies(extractors[source], loader(fit_set), fit_x, fit_y, fit_copies, fit_augment,
                                        seed, dev, f"{source} (fit copies)", progress)
        test_x, test_y = collect(extractors[source], loader(test_set), dev, f"{source} (test)", progress)
        fit_keep, test_keep = fit_y >= 0, test_y >= 0
        fit_x, fit_y, test_x, test_y = fit_x[fit_keep], fit_y[fit_keep], test_x[test_keep], test_y[test_keep]
        if fit_y.numel() == 0:
            raise EvaluationError(f"split {fit_split!r} of {data_path} has no labelled sample to fit on")
        dims[source] = int(fit_x.size(1))
        results[source] = {}
        for protocol in protocols:
            extra: dict[str, Any] = {}
            if protocol == "linear":
                scores, extra = linear_probe_scores(fit_x.double().numpy(), fit_y.numpy(), test_x.double().numpy(),
                                                    num_classes, c=probe_c, seed=seed)
                scores = torch.from_numpy(scores)
            else:
                kk, weighted = (1, False) if protocol == "1nn" else (k, True)
                scores = knn_scores(fit_x, fit_y, test_x, k=kk, num_classes=num_classes, weighted=weighted)
                extra = {"k": kk, "weighted": weighted}
            metrics = classification_metrics(scores, test_y, num_classes, test_set.class_names)
            results[source][protocol] = {**extra, **metrics}
        results[source]["seconds"] = round(time.perf_counter() - started, 2)

    summary: dict[str, Any] = {
        "data": str(data_path), "pretrained": str(pretrained) if pretrained is not None else None,
        "split": split, "train_split": fit_split, "label_fraction": label_fraction, "seed": seed,
        "num_frames": frames, "features": feature_names, "segments": segments, "keep_joints": keep_joints,
        "all_layers": all_layers, "fit_copies": fit_copies, "fit_augment": list(fit_augment) if fit_copies else None,
        "fit_samples": int(fit_y.numel()), "test_samples": int(test_y.numel()),
        "dims": dims, "results": results,
    }
    if out is not None:
        out_dir = make_folder(out)
        atomic_write_text(out_dir / "frozen_metrics.json", json.dumps(summary, indent=2) + "\n")
        summary["metrics_path"] = str(out_dir / "frozen_metrics.json")
    return summary


def _with_copies(extract: Any, loader: Any, fit_x: Tensor, fit_y: Tensor, copies: int,
                 bounds: tuple[float, float, float], seed: int, device: torch.device, desc: str,
                 progress: bool | None) -> tuple[Tensor, Tensor]:
    r"""``fit_x [N, F]`` / ``fit_y [N]`` followed by ``copies`` augmented passes over ``loader``:
    ``[(1 + copies) * N, F]``. Copy ``c`` draws from its own generator (seeded by ``seed`` and
    ``c``), so every source sees the same augmented skeletons."""
    xs, ys = [fit_x], [fit_y]
    for copy in range(copies):
        augment = spatial_augment(*bounds, generator=torch.Generator().manual_seed(seed * 1_000_003 + copy + 1))
        x, y = collect(lambda b: extract(augment(b.clone())), loader, device, f"{desc} {copy + 1}/{copies}",
                       progress)
        xs.append(x)
        ys.append(y)
    return torch.cat(xs), torch.cat(ys)


def format_table(summary: dict[str, Any]) -> str:
    r"""The three-row table (source x protocol, top-1 %) a person reads, with feature dims."""
    protocols = [p for p in PROTOCOLS if any(p in row for row in summary["results"].values())]
    names = {"linear": "linear (LR)", "1nn": "1-NN cos", "knn": "k-NN"}
    header = f"{'features':<12}{'dim':>7}" + "".join(f"{names[p]:>13}" for p in protocols)
    lines = [header]
    for source, row in summary["results"].items():
        cells = "".join(f"{row[p]['top1']:>13.2f}" for p in protocols)
        lines.append(f"{source:<12}{summary['dims'][source]:>7}{cells}")
    return "\n".join(lines)
