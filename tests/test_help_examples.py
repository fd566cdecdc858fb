"""Every example a --help text gives must run (issue 21: `pretrain --help` gave `--set
lr_steps=[45,55]`, a fine-tuning key, as its example). An example is an option written after
"e.g." in a command's or an option's help, or a backticked command line. Each is checked as the
command itself would check it: click's type of the option, the config class for --set, the layout
and joint-name look-ups for layout-valued options, and a name mapping where an example maps one
joint order onto a layout."""
import re
import shlex

import click
import pytest

from skelgraph.cli import main
from skelgraph.graph.joint_names import joint_mapping, read_joint_names
from skelgraph.graph.layouts import get_layout
from skelgraph.train.config import FinetuneConfig, PretrainConfig, load_config, parse_assignments

CONFIGS = {"pretrain": PretrainConfig, "finetune": FinetuneConfig}
LAYOUT_OPTIONS = ("--layout", "--to-layout")
SNIPPET = re.compile(r"e\.g\.(?:\s+[\w-]+:)?\s+((?:--[\w-]+(?:[ =][^\s;]+)?\s*)+)|`skelgraph (\w+) (--[^`]+)`")


def examples():
    """(command, option tokens) of every example in every help text."""
    found = []
    for name, command in sorted(main.commands.items()):
        texts = [command.help or ""] + [p.help or "" for p in command.params if isinstance(p, click.Option)]
        for text in texts:
            for match in SNIPPET.finditer(text):
                if match.group(1):  # "e.g. --opt value": an example of this command
                    found.append((name, match.group(1).strip().rstrip(".,)")))
                else:  # "`skelgraph other --opt value`": an example of that command
                    found.append((match.group(2), match.group(3).strip()))
    return found


def pairs(command, tokens):
    """(option, value) of the tokens; a flag has value None."""
    options = {opt: p for p in command.params if isinstance(p, click.Option) for opt in p.opts + p.secondary_opts}
    out, i = [], 0
    while i < len(tokens):
        token = tokens[i]
        if "=" in token and token.startswith("--") and token.split("=")[0] in options:
            token, value = token.split("=", 1)
            out.append((options[token], token, value))
            i += 1
            continue
        assert token in options, f"{command.name}: example names an unknown option {token}"
        param = options[token]
        if param.is_flag:
            out.append((param, token, None))
            i += 1
        else:
            out.append((param, token, tokens[i + 1]))
            i += 2
    return out


def test_examples_are_found():
    names = {name for name, _ in examples()}
    assert {"pretrain", "finetune", "preprocess"} <= names, examples()


@pytest.mark.parametrize("name, snippet", examples())
def test_every_help_example_runs(name, snippet):
    command = main.commands[name]
    given = pairs(command, shlex.split(snippet))
    values = {}
    for param, token, value in given:
        if value is None:
            continue
        param.type.convert(value, param, click.Context(command))  # the option's own check
        if token == "--set":
            assert name in CONFIGS, f"{name}: --set example without a config"
            values.update(parse_assignments([value]))
        elif token in LAYOUT_OPTIONS:
            get_layout(value)
        elif token == "--joints":
            read_joint_names(value)
    if values:
        load_config(CONFIGS[name], None, **values)  # an unknown key, a wrong type, a bad value: fails here
    by_token = {token: value for _, token, value in given}
    if "--joints" in by_token and "--to-layout" in by_token:  # a mapping example must map every joint
        joint_mapping(read_joint_names(by_token["--joints"]), get_layout(by_token["--to-layout"]))


def test_the_old_pretrain_example_would_have_failed():
    """The check above can fail: the example issue 21 found is refused by it."""
    with pytest.raises(Exception, match="lr_steps"):
        load_config(PretrainConfig, None, **parse_assignments(["lr_steps=[45,55]"]))
