import json
from dataclasses import replace

import pytest
import torch
from click.testing import CliRunner

from skelgraph.bench import (MODELS, MODES, NTU60_XSUB_TRAIN, BenchConfig, BenchResult, Row, Timing, build_models,
                             busy_warning, check_agreement, compare_runs, make_aggregate_step, make_batch, make_batches,
                             make_step, project_epoch, pyg_dense_model, torch_scatter_version, write_read_file)
from skelgraph.cli import main
from skelgraph.nn.conv import CONVS, dense_adjacency

TINY = ["--batch", "2", "--frames", "8", "--width", "8", "--warmup", "0", "--repeats", "1", "--read-samples", "4"]


@pytest.fixture(scope="module")
def quick_json(tmp_path_factory):
    """One tiny ``bench --quick`` run shared by the CLI tests (it takes a few seconds)."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    result = CliRunner().invoke(main, ["bench", "--quick", *TINY, "--threads", "1", "--json", str(out)])
    assert result.exit_code == 0, result.output
    return result.output, json.loads(out.read_text())


def test_bench_quick_writes_json_with_expected_keys(quick_json):
    _, doc = quick_json
    assert {"config", "environment", "rows", "ratios", "agreement", "read",
            "pretrain_memory_per_sample_mb", "epoch_projection", "notes"} <= set(doc)
    row = doc["rows"][0]
    assert {"model", "mode", "conv", "path", "median_s", "q25_s", "q75_s", "cpu_median_s", "samples_per_s",
            "peak_mb", "params", "vs_dense", "vs_dense_cpu"} <= set(row)
    assert doc["config"]["threads"] == doc["environment"]["threads"] == 1


def test_bench_prints_no_project_targets(quick_json):
    output, doc = quick_json
    assert "targets" not in doc and "target" not in output and "issue" not in output


def test_every_row_counts_its_flops_against_a_gemm_of_the_same_run(quick_json):
    output, doc = quick_json
    gemm = doc["environment"]["gemm"]
    assert gemm["threads"] == 1 and gemm["gflops_per_s"] > 0 and "of GEMM" in output
    for row in doc["rows"]:
        plain_sum = row["model"] == "aggregate" and row["path"].startswith("plain")  # gathers and scatters only
        assert (row["gflop"] > 0) != plain_sum, row
        assert row["gflops_per_s"] == pytest.approx(row["gflop"] / row["median_s"])
        assert row["gemm_fraction"] == pytest.approx(row["gflops_per_s"] / gemm["gflops_per_s"])
        assert (row["sparse_gflop"] > 0) == row["path"].startswith("fused"), row  # counted sparse products


def test_bench_quick_runs_every_conv_model_mode_and_path(quick_json):
    _, doc = quick_json
    seen = {(r["model"], r["mode"], r["conv"], r["path"]) for r in doc["rows"]}
    for conv in CONVS:
        for model in ("mae", "strl"):
            for mode in MODES:
                assert {(model, mode, conv, p) for p in ("fused", "plain", "dense")} <= seen
                assert ((model, mode, conv, "pyg-dense") in seen) == (conv != "stgcn")  # PyG has no dense ST-GCN
    assert {r["model"] for r in doc["rows"]} == set(MODELS)


def test_bench_reports_torch_scatter_state(quick_json):
    output, doc = quick_json
    expected = torch_scatter_version() or "not installed"
    assert doc["environment"]["torch_scatter"] == expected and f"torch_scatter {expected}" in output


def test_bench_prints_ratio_agreement_and_read_rate(quick_json):
    output, doc = quick_json
    assert "vs dense [95% CI]" in output and "agreement with the fused path" in output
    assert all(a["ok"] for a in doc["agreement"])
    assert {a["mode"] for a in doc["agreement"]} == set(MODES)
    assert all("grad_rel_diff" in a for a in doc["agreement"] if a["mode"] == "fwd+bwd")
    assert [r["workers"] for r in doc["read"]["rates"]] == [0, 2]
    assert all(r["samples_per_s"] > 0 for r in doc["read"]["rates"])


def test_bench_peak_memory_is_measured(quick_json):
    _, doc = quick_json
    assert all(r["peak_mb"] is not None and r["peak_mb"] > 0 for r in doc["rows"] if r["model"] == "mae")
    assert set(doc["pretrain_memory_per_sample_mb"]) == set(CONVS)


@pytest.mark.parametrize("conv", list(CONVS))
def test_sparse_and_dense_paths_agree(conv):
    config = BenchConfig(batch=2, frames=6, width=8, convs=(conv,))
    checks = check_agreement(config)
    assert {(c["model"], c["path"]) for c in checks} >= {("mae", "plain"), ("mae", "dense"), ("strl", "plain"),
                                                         ("strl", "dense")}
    assert all(c["ok"] for c in checks), checks


def test_agreement_check_catches_different_weights():
    config = BenchConfig(batch=2, frames=6, width=8, convs=("gcn",))
    batch = make_batch(config)
    mae = build_models("gcn", config)["mae"]
    twin = pyg_dense_model(mae)
    with torch.no_grad():
        twin.encoder[0].layer.lin.weight.add_(0.1)
    adj = dense_adjacency(batch.edge_index, 25)
    fused = make_step("mae", mae, twin, batch, adj, "fused", "fwd")()
    dense = make_step("mae", mae, twin, batch, adj, "pyg-dense", "fwd")()
    assert not torch.allclose(fused, dense, rtol=1e-4, atol=1e-5)


def test_bench_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "bench.png"
    result = CliRunner().invoke(main, ["bench", "--quick", *TINY, "--conv", "gcn", "--no-read", "--no-memory",
                                       "--plot", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_unknown_conv_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["bench", "--quick", "--conv", "nope"])
    assert result.exit_code == 1 and "unknown conv 'nope'" in result.output


def test_project_epoch_arithmetic():
    assert project_epoch(100.0) == pytest.approx(NTU60_XSUB_TRAIN / 100.0)
    assert project_epoch(50.0, 1000) == pytest.approx(20.0)
    with pytest.raises(ValueError):
        project_epoch(0.0)


def test_epoch_projection_uses_measured_rate_and_finds_the_bound():
    config = BenchConfig(batch=8)
    timing = Timing.of([0.1, 0.1])  # 8 samples in 0.1 s: 80 samples/s
    result = BenchResult(config=config, environment={},
                         rows=[Row("mae", "fwd+bwd", "gin", "fused", timing, 80.0, 16.0, 10)],
                         read=[{"workers": 2, "samples_per_s": 40.0}])
    proj = result.epoch_projection(8000)
    assert proj["compute_s"]["gin"] == pytest.approx(100.0) and proj["load_s"]["2"] == pytest.approx(200.0)
    assert proj["bound_by"]["gin"] == "loading"
    assert result.pretrain_memory_per_sample_mb() == {"gin": pytest.approx(2.0)}


def test_busy_warning_only_when_other_processes_leave_too_few_cores():
    env = {"device": "cpu", "other_busy_cores": 0.1, "cores_available": 2, "threads": 2}
    assert busy_warning(env) is None
    assert "busy" in busy_warning({**env, "other_busy_cores": 1.9})
    assert busy_warning({**env, "threads": 1, "other_busy_cores": 0.9}) is None
    assert busy_warning({**env, "device": "cuda", "other_busy_cores": 9.0}) is None


def test_ratios_have_intervals_and_rows_are_paired(quick_json):
    _, doc = quick_json
    for row in doc["rows"]:
        ratio = row["vs_dense"]
        assert ratio["pairs"] == doc["config"]["repeats"] and ratio["low"] <= ratio["median"] <= ratio["high"]
        if row["path"] == "dense":  # against itself: every round's ratio is exactly 1
            assert ratio["median"] == ratio["low"] == ratio["high"] == 1.0


def test_each_round_gets_a_new_batch():
    config = BenchConfig(batch=2, frames=6, width=8)
    first, second = make_batches(config, 2)
    assert not torch.equal(first.x, second.x) and first.edge_index is not second.edge_index


def test_neighbour_sum_rows_compute_the_same_sum_on_every_path():
    config = BenchConfig(batch=2, frames=6, width=8)
    batches = make_batches(config, 1)
    adj = dense_adjacency(batches[0].edge_index, 25)
    outs = {path: make_aggregate_step(batches, adj, 8, path, "fwd")(0) for path in ("fused", "plain", "dense",
                                                                                    "pyg-dense")}
    for path, out in outs.items():
        torch.testing.assert_close(out, outs["plain"], rtol=1e-5, atol=1e-5, msg=path)


def test_fused_step_builds_its_adjacency_once_for_batches_of_one_size():
    config = BenchConfig(batch=2, frames=6, width=8, convs=("gcn",))
    batches = make_batches(config, 2) + make_batches(replace(config, batch=3), 1)
    model = build_models("gcn", config)["mae"]
    step = make_step("mae", model, None, batches, dense_adjacency(batches[0].edge_index, 25), "fused", "fwd")
    step(0)
    built = model.encoder[0]._csr_cache.value
    step(1)  # a new batch of the same size: an equal edge_index, as in training
    assert model.encoder[0]._csr_cache.value is built
    step(2)
    assert model.encoder[0]._csr_cache.value is not built


def test_gradient_disagreement_is_caught():
    ref = [torch.tensor([1.0, -2.0]), torch.tensor([0.5])]
    same = compare_runs(torch.ones(3), torch.ones(3), [g.clone() for g in ref], ref)
    assert same["ok"] and same["grad_rel_diff"] == 0.0
    off = compare_runs(torch.ones(3), torch.ones(3), [ref[0], torch.tensor([0.6])], ref)  # equal outputs
    assert not off["ok"] and off["grad_rel_diff"] == pytest.approx(0.05)
    assert not compare_runs(torch.ones(3), torch.ones(3), ref[:1], ref)["ok"]  # a parameter missing


def test_read_file_has_the_bench_persons(tmp_path):
    from skelgraph.data.h5 import H5Skeletons

    store = H5Skeletons(write_read_file(tmp_path / "r.h5", BenchConfig(persons=2), 3))
    assert len(store) == 3 and store.num_persons == 2 and store.read(0).keypoint.shape[0] == 2
