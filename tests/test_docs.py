"""The README and the CLI agree: every command has help and appears in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from sepadan.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(get_command(app).commands)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_and_is_in_the_readme(name):
    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    assert f"sepadan {name}" in README, f"README does not mention 'sepadan {name}'"


def test_quick_start_has_exactly_two_commands():
    block = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert len(commands) == 2
    assert commands[0].startswith("./run-demo.sh")
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1].split("#")[0].strip() in ci


def test_readme_csv_example_imports(tmp_path):
    """The CSV row shown in the README is valid input."""
    block = README.split("```csv", 1)[1].split("```", 1)[0].strip()
    path = tmp_path / "workers.csv"
    path.write_text(block + "\n", encoding="utf-8")
    from sepadan.ingest.importer import validate_file

    models, errors = validate_file("workers", path)
    assert errors == [] and len(models) == 1
    assert models[0][1].nik == "3508014404990002"


def test_readme_json_example_is_a_valid_worker():
    import json

    block = README.split("## Data formats", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    from sepadan.contract import WorkerIn

    worker = WorkerIn.model_validate(json.loads(block))
    assert worker.to_record().skills == ("menjahit", "tata boga", "merawat lansia")


def test_commands_in_readme_examples_exist():
    used = set(re.findall(r"\.venv/bin/sepadan ([\w-]+)", README))
    assert used, "the README shows no command examples"
    assert used <= set(COMMANDS), f"README shows unknown commands: {used - set(COMMANDS)}"
