"""The README's two commands are the ones CI runs, and they are what a new user types."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## The two commands", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.strip().splitlines()]


def test_readme_has_two_commands_build_then_test():
    build, test = readme_commands()
    assert "python3 -m venv .venv" in build and "-r requirements.txt" in build and "-e ." in build
    assert build.endswith("rnncourse build-book")
    assert "pytest" in test


def test_ci_runs_exactly_the_readme_commands():
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    commands = [line for line in ci_lines if line and not line.startswith("#")]
    assert commands[-2:] == readme_commands()
