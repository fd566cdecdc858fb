import torch

from skelgraph.nn.conv import AdjacencyCache


def _counting_cache():
    cache, builds = AdjacencyCache(), []
    return cache, builds, lambda key: cache.get(key, lambda: builds.append(1) or len(builds))


def test_an_equal_edge_index_reuses_the_build():
    _, builds, get = _counting_cache()
    edge_index = torch.tensor([[0, 1], [1, 0]])
    assert get((edge_index, 2)) == get((edge_index.clone(), 2)) == 1 and len(builds) == 1


def test_another_edge_index_or_size_rebuilds():
    _, builds, get = _counting_cache()
    edge_index = torch.tensor([[0, 1], [1, 0]])
    get((edge_index, 2))
    get((torch.tensor([[0, 1], [1, 2]]), 2))
    get((torch.tensor([[0, 1], [1, 2]]), 3))
    assert len(builds) == 3


def test_a_cached_edge_index_edited_in_place_rebuilds():
    _, builds, get = _counting_cache()
    edge_index = torch.tensor([[0, 1], [1, 0]])
    get((edge_index, 2))
    edge_index[1, 0] = 2
    get((edge_index, 2))
    get((torch.tensor([[0, 1], [2, 0]]), 2))  # equal to the edited tensor, which the cache no longer trusts
    assert len(builds) == 2
