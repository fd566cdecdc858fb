import numpy as np
import pytest
import torch
from torch_geometric.loader import DataLoader

from skelgraph.data.dataset import SkeletonDataset
from skelgraph.data.h5 import write_h5
from skelgraph.data.sample import SkeletonSequence
from skelgraph.graph.layouts import NTU25


@pytest.fixture
def h5_file(tmp_path):
    rng = np.random.default_rng(0)
    seqs = [SkeletonSequence(name=f"s{i}", keypoint=rng.normal(size=(2, 10 + 7 * i, 25, 3)).astype(np.float32),
                             label=i % 3) for i in range(6)]
    path = tmp_path / "d.h5"
    write_h5(path, seqs, layout=NTU25, num_persons=2, splits={"train": ["s0", "s1", "s2", "s3"], "test": ["s4", "s5"]})
    return path, seqs


def test_items_are_sampled_to_num_frames(h5_file):
    path, seqs = h5_file
    data = SkeletonDataset(path, num_frames=16)[0]  # s0 has 10 frames: looped
    assert data.x.shape == (50, 16, 3) and data.num_frames.tolist() == [10]
    assert data.y.tolist() == [0] and data.name == "s0"


def test_test_mode_takes_segment_middles_deterministically(h5_file):
    path, seqs = h5_file
    ds = SkeletonDataset(path, num_frames=8)
    assert torch.equal(ds[5].x, ds[5].x)
    # every sampled frame is a real frame of the sequence, in order
    kp = torch.from_numpy(seqs[5].keypoint)  # [M, T, V, C]
    x = ds[5].x.view(2, 25, 8, 3).permute(0, 2, 1, 3)
    hits = [int(torch.nonzero((kp[0] == x[0, t]).all(-1).all(-1))[0]) for t in range(8)]
    assert hits == sorted(hits) and len(set(hits)) == 8


def test_train_mode_draws_different_frames(h5_file):
    path, _ = h5_file
    ds = SkeletonDataset(path, num_frames=8, train=True)
    torch.manual_seed(0)
    draws = {tuple(ds[5].x[0, :, 0].tolist()) for _ in range(5)}
    assert len(draws) > 1


def test_split_selects_samples(h5_file):
    path, _ = h5_file
    ds = SkeletonDataset(path, split="test")
    assert len(ds) == 2 and [ds[i].name for i in range(2)] == ["s4", "s5"]
    assert ds.labels.tolist() == [1, 2]


def test_several_splits_give_their_union_in_file_order(h5_file):
    path, _ = h5_file
    ds = SkeletonDataset(path, split=["test", "train"])
    assert [ds[i].name for i in range(len(ds))] == [f"s{i}" for i in range(6)]
    with pytest.raises(KeyError, match="no split 'val'"):
        SkeletonDataset(path, split=["train", "val"])


def test_num_persons_keeps_first_slots(h5_file):
    path, _ = h5_file
    assert SkeletonDataset(path, num_frames=4, num_persons=1)[0].x.shape == (25, 4, 3)


def test_batching_offsets_edges_and_keeps_ids(h5_file):
    path, _ = h5_file
    batch = next(iter(DataLoader(SkeletonDataset(path, num_frames=8), batch_size=3)))
    assert batch.num_graphs == 3 and batch.x.shape == (150, 8, 3)
    assert batch.edge_index.max() == 149 and batch.edge_index[:, -1].min() >= 100
    assert batch.joint.max() == 24  # per-node ids are not offset
    assert batch.y.tolist() == [0, 1, 2] and batch.batch.bincount().tolist() == [50, 50, 50]


def test_two_workers_read_the_same_items(h5_file):
    path, _ = h5_file
    ds = SkeletonDataset(path, num_frames=8)
    serial = [b.x for b in DataLoader(ds, batch_size=2)]
    parallel = [b.x for b in DataLoader(ds, batch_size=2, num_workers=2)]
    assert all(torch.equal(a, b) for a, b in zip(serial, parallel))


def test_transform_is_applied(h5_file):
    path, _ = h5_file
    ds = SkeletonDataset(path, num_frames=4, transform=lambda d: d.update({"tag": 1}) or d)
    assert ds[0].tag == 1
