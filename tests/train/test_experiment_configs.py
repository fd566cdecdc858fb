"""Every TOML in experiments/ is a valid config, and the demo's embedded settings equal its files."""
from pathlib import Path

import pytest

from skelgraph.train.config import FinetuneConfig, PretrainConfig, load_config
from skelgraph.train.demo import DEMO_FINETUNE, DEMO_PRETRAIN
from tests.conftest import REPO

CONFIGS = sorted((REPO / "experiments").glob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_experiment_config_loads(path: Path):
    cls = PretrainConfig if "pretrain" in path.name else FinetuneConfig
    load_config(cls, path)


def test_there_are_experiment_configs():
    assert len(CONFIGS) >= 5


def test_demo_files_match_embedded_settings():
    assert load_config(PretrainConfig, REPO / "experiments" / "demo_pretrain.toml") == \
        load_config(PretrainConfig, None, **DEMO_PRETRAIN)
    assert load_config(FinetuneConfig, REPO / "experiments" / "demo_finetune.toml") == \
        load_config(FinetuneConfig, None, **DEMO_FINETUNE)
