import json
import subprocess
import sys

import pytest
import torch

from skelgraph.bench import BenchConfig, build_models, count_flops, make_batches, make_step, measure_gemm
from skelgraph.nn.conv import csr_adjacency, dense_adjacency, sparse_matmul, transpose_csr
from tests.conftest import REPO


def test_count_flops_counts_dense_products_as_torch_does():
    assert count_flops(lambda: torch.ones(4, 8) @ torch.ones(8, 2)) == (2 * 4 * 8 * 2, 0)


def test_count_flops_adds_two_per_stored_entry_and_column_for_sparse_products():
    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    adj_t = csr_adjacency(edge_index, None, (3, 3))
    x = torch.randn(3, 5, requires_grad=True)
    forward = count_flops(lambda: sparse_matmul(adj_t, x))
    both = count_flops(lambda: sparse_matmul(adj_t, x, transpose_csr(adj_t)).sum().backward())
    assert forward == (2 * 4 * 5, 2 * 4 * 5) and both == (2 * forward[0], 2 * forward[0])


def test_fused_and_dense_steps_differ_only_in_the_aggregation_they_count():
    config = BenchConfig(batch=2, frames=6, width=8, convs=("gin",))
    batches = make_batches(config, 1)
    model = build_models("gin", config)["mae"]
    adj = dense_adjacency(batches[0].edge_index, 25)
    fused, fused_sparse = count_flops(lambda: make_step("mae", model, None, batches, adj, "fused", "fwd")(0))
    dense, dense_sparse = count_flops(lambda: make_step("mae", model, None, batches, adj, "dense", "fwd")(0))
    n, e, k = batches[0].num_nodes, batches[0].edge_index.size(1), config.frames * config.width
    layers = 4  # 3 encoder convs + 1 decoder conv
    assert dense_sparse == 0 and fused_sparse == layers * 2 * (e + n) * k  # (1 + eps) I + A: E + N entries
    assert dense - layers * 2 * n * 25 * k == fused - fused_sparse  # [V, V] @ X per V-joint block


def test_gemm_rate_is_measured_with_the_asked_threads():
    before = torch.get_num_threads()
    gemm = measure_gemm(1, torch.device("cpu"), size=128, repeats=2)
    assert gemm["threads"] == 1 and gemm["gflops_per_s"] > 0 and torch.get_num_threads() == before


def test_gemm_limit_is_the_fastest_library():
    from skelgraph.nn.linear import onednn_linear_works

    gemm = measure_gemm(1, torch.device("cpu"), size=128, repeats=2)
    expected = {"torch.mm", "oneDNN"} if onednn_linear_works() else {"torch.mm"}
    assert set(gemm["by_library"]) == expected
    assert gemm["gflops_per_s"] == max(gemm["by_library"].values()) == gemm["by_library"][gemm["library"]]


def test_gemm_limit_keeps_onednn_when_the_user_opts_out_of_it(monkeypatch):
    from skelgraph.nn.linear import OPT_OUT, onednn_linear_works

    if not onednn_linear_works():
        pytest.skip("this PyTorch build has no working oneDNN linear")
    monkeypatch.setenv(OPT_OUT, "0")  # linear stops using oneDNN; the machine's limit is the same
    assert "oneDNN" in measure_gemm(1, torch.device("cpu"), size=128, repeats=2)["by_library"]


def test_targets_script_reads_the_json(tmp_path):
    doc = {"rows": [{"model": "strl", "mode": "fwd+bwd", "conv": "gin", "path": "fused", "gemm_fraction": 0.41,
                     "vs_dense": {"low": 1.02}}]}
    (tmp_path / "b.json").write_text(json.dumps(doc))
    result = subprocess.run([sys.executable, str(REPO / "experiments" / "bench" / "targets.py"),
                             str(tmp_path / "b.json")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "MISSED strl gin fraction of the GEMM limit: 0.41" in result.stdout
    assert "met    strl gin fused/dense" in result.stdout


def test_flop_count_includes_the_onednn_products():
    import skelgraph.nn.linear as linear_module

    if not linear_module.onednn_linear_available():
        pytest.skip("this PyTorch build has no working oneDNN linear")
    x, w = torch.randn(linear_module.ONEDNN_MIN_ROWS, 8), torch.randn(4, 8)
    assert count_flops(lambda: linear_module.linear(x, w)) == (2 * x.size(0) * 8 * 4, 0)
    with torch.no_grad():
        assert count_flops(lambda: linear_module.linear(x, w)) == count_flops(lambda: x @ w.t())
