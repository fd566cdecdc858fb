"""Motion-aware masking: moving parts are hidden more often; tau 0 changes nothing."""
import pytest
import torch

from skelgraph.data.sample import skeleton_to_data
from skelgraph.graph.layouts import NTU25
from skelgraph.transforms import BodyPartMask, RandomJointMask
from skelgraph.transforms.functional import group_mask, node_motion


def _waving(frames=16):
    """One person, still except the joints of part 0, which move a lot."""
    x = torch.ones(1, frames, 25, 3)
    data = skeleton_to_data(x, NTU25)
    moving = data.part == 0
    data.x = data.x.clone()
    data.x[moving] += torch.arange(frames, dtype=torch.float32).view(1, frames, 1) * 0.5
    return data, moving


def test_moving_part_is_hidden_far_more_often():
    data, moving = _waving()
    mask = BodyPartMask(num_parts=1, motion_tau=0.5, generator=torch.Generator().manual_seed(0))
    hidden = sum(bool((~mask(data).keep_mask[moving]).all()) for _ in range(200))
    assert hidden > 180  # uniform draws would hide it about 200 / 6 times


def test_uniform_draws_are_unchanged_by_motion_with_tau_zero():
    part = torch.arange(30) // 5
    motion = torch.rand(30, 8)
    plain = group_mask(part, num_groups=2, num_frames=8, span=4, generator=torch.Generator().manual_seed(3))
    off = group_mask(part, num_groups=2, num_frames=8, span=4, generator=torch.Generator().manual_seed(3),
                     motion=motion, motion_tau=0.0)
    assert torch.equal(plain, off)


def test_motion_aware_draws_still_hide_exactly_the_asked_count_per_span():
    part = torch.arange(30) // 5
    keep = group_mask(part, num_groups=2, num_frames=8, span=4, generator=torch.Generator().manual_seed(0),
                      motion=torch.rand(30, 8), motion_tau=0.2)
    assert keep.shape == (30, 8)
    assert ((~keep).sum(dim=0) == 10).all()  # 2 parts of 5 joints in every frame
    assert torch.equal(keep[:, :4], keep[:, :1].expand(-1, 4))  # one draw per span


def test_random_joint_mask_prefers_moving_joints():
    data, moving = _waving()
    mask = RandomJointMask(mask_ratio=0.2, motion_tau=0.2, generator=torch.Generator().manual_seed(0))
    hidden_moving = sum(int((~mask(data).keep_mask[moving]).sum()) for _ in range(50))
    # 5 of the 25 joints hidden per draw: the moving ones first (uniform draws: 1 in 5 of them)
    assert hidden_moving / (50 * min(int(moving.sum()), 5)) > 0.8


def test_node_motion_ignores_absent_frames():
    x = torch.zeros(2, 4, 3)
    x[0] = torch.arange(1.0, 5.0).view(4, 1)  # moves 1 * sqrt(3) per frame
    x[1, 2:] = 5.0  # absent, then appears: no motion read
    motion = node_motion(x)
    assert torch.allclose(motion[0], torch.full((4,), 3 ** 0.5))
    assert motion[1].abs().sum() == 0


def test_negative_tau_is_rejected():
    with pytest.raises(ValueError, match="motion_tau must be >= 0"):
        BodyPartMask(motion_tau=-1.0)
