r"""``torch.compile`` of a model's dense parts (issue 20's measurement; no training option uses it).

Measured (``experiments/bench/compile_strl.py``, ``experiments/RESULTS.md``, issue 20): on the CPU
the compiled STRL fine-tuning step is no faster than eager (parts 1.03-1.04x, intervals reaching
below 1) and slower with the temporal convs compiled or the whole model compiled (0.85-0.87x):
inductor's kernels for the temporal unit's batch norms, max-pool and shifted copies lose to the
hand-written eager ones. So training stays eager; this module is kept for the measurement.

A whole STRL classifier does not compile into one graph: its convs' sparse CSR products, the
cached adjacency (an equality test on ``edge_index``) and the check whether each person's joints
are one contiguous run read tensors in Python, which breaks TorchDynamo's graph (about 20 graphs
per forward pass). Those parts are not where the compiler helps anyway: it fuses element-wise
work (norms, activations, the temporal conv's copies, residual sums) into the kernels around it.
:func:`compile_parts` therefore compiles, in place, the modules and functions that hold that work
and read no tensor in Python:

- with ``temporal=True``, every :class:`~skelgraph.nn.strl.MultiScaleTemporalConv` and encoder
  temporal layer (slower compiled, see above);
- every conv's MLP (GIN: ``Linear, PReLU, Linear``) and the encoder's activations;
- the STRL layer's mix after its encoder pass (:func:`~skelgraph.nn.strl.strl_mix`).

``Module.compile`` compiles in place, so parameter names and state-dict keys stay those of the
uncompiled model (no ``_orig_mod.`` prefix), and a checkpoint of either loads into the other.
Under compilation the hand-written CPU backward kernels (:mod:`skelgraph.nn.activation`,
:mod:`skelgraph.nn.linear`, :func:`~skelgraph.nn.temporal.frame_shifts`) step aside for the plain
operators they replaced, whose fused backward the compiler writes itself; the functions are the
same (float64 tests compare outputs and gradients with the eager model).
"""
from __future__ import annotations

from typing import Any

import torch
from torch.nn import Module


def _dense_parts(model: Module, temporal: bool = False) -> list[Module]:
    from skelgraph.nn.encoder import TemporalConvBlock, TemporalMixing
    from skelgraph.nn.strl import MultiScaleTemporalConv

    parts: list[Module] = []
    for module in model.modules():
        if isinstance(module, (MultiScaleTemporalConv, TemporalMixing, TemporalConvBlock)):
            if temporal:
                parts.append(module)
        elif isinstance(getattr(module, "mlp", None), Module):  # a conv's MLP (GIN)
            parts.append(module.mlp)
    parts.extend(getattr(model, "encoder_act", None) or [])
    return parts


def compile_parts(model: Module, temporal: bool = False, **compile_kwargs: Any) -> Module:
    r"""Compiles ``model``'s dense parts in place (see the module docs) with
    ``torch.compile(**compile_kwargs)`` (default: inductor, ``dynamic=False``) and returns it.
    Compilation itself happens on the first call of each part (forward, and backward on the
    first backward pass)."""
    from skelgraph.nn.strl import STRLTrunkMixin, strl_mix

    compile_kwargs = {"dynamic": False, **compile_kwargs}
    for part in _dense_parts(model, temporal):
        part.compile(**compile_kwargs)
    if isinstance(model, STRLTrunkMixin) and hasattr(model, "strl"):
        model.strl_mix = torch.compile(strl_mix, **compile_kwargs)  # an instance attribute: not in the state dict
    return model
