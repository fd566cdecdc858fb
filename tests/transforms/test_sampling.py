import pytest
import torch
from torch_geometric.data import Batch

from skelgraph.transforms import BodyPartMask, RandomTemporalCrop, UniformSample
from skelgraph.transforms.functional import interpolate_frames, uniform_sample_indices

from .conftest import gen, make_sample, same_as, snapshot


def test_uniform_sample_shapes_x_and_score(sample):
    out = UniformSample(5, train=True, generator=gen(0))(sample)
    assert out.x.shape == (50, 5, 3) and out.score.shape == (50, 5)


def test_uniform_sample_test_mode_takes_segment_middles(sample):
    out = UniformSample(4, train=False)(sample)
    index = uniform_sample_indices(8, 4, False)
    assert torch.equal(out.x, sample.x[:, index]) and torch.equal(out.score, sample.score[:, index])


def test_uniform_sample_loops_short_sequence(sample):
    assert UniformSample(20, train=True, generator=gen(0))(sample).x.shape == (50, 20, 3)


def test_uniform_sample_resamples_per_frame_mask(sample):
    masked = BodyPartMask(per_frame=True, generator=gen(0))(sample)
    out = UniformSample(4, train=False)(masked)
    assert torch.equal(out.keep_mask, masked.keep_mask[:, uniform_sample_indices(8, 4, False)])


def test_uniform_sample_batch_draws_per_graph():
    batch = Batch.from_data_list([make_sample(0) for _ in range(6)])
    x = UniformSample(3, train=True, generator=gen(0))(batch).x.view(6, 50, 3, 3)
    assert x.shape == (6, 50, 3, 3)
    assert len({tuple(g.flatten().tolist()) for g in x}) > 1


def test_temporal_crop_keeps_frame_count(sample):
    out = RandomTemporalCrop((0.5, 0.9), generator=gen(0))(sample)
    assert out.x.shape == sample.x.shape and out.score.shape == sample.score.shape


def test_temporal_crop_full_ratio_is_identity(sample):
    out = RandomTemporalCrop((1.0, 1.0), generator=gen(0))(sample)
    assert torch.allclose(out.x, sample.x)


def test_temporal_crop_resizes_to_size(sample):
    assert RandomTemporalCrop((0.5, 1.0), size=12, generator=gen(0))(sample).x.shape == (50, 12, 3)


def test_temporal_crop_stays_inside_crop_of_linear_ramp():
    x = torch.arange(100.0).view(1, 100, 1)
    data = make_sample(0)
    data.x, data.num_nodes = x, 1
    data.score = None
    out = RandomTemporalCrop((0.3, 0.3), generator=gen(1))(data).x.flatten()
    assert float(out.max() - out.min()) <= 29 and bool((out.diff() >= 0).all())  # ends clamp, as F.interpolate


def test_interpolate_frames_nearest_for_bool():
    mask = torch.tensor([[True, False, True]])
    assert interpolate_frames(mask, torch.tensor([0.2, 0.9, 1.6])).tolist() == [[True, False, True]]


def test_temporal_crop_rejects_bad_ratio():
    with pytest.raises(ValueError):
        RandomTemporalCrop((0.0, 1.0))


@pytest.mark.parametrize("transform", [UniformSample(4), RandomTemporalCrop()])
def test_sampling_leaves_input_unchanged(sample, transform):
    before = snapshot(sample)
    transform(sample)
    assert same_as(sample, before)
