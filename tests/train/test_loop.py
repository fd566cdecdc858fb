import torch

from skelgraph.train.loop import autocast


def test_autocast_is_bfloat16_on_the_cpu_and_off_when_disabled():
    a = torch.ones(2, 2)
    with autocast(torch.device("cpu"), True):
        assert (a @ a).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), False):
        assert (a @ a).dtype == torch.float32
