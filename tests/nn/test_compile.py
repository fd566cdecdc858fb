import copy

import pytest
import torch
import torch.nn.functional as F

from skelgraph.bench import BenchConfig, build_models, make_batch
from skelgraph.nn.compile import compile_parts


def _grads(model):
    return [p.grad.clone() if p.grad is not None else None for p in model.parameters()]


def _step(model, batch):
    model.train().zero_grad(set_to_none=True)
    out = model(batch)
    F.cross_entropy(out, batch.y.view(-1)).backward()
    return out.detach()


@pytest.mark.parametrize("temporal", [False, True])
def test_compiled_parts_compute_what_eager_computes_in_float64(temporal):
    config = BenchConfig(joints=20, persons=1, frames=8, batch=2, width=16)
    model = build_models("gin", config)["strl"].double()
    batch = make_batch(config)
    batch.x = batch.x.double()
    compiled = compile_parts(copy.deepcopy(model), temporal=temporal)  # before a step fills the CSR caches
    ref = _step(model, batch)
    try:
        out = _step(compiled, batch)
    except Exception as error:  # no C++ compiler or an inductor that cannot build here
        pytest.skip(f"torch.compile (inductor) cannot compile on this machine: {type(error).__name__}")
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-12)
    for a, b in zip(_grads(compiled), _grads(model)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    assert list(compiled.state_dict()) == list(model.state_dict())  # compiled in place: same keys
