import pytest
import torch

from skelgraph.transforms.functional import uniform_sample_indices


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("num_frames", [1, 3, 40, 64, 100, 127, 128, 300])
@pytest.mark.parametrize("train", [True, False])
def test_uniform_sample_shape_dtype_range(num_frames, train):
    idx = uniform_sample_indices(num_frames, 64, train, gen(0))
    assert idx.dtype == torch.long and idx.shape == (64,)
    assert int(idx.min()) >= 0 and int(idx.max()) < num_frames


@pytest.mark.parametrize("num_frames", [64, 100, 300])
def test_uniform_sample_train_one_frame_per_segment(num_frames):
    idx = uniform_sample_indices(num_frames, 64, True, gen(1))
    bounds = torch.arange(65) * num_frames // 64
    if num_frames >= 128:  # PYSKL's segment rule
        assert bool(((idx >= bounds[:-1]) & (idx < bounds[1:])).all())
    assert bool((idx.diff() > 0).all())  # strictly increasing: every frame at most once


def test_uniform_sample_test_is_segment_middle():
    assert uniform_sample_indices(300, 3, False).tolist() == [50, 150, 250]


def test_uniform_sample_test_is_deterministic():
    assert torch.equal(uniform_sample_indices(300, 64, False, gen(0)),
                       uniform_sample_indices(300, 64, False, gen(1)))


def test_uniform_sample_train_same_seed_same_draw():
    assert torch.equal(uniform_sample_indices(300, 64, True, gen(3)), uniform_sample_indices(300, 64, True, gen(3)))
    assert not torch.equal(uniform_sample_indices(300, 64, True, gen(3)),
                           uniform_sample_indices(300, 64, True, gen(4)))


def test_uniform_sample_short_sequence_loops_in_order():
    idx = uniform_sample_indices(5, 12, True, gen(0))
    assert bool(((idx.diff() == 1) | ((idx[:-1] == 4) & (idx[1:] == 0))).all())
    assert uniform_sample_indices(5, 12, False).tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]


def test_uniform_sample_between_one_and_two_clip_lengths_covers_range():
    idx = uniform_sample_indices(100, 64, True, gen(2))
    assert int(idx[0]) <= 1 and int(idx[-1]) >= 98 and bool((idx.diff() >= 1).all() and (idx.diff() <= 2).all())


def test_uniform_sample_rejects_empty():
    with pytest.raises(ValueError):
        uniform_sample_indices(0, 64, True)
