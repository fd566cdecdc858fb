"""What the fault tests share (issues 12 and 21): a command run in-process, the check that it
failed in one clear line, and tiny training settings."""
from click.testing import CliRunner

from skelgraph.cli import main

TINY = ["--epochs", "1", "--batch-size", "4", "--set", "num_frames=8", "--set", "hidden_channels=8",
        "--set", "base_batch_size=4", "--device", "cpu"]
FT = ["--init", "none", "--train-split", "train", "--test-split", "test", "--set", "warmup_epochs=0",
      "--set", "lr_steps=[]"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result, *parts):
    """Exit 1, one 'Error: ...' line holding every part, no traceback."""
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    for part in parts:
        assert part in errors[0], errors[0]
    return errors[0]
