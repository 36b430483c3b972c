"""Config errors point at the line: `rotator.toml:LINE: key.path: what is wrong (next step)`."""

from __future__ import annotations

import pytest

from rotator.config import load_config
from rotator.config_lines import line_of
from rotator.errors import ConfigError
from rotator.rotate.config import load_rotation_settings

CONFIG = """\
# rotation config
[platforms.railway]
project = "intowork"

[[secrets]]
name = "nextauth"
family = "nextauth"
variables = ["NEXTAUTH_SECRET"]
targets = ["railway:backend@production"]

[[secrets]]
name = "database"
family = "postgres"
variables = ["DATABASE_URL"]
targets = [
    "railway:Postgres@production",
]
params = {connect_variable = "DATABASE_URL"}

[[health]]
url = "https://example.com/health"
"""


@pytest.mark.parametrize(("key_path", "line"), [
    ("platforms.railway", 2),
    ("platforms.railway.project", 3),
    ("secrets[0]", 5),
    ("secrets[0].targets", 9),
    ("secrets[0].targets[0]", 9),
    ("secrets[1].family", 13),
    ("secrets[1].targets[0]", 15),
    ("secrets[1].params.connect_variable", 18),
    ("secrets[1].max_age", 11),  # not written: the table's header
    ("health[0].url", 21),
    ("rotation.state_dir", None),
])
def test_line_of(key_path: str, line: int | None) -> None:
    assert line_of(CONFIG, key_path) == line


def _error(tmp_path, text: str, name: str = "rotator.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_rotation_settings(load_config(path), {})
    message = str(error.value)
    assert message.startswith(f"{path}:")
    return message[len(str(path)):]


def test_rotation_errors_name_file_line_and_key(tmp_path) -> None:
    bad_target = CONFIG.replace('"railway:Postgres@production"', '"railway:Postgres"')
    assert _error(tmp_path, bad_target).startswith(
        ":15: secrets[1].targets[0]: 'railway:Postgres' is not a target")
    bad_family = CONFIG.replace('family = "postgres"', 'family = "stripe"')
    assert _error(tmp_path, bad_family).startswith(
        ":13: secrets[1].family: family 'stripe' cannot be rotated")
    unknown_key = CONFIG.replace('name = "database"', 'name = "database"\ncolour = "red"')
    assert _error(tmp_path, unknown_key).startswith(":13: secrets[1]: unknown key 'colour'")
    unknown_param = CONFIG.replace("connect_variable", "conect_variable")
    assert _error(tmp_path, unknown_param).startswith(
        ":18: secrets[1].params: unknown parameter 'conect_variable'")
    no_project = CONFIG.replace('project = "intowork"', 'projet = "intowork"')
    assert _error(tmp_path, no_project).startswith(":3: platforms.railway: unknown key 'projet'")


def test_pyproject_lines_count_from_the_top_of_the_file(tmp_path) -> None:
    text = '[project]\nname = "app"\n\n' + CONFIG.replace("[platforms.", "[tool.rotator.platforms.") \
        .replace("[[secrets]]", "[[tool.rotator.secrets]]") \
        .replace("[[health]]", "[[tool.rotator.health]]") \
        .replace('family = "postgres"', 'family = "stripe"')
    assert _error(tmp_path, text, "pyproject.toml").startswith(":16: secrets[1].family")


def test_scan_settings_errors_point_at_the_line(tmp_path) -> None:
    path = tmp_path / "rotator.toml"
    path.write_text('[scan]\nexclude = ["a"]\nmax_size = 3\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rotator.toml:3: scan: unknown scan setting 'max_size'"):
        load_config(path)
