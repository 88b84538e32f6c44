"""The files at the repository's root that set up the project: pyproject.toml declares it and the
pytest settings, and CI (.ci/run) runs exactly the README's test command."""

from tests.conftest import ROOT


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./test.sh " in readme or "./test.sh\n" in readme
    assert ci.rstrip().splitlines()[-1] == "./test.sh"


def test_pyproject_declares_the_project_python_and_pytest_settings():
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["name"] == "tagface"
    assert data["project"]["requires-python"] == ">=3.11"
    assert data["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]
