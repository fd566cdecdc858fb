"""Edge reconstruction through the trainer's own masking (build_mask) and the model."""
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from skelgraph.data.sample import skeleton_to_data
from skelgraph.graph import NTU25
from skelgraph.train.config import PretrainConfig
from skelgraph.train.pretrain import build_mask, build_model

T = 6


@pytest.fixture
def masked_batch() -> Batch:
    rng = np.random.default_rng(0)
    graphs = [skeleton_to_data(rng.standard_normal((1, T, 25, 3)).astype(np.float32), NTU25) for _ in range(4)]
    config = PretrainConfig(edge_weight=0.5, hidden_channels=16)
    return build_mask(config, torch.Generator().manual_seed(0))(Batch.from_data_list(graphs))


def model(**kwargs):
    torch.manual_seed(0)
    return build_model(PretrainConfig(edge_weight=0.5, hidden_channels=16, **kwargs), in_channels=3)


def test_build_mask_keeps_every_bone_for_message_passing(masked_batch):
    assert "masked_edge_index" not in masked_batch
    assert masked_batch.edge_index.size(1) == 4 * 2 * len(NTU25.bones)
    assert (~masked_batch.keep_mask).any()


def test_hidden_joints_reconstructions_differ_at_init_and_after_training(masked_batch):
    mae = model()
    hidden = ~masked_batch.keep_mask

    def spread() -> float:
        x_hat = mae(masked_batch)["x_hat"].detach()[hidden]  # [hidden nodes, T, C]
        return float(x_hat.reshape(-1, 3).std(dim=0).min())

    assert spread() > 1e-3
    optimizer = torch.optim.Adam(mae.parameters(), lr=1e-2)
    for _ in range(5):
        optimizer.zero_grad()
        mae(masked_batch)["loss"].backward()
        optimizer.step()
    assert spread() > 1e-3


def test_edge_scores_depend_on_what_the_joints_contain(masked_batch):
    mae = model()
    pos, neg = mae.edge_pairs(masked_batch, masked_batch.keep_mask)
    pairs = torch.cat([pos, neg], dim=1)

    def logits(batch: Batch) -> torch.Tensor:
        z = mae.remask(mae.run_encoder(mae.embed_masked(batch.x, batch.keep_mask), batch.edge_index), batch.keep_mask)
        return mae.edge_logits(mae.run_decoder(z, batch.edge_index)[0], pairs)

    other = masked_batch.clone()
    other.x = torch.randn_like(other.x)  # same graph, same mask, other coordinates
    assert not torch.allclose(logits(masked_batch), logits(other))


def test_mask_span_gives_a_mask_per_span_of_frames(masked_batch):
    batch = masked_batch.clone()
    del batch.keep_mask
    keep = build_mask(PretrainConfig(mask_span=4), torch.Generator().manual_seed(0))(batch).keep_mask
    assert keep.shape == (batch.num_nodes, T)  # T = 6: spans of 4 and 2 frames
    assert torch.equal(keep[:, 0], keep[:, 3]) and torch.equal(keep[:, 4], keep[:, 5])
