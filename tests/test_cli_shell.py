"""What the README says about the shell: --version and click's completion script."""
from click.testing import CliRunner

from skelgraph import __version__
from skelgraph.cli import main
from tests.conftest import REPO


def test_version_prints_the_package_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"skelgraph, version {__version__}"


def test_bash_completion_script_as_the_readme_gives_it():
    assert "_SKELGRAPH_COMPLETE=bash_source skelgraph" in (REPO / "README.md").read_text()
    result = CliRunner().invoke(main, [], prog_name="skelgraph", env={"_SKELGRAPH_COMPLETE": "bash_source"})
    assert result.exit_code == 0 and "_skelgraph_completion" in result.output


def test_completion_offers_the_commands():
    env = {"_SKELGRAPH_COMPLETE": "bash_complete", "COMP_WORDS": "skelgraph em", "COMP_CWORD": "1"}
    result = CliRunner().invoke(main, [], prog_name="skelgraph", env=env)
    assert "plain,embed" in result.output
