"""The distribution name and the install and hook snippets of docs/install.md, run as written
(a `<your-org>` URL replaced by a local clone of this project) with the real pip and pre-commit."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from testkit import git, make_repo, resend_key

PROJECT = Path(__file__).resolve().parents[1]
# The documents whose fenced blocks are the published snippets (the README carries the same
# blocks once the lead copies them there; add it here then).
SNIPPET_DOCUMENTS = [PROJECT / "docs" / "install.md", PROJECT / "README.md"]
PUBLIC_URL = "https://github.com/<your-org>/rotator"
PACKAGE_INDEX_LIST = Path("/work/.library/env/packages/pypi.tsv")
BIN = Path(sys.executable).parent
PRE_COMMIT = shutil.which("pre-commit", path=str(BIN)) or "pre-commit is missing"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def _distribution() -> str:
    return tomllib.loads((PROJECT / "pyproject.toml").read_text("utf-8"))["project"]["name"]


def _blocks(language: str) -> list[str]:
    return [body for document in SNIPPET_DOCUMENTS
            for lang, body in FENCE.findall(document.read_text("utf-8")) if lang == language]


def _pre_commit_snippet(kind: str) -> str:
    """The one `.pre-commit-config.yaml` snippet of this kind (identical wherever it appears)."""
    snippets = {block for block in _blocks("yaml")
                if "pre-commit-config" in block and ("repo: local" in block) == (kind == "local")}
    assert len(snippets) == 1, f"one {kind} hook snippet, the same in every document: {snippets}"
    return snippets.pop()


def _install_commands() -> list[list[str]]:
    """Each documented install from the index or a git URL once, in the order first seen
    (installs of the checkout itself, `pip install .` / `-e '.[test]'`, are what .ci/run runs)."""
    lines = [line for block in _blocks("sh") for line in block.splitlines()
             if re.match(r"pipx? install (?!-e |\.|'\.)", line)]
    return [line.split() for line in dict.fromkeys(lines)]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """This project's committed HEAD as the `<your-org>/rotator` repository, on branch main."""
    path = tmp_path_factory.mktemp("published") / "rotator"
    subprocess.run(["git", "clone", "-q", "--no-local", str(PROJECT), str(path)], check=True)
    git(path, "checkout", "-q", "-B", "main")
    return path


def _run(args, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "ROTATOR_CACHE_DIR": str(home / "cache"),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com"}
    env.pop("PRE_COMMIT", None)
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_distribution_is_rotator_secrets_with_the_rotator_command():
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["name"] == "rotator-secrets"
    assert project["scripts"] == {"rotator": "rotator.entry:main"}


def test_distribution_name_is_free_on_the_package_index():
    if not PACKAGE_INDEX_LIST.exists():
        pytest.skip("optional: the package index's name list is only on the developers' machines")
    normalise = lambda name: re.sub(r"[-_.]+", "-", name).lower()  # noqa: E731 (PEP 503)
    with PACKAGE_INDEX_LIST.open(encoding="utf-8") as names:
        taken = {normalise(line.split("\t", 1)[0]) for line in names}
    assert "rotator" in taken, "the list is the package index's (it has the 2013 `rotator`)"
    assert normalise(_distribution()) not in taken


def test_every_documented_install_names_the_distribution():
    commands = _install_commands()
    assert [c[:2] for c in commands] == [["pipx", "install"], ["pip", "install"], ["pip", "install"]]
    assert commands[0][2] == commands[1][2] == _distribution()
    assert commands[2][2] == f'"git+{PUBLIC_URL}"'
    workflow = (PROJECT / "docs" / "quarterly-rotation.yml").read_text("utf-8")
    assert re.findall(r"pip install (\S+)", workflow) == [_distribution()]


@pytest.mark.slow
def test_git_url_install_builds_the_distribution(clone, tmp_path):
    """`pip install "git+URL"` as documented, building the wheel it would install (no deps:
    those come from the index as for any install)."""
    (command,) = [c for c in _install_commands() if c[2].startswith('"git+')]
    url = command[2].strip('"').replace(PUBLIC_URL, f"file://{clone}")
    completed = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                                "-w", str(tmp_path), url], capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr
    (wheel,) = tmp_path.glob("*.whl")
    assert wheel.name.startswith("rotator_secrets-")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "rotator = rotator.entry:main" in entry_points
    assert "Name: rotator-secrets" in metadata
    assert "rotator/cli.py" in names and "rotator/plugins/resend.py" in names


def _leaky_app(path: Path) -> tuple[Path, str]:
    repo = make_repo(path)
    (repo / "README.md").write_text("# app\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    key = resend_key()
    (repo / "notes.md").write_text(f"# deploy\n\nRESEND_API_KEY={key}\n")
    return repo, key


def _assert_hook_blocks_then_passes(repo: Path, key: str, home: Path) -> None:
    git(repo, "add", "notes.md")
    blocked = _run([PRE_COMMIT, "run"], repo, home)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, output
    assert "notes.md:3" in output and key not in output
    git(repo, "reset", "-q")
    (repo / "notes.md").write_text("# deploy\n\nRESEND_API_KEY=${{ secrets.RESEND_API_KEY }}\n")
    git(repo, "add", "notes.md")
    clean = _run([PRE_COMMIT, "run"], repo, home)
    assert clean.returncode == 0, clean.stdout + clean.stderr


@pytest.mark.slow
def test_remote_hook_snippet_works_after_pre_commit_autoupdate(clone, tmp_path):
    snippet = _pre_commit_snippet("remote")
    assert PUBLIC_URL in snippet and "rev: main" in snippet
    repo, key = _leaky_app(tmp_path / "app")
    config = repo / ".pre-commit-config.yaml"
    config.write_text(snippet.replace(PUBLIC_URL, str(clone)))
    home = tmp_path / "pre-commit-home"
    updated = _run([PRE_COMMIT, "autoupdate"], repo, home)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    (entry,) = yaml.safe_load(config.read_text())["repos"]
    # no tag in the clone: autoupdate pins the commit (a tag once one is published)
    assert entry["rev"] == git(clone, "rev-parse", "HEAD").strip()
    assert [hook["id"] for hook in entry["hooks"]] == ["rotator"]
    _assert_hook_blocks_then_passes(repo, key, home)


def test_local_hook_snippet_is_complete_and_works(tmp_path):
    snippet = _pre_commit_snippet("local")
    (entry,) = yaml.safe_load(snippet)["repos"]
    (hook,) = entry["hooks"]
    assert {"id", "name", "entry", "language", "pass_filenames", "stages"} <= set(hook)
    published = {h["id"]: h for h in yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())}
    assert {k: hook[k] for k in ("entry", "pass_filenames", "stages")} == \
        {k: published["rotator"][k] for k in ("entry", "pass_filenames", "stages")}
    repo, key = _leaky_app(tmp_path / "app")
    (repo / ".pre-commit-config.yaml").write_text(snippet)
    _assert_hook_blocks_then_passes(repo, key, tmp_path / "pre-commit-home")
