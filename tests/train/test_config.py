import pytest

from skelgraph.train.config import (ConfigError, FinetuneConfig, PretrainConfig, config_to_toml, load_config,
                                    parse_assignments)


def test_defaults_are_the_papers():
    c = PretrainConfig()
    assert (c.lr, c.batch_size, c.epochs, c.hidden_channels, c.enc_layers, c.dec_layers, c.beta) == \
        (1.5e-4, 1024, 50, 64, 3, 1, 2.0)
    f = FinetuneConfig()
    assert (f.lr, f.momentum, f.weight_decay, f.epochs, f.warmup_epochs, f.lr_steps, f.label_smoothing,
            f.batch_size) == (0.1, 0.9, 5e-4, 110, 5, (90, 100), 0.1, 128)


def test_file_then_flags(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('epochs = 7\nlr = 1e-3\nsplit = "train"\n')
    c = load_config(PretrainConfig, path, batch_size=8, epochs=None)
    assert (c.epochs, c.lr, c.batch_size, c.split) == (7, 1e-3, 8, "train")


def test_resolved_config_round_trips(tmp_path):
    c = load_config(FinetuneConfig, None, lr=0.05, train_split="a")
    path = tmp_path / "r.toml"
    path.write_text(config_to_toml(c, "header"))
    assert load_config(FinetuneConfig, path) == c


@pytest.mark.parametrize("text, message", [
    ("epoch = 3", "unknown key.*epoch"),
    ('epochs = "3"', "epochs must be int"),
    ('conv = "gcnn"', "conv must be one of"),
    ("amp = 1", "amp must be bool"),
    ("epochs = ", "not valid TOML"),
])
def test_bad_config_names_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        load_config(PretrainConfig, path)
    assert "bad.toml" in str(err.value)


def test_int_is_accepted_for_float():
    assert load_config(PretrainConfig, None, lr=1).lr == 1.0


def test_assignments_are_read_as_toml_values():
    values = parse_assignments(["lr_steps=[45, 55]", "lr = 0.05", "augment=false", "conv=gin", 'mask="body-part"'])
    assert values == {"lr_steps": [45, 55], "lr": 0.05, "augment": False, "conv": "gin", "mask": "body-part"}
    config = load_config(FinetuneConfig, None, **values | {"mask": None})
    assert config.lr_steps == (45, 55) and config.lr == 0.05 and config.augment is False


@pytest.mark.parametrize("item", ["lr", "=3", ""])
def test_malformed_assignment_is_an_error(item):
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_assignments([item])


def test_features_and_targets_are_checked_names():
    config = load_config(PretrainConfig, None, features=["position", "motion"], targets=["motion"], loss="mse")
    assert config.features == ("position", "motion") and config.targets == ("motion",)
    with pytest.raises(ConfigError, match="features must be one of"):
        load_config(PretrainConfig, None, features=["velocity"])
    with pytest.raises(ConfigError, match="targets must be one of"):
        load_config(PretrainConfig, None, targets=["trajectory"])
