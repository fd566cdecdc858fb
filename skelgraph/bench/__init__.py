r"""``skelgraph bench``: the PyG message-passing path against dense references of the same models.

For every conv of :data:`~skelgraph.nn.conv.CONVS` it times

- ``mae``: a SkeletonMAE pre-training step (body-part-masked batch, reconstruction loss);
- ``strl``: the STRL classifier (inference forward; training forward + cross-entropy + backward);
- ``aggregate``: one layer's neighbour sum alone (what the PyG path changes, without the MLPs);

each through these paths, all with the same weights:

==============  ================================================================================
path            what runs
==============  ================================================================================
``fused``       PyG ``message_and_aggregate``: one sparse CSR product per layer over ``[N, T*F]``
``plain``       PyG ``message`` on ``[E, T, F]`` edge tensors, then scatter-sum
``dense``       our convs' reference path (``dense_forward``; models take ``adj=``):
                ``[V, V] @ X`` per ``V``-joint block. Of the dense formulations we tried on these
                shapes (``torch.matmul`` broadcasting the adjacency over ``[B*M, V, T*F]``
                blocks, ``einsum('vw,bwk->bvk')``, one GEMM on a joints-first copy, the
                transposed product), the first was fastest forward and backward by 2-3x and is
                what runs (``experiments/RESULTS.md``); it needs no copy of the features
``pyg-dense``   PyG's own dense layers (``DenseGINConv``, ``DenseGCNConv``, ``DenseGATConv``) on
                the ``[B*M*T, V, F]`` layout (see :class:`PyGDenseConv`); ST-GCN has none
``*-noscatter`` ``fused``/``plain`` with torch-scatter switched off (only when it is installed)
==============  ================================================================================

**How it times.** Every row is measured on ``warmup + repeats`` different batches (new
tensors, new masks, new ``edge_index`` tensors; the fused path's caches compare each with the
last one and rebuild only when it differs, as in training, where batches of one size share one
graph structure). In each round every path of the row runs once on that round's
batch, the order rotating from round to round (:func:`skelgraph.bench.timing.paired_times`); the
``warmup`` rounds are untimed. The speed of a path against ``dense`` is the median over rounds
of the per-round ratio ``dense seconds / path seconds`` with a bootstrap 95 % interval: other
load on the machine hits both sides of a round alike. The thread count is set explicitly
(``threads``) and recorded; so is the CPU time other processes used while the bench ran
(``/proc/stat`` minus this process), which is what the "machine busy" note is based on.

**Agreement.** Before timing, every path runs once on the same weights and batch (its first
4 graphs, in float64) and is compared with the fused path: outputs (MAE loss and ``x_hat``,
STRL logits) in ``fwd`` mode, and the loss and every parameter's gradient in ``fwd+bwd`` mode.

**Peak memory** is the largest amount of tensor memory a step allocates on top of what was
live before it (weights, the batch). On CUDA it is ``torch.cuda.max_memory_allocated`` after
``reset_peak_memory_stats``, minus the allocation before the step. On the CPU there is no
resettable peak counter: ``tracemalloc`` sees only Python's allocator, not tensor storage, and
the resident set (RSS) keeps freed memory in malloc's arenas, so its delta after a warm-up step
is close to zero. We therefore run one extra, untimed step (after the warm-up rounds, so the
profiler never sees a first call) under ``torch.profiler`` with ``profile_memory=True`` and
sum the CPU allocator's allocation/free events in time order; the maximum of that running sum
is the step's peak. It is exact for tensors and leaves out allocator overhead.

**Against the machine.** Every row also says how much arithmetic one step does and how near
the machine's limit it runs: ``GFLOP`` is counted on one more, untimed call of the step by
``torch.utils.flop_counter.FlopCounterMode`` (its formulas for dense products and
convolutions, 2 per multiply-add) plus the sparse products it leaves at zero (the fused path's
CSR products and GAT's sampled products, 2 per stored entry and output column; ``sparse_gflop``
in the JSON). Gathers, scatters, softmax and element-wise work count nothing, so the plain
path's count is lower than the fused one's for the same function. ``GFLOP/s`` is that over the
median step time, and ``of GEMM`` its fraction of a ``2048^3`` float32 GEMM timed in the same
run with the same threads (before and after the rows; the faster of the two).

The package: :mod:`~skelgraph.bench.config` (what a run measures), :mod:`~skelgraph.bench.steps`
(models, batches, paths, agreement), :mod:`~skelgraph.bench.measurement` (timing, memory,
FLOPs, GEMM, read rate), :mod:`~skelgraph.bench.environment` (versions, threads, other load),
:mod:`~skelgraph.bench.report` (rows, JSON, table, chart), :mod:`~skelgraph.bench.run`
(:func:`run_bench`), :mod:`~skelgraph.bench.timing` (paired rounds and ratio intervals).
Targets of past issues are not the user's business: ``experiments/bench/targets.py`` reads
them off a ``--json`` file.
"""
from __future__ import annotations

from skelgraph.bench.config import (CHANNELS, LAYOUT_BY_JOINTS, MODELS, MODES, NTU60_XSUB_TRAIN, NUM_CLASSES,
                                    BenchConfig)
from skelgraph.bench.environment import (OtherLoad, busy_warning, environment, torch_scatter_disabled,
                                         torch_scatter_version)
from skelgraph.bench.measurement import (count_flops, measure_gemm, measure_read_rate, peak_step_memory_mb,
                                         synchronize, time_steps, write_read_file)
from skelgraph.bench.report import BenchResult, Row, Timing, format_table, plot, project_epoch
from skelgraph.bench.run import run_bench
from skelgraph.bench.steps import (PATHS, PyGDenseConv, Step, build_models, check_agreement, compare_runs,
                                   make_aggregate_step, make_batch, make_batches, make_step, paths_for,
                                   pyg_dense_model, set_fused, to_pyg_dense)
from skelgraph.bench.timing import PairedTimes, RatioSummary, paired_times, summarize_ratios

__all__ = [
    "BenchConfig", "BenchResult", "Row", "Timing", "run_bench", "format_table", "plot", "project_epoch",
    "MODELS", "MODES", "NTU60_XSUB_TRAIN", "NUM_CLASSES", "LAYOUT_BY_JOINTS", "CHANNELS", "PATHS", "Step",
    "OtherLoad", "busy_warning", "environment", "torch_scatter_disabled", "torch_scatter_version",
    "count_flops", "measure_gemm", "measure_read_rate", "peak_step_memory_mb", "synchronize", "time_steps",
    "write_read_file",
    "PyGDenseConv", "build_models", "check_agreement", "compare_runs", "make_aggregate_step", "make_batch",
    "make_batches", "make_step", "paths_for", "pyg_dense_model", "set_fused", "to_pyg_dense",
    "PairedTimes", "RatioSummary", "paired_times", "summarize_ratios",
]
