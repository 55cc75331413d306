"""The deployment files agree with the settings: docker-compose.yml, Dockerfile, .env.example.

No database and no Docker engine: these read the files and compare them with
coe_portal/settings.py (its source, for the variables it reads, and its values, for the
queues and the beat scheduler).
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
SETTINGS_PY = ROOT / "coe_portal" / "settings.py"

APP_SERVICES = ("migrate", "web", "worker", "beat")
LONG_RUNNING = ("postgres", "redis", "web", "worker", "beat")
# Functions of settings.py that read one environment variable named by their first argument.
_ENV_READERS = {"_env_bool", "_env_int", "_env_list"}
_ENV_METHODS = {"str", "bool", "int", "float", "list", "tuple", "dict", "json", "url", "path"}


# --- Helpers -----------------------------------------------------------------------------


def _settings_env_names() -> set[str]:
    """Every variable name settings.py passes, as a literal, to env.<type>() or _env_*()."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(SETTINGS_PY.read_text())):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        reads_env = (isinstance(func, ast.Name) and func.id in _ENV_READERS) or (
            isinstance(func, ast.Attribute)
            and func.attr in _ENV_METHODS
            and isinstance(func.value, ast.Name)
            and func.value.id == "env"
        )
        first = node.args[0]
        if reads_env and isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
    return names


def _env_example() -> dict[str, tuple[str, bool]]:
    """NAME -> (value, active) for each `NAME=value` or `# NAME=value` line."""
    entries: dict[str, tuple[str, bool]] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            entries[match[2]] = (match[3], match[1] is None)
    return entries


def _command(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def _option(argv: list[str], *flags: str) -> str:
    """The value of a command-line option given as `-Q x`, `--flag x` or `--flag=x`."""
    for index, arg in enumerate(argv):
        for flag in flags:
            if arg == flag:
                return argv[index + 1]
            if flag.startswith("--") and arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
    raise AssertionError(f"none of {flags} in {argv}")


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, rest = full.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def _dockerfile_env_keys() -> set[str]:
    keys: set[str] = set()
    for keyword, rest in _dockerfile_instructions():
        if keyword == "ENV":
            keys.update(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", rest))
    return keys


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


# --- docker-compose.yml: shape -----------------------------------------------------------


def test_compose_file_has_no_obsolete_version_key(compose):
    assert "version" not in compose


def test_compose_defines_the_five_services_and_migrate(services):
    assert set(services) >= {"postgres", "redis", "web", "worker", "beat", "migrate"}


@pytest.mark.parametrize("name", ["postgres", "redis", "web", "worker"])
def test_service_has_a_healthcheck(services, name):
    test = services[name].get("healthcheck", {}).get("test")
    assert test, f"{name} has no healthcheck test"
    assert test not in (["NONE"], "NONE")


def test_postgres_healthcheck_uses_pg_isready(services):
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_redis_healthcheck_pings_redis(services):
    test = services["redis"]["healthcheck"]["test"]
    assert "redis-cli" in test
    assert "ping" in test


def test_redis_persists_with_append_only_file(services):
    argv = _command(services["redis"])
    assert _option(argv, "--appendonly") == "yes"


def test_web_healthcheck_fetches_healthz_with_python(services):
    test = " ".join(services["web"]["healthcheck"]["test"])
    assert "python" in test
    assert "urllib" in test
    assert "http://127.0.0.1:8000/healthz" in test


def test_named_volumes_are_declared_and_used(compose, services):
    declared = set(compose.get("volumes") or {})
    assert declared, "no named volumes declared"
    used = {
        volume.split(":", 1)[0]
        for service in services.values()
        for volume in service.get("volumes", [])
        if isinstance(volume, str) and not volume.startswith((".", "/", "~"))
    }
    assert used == declared
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert any(v.endswith(":/data") for v in services["redis"]["volumes"])


def test_app_services_share_image_build_and_environment(services):
    first = services[APP_SERVICES[0]]
    assert first.get("image")
    assert first.get("build")
    for name in APP_SERVICES[1:]:
        assert services[name].get("image") == first["image"], name
        assert services[name].get("build") == first["build"], name
        assert services[name].get("environment") == first["environment"], name


def test_compose_uses_one_x_app_anchor_for_the_app_services(compose):
    text = COMPOSE.read_text()
    assert "x-app" in compose
    assert text.count("&app") == 1
    assert text.count("<<: *app") == len(APP_SERVICES)


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_service_restarts_unless_stopped(services, name):
    assert services[name].get("restart") == "unless-stopped"


def test_migrate_runs_once_after_postgres_is_healthy(services):
    migrate = services["migrate"]
    assert _command(migrate)[:3] == ["python", "manage.py", "migrate"]
    assert "--noinput" in _command(migrate)
    assert migrate.get("restart", "no") == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_web_waits_for_healthy_backends_and_finished_migration(services):
    depends = services["web"]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"
    assert depends["migrate"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_celery_service_waits_for_finished_migration(services, name):
    assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


# --- docker-compose.yml: commands match settings -----------------------------------------


def test_web_command_runs_gunicorn_with_the_wsgi_app_on_port_8000(services):
    argv = _command(services["web"])
    assert argv[0] == "gunicorn"
    assert "coe_portal.wsgi:application" in argv
    assert _option(argv, "--bind", "-b") == "0.0.0.0:8000"
    assert any(port.endswith(":8000") for port in services["web"]["ports"])


def test_worker_consumes_every_queue_in_settings(services):
    argv = _command(services["worker"])
    assert argv[:4] == ["celery", "-A", "coe_portal", "worker"]
    queues = _option(argv, "-Q", "--queues").split(",")
    assert sorted(queues) == sorted(settings.CELERY_QUEUES)
    assert len(queues) == len(set(queues))


def test_worker_healthcheck_pings_its_own_node(services):
    test = " ".join(services["worker"]["healthcheck"]["test"])
    assert "inspect ping" in test
    assert "celery@$$HOSTNAME" in test  # $$ is Compose's escape for a literal $


def test_beat_uses_the_scheduler_named_in_settings(services):
    argv = _command(services["beat"])
    assert argv[:4] == ["celery", "-A", "coe_portal", "beat"]
    assert _option(argv, "--scheduler", "-S") == settings.CELERY_BEAT_SCHEDULER


def test_beat_writes_no_pid_file_into_the_read_only_app_folder(services):
    assert _option(_command(services["beat"]), "--pidfile") == ""


# --- Environment: compose, Dockerfile, .env.example, settings.py --------------------------


def test_settings_source_yields_the_variables_it_is_known_to_read():
    # Guards the parser: if this breaks, the tests below would pass vacuously.
    names = _settings_env_names()
    assert {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"} <= names
    assert {"SECURE_SSL_REDIRECT", "BEHIND_TLS_PROXY", "LOG_LEVEL", "DB_CONN_MAX_AGE"} <= names


def test_debug_is_off_in_compose(services):
    for name in APP_SERVICES:
        assert str(services[name]["environment"]["DEBUG"]).lower() in {"0", "false", "no", "off"}


def test_compose_points_the_apps_at_postgres_and_redis(services):
    env = services["web"]["environment"]
    assert env["DATABASE_URL"].startswith("postgres://coe:")
    assert env["DATABASE_URL"].endswith("@postgres:5432/coe")
    assert env["REDIS_URL"] == "redis://redis:6379/0"


def test_compose_refuses_to_start_without_a_secret_key(services):
    assert re.fullmatch(r"\$\{SECRET_KEY:\?.+\}", services["web"]["environment"]["SECRET_KEY"])


def test_every_compose_app_env_key_is_read_by_settings(services):
    read = _settings_env_names()
    for name in APP_SERVICES:
        unknown = set(services[name]["environment"]) - read
        assert not unknown, f"{name} sets variables settings.py never reads: {sorted(unknown)}"


def test_every_compose_app_env_key_is_listed_in_env_example(services):
    missing = set(services["web"]["environment"]) - set(_env_example())
    assert not missing, f"not in .env.example: {sorted(missing)}"


def test_every_variable_settings_reads_is_listed_in_env_example():
    missing = _settings_env_names() - set(_env_example())
    assert not missing, f"not in .env.example: {sorted(missing)}"


def test_env_example_lists_only_variables_settings_reads():
    unknown = set(_env_example()) - _settings_env_names()
    assert not unknown, f".env.example lists variables settings.py never reads: {sorted(unknown)}"


def test_env_example_as_is_gives_an_embedded_debug_setup():
    active = {name: value for name, (value, on) in _env_example().items() if on}
    assert active.get("DEBUG") == "1"
    # No server needed: SQLite and the file-system queue, and no real secret in the example.
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        assert not active.get(name), f"{name} is set in .env.example"


def test_every_variable_in_env_example_has_a_comment_above_it():
    variable = re.compile(r"^(#\s*)?[A-Z][A-Z0-9_]*=")
    lines = ENV_EXAMPLE.read_text().splitlines()
    for index, line in enumerate(lines):
        if variable.match(line):
            above = lines[index - 1] if index else ""
            assert above.startswith("#"), f"no comment above {line!r}"
            assert not variable.match(above), f"no description above {line!r}"


def test_dockerfile_env_keys_are_python_flags_or_read_by_settings():
    keys = _dockerfile_env_keys()
    assert "DEBUG" in keys
    unknown = {key for key in keys if not key.startswith("PYTHON")} - _settings_env_names()
    assert not unknown, f"Dockerfile sets variables settings.py never reads: {sorted(unknown)}"


# --- Dockerfile and .dockerignore --------------------------------------------------------


def test_dockerfile_is_based_on_python_311_slim():
    froms = [rest for keyword, rest in _dockerfile_instructions() if keyword == "FROM"]
    assert froms == ["python:3.11-slim"]


def test_dockerfile_turns_debug_off_and_python_buffering_and_bytecode_off():
    env = " ".join(rest for keyword, rest in _dockerfile_instructions() if keyword == "ENV")
    assert re.search(r"\bDEBUG=0\b", env)
    assert re.search(r"\bPYTHONDONTWRITEBYTECODE=1\b", env)
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", env)


def test_dockerfile_bakes_in_no_secret_key_or_hosts():
    assert not {"SECRET_KEY", "ALLOWED_HOSTS"} & _dockerfile_env_keys()
    args = [rest for keyword, rest in _dockerfile_instructions() if keyword == "ARG"]
    assert not [arg for arg in args if "SECRET" in arg]


def test_dockerfile_installs_the_project_with_pip():
    runs = [rest for keyword, rest in _dockerfile_instructions() if keyword == "RUN"]
    assert any(re.search(r"pip install --no-cache-dir\b.* \.(\s|$)", run) for run in runs)


def test_dockerfile_collects_static_files_with_throwaway_build_values():
    runs = [rest for keyword, rest in _dockerfile_instructions() if keyword == "RUN"]
    collect = [run for run in runs if "collectstatic" in run]
    assert len(collect) == 1
    assert "--noinput" in collect[0]
    assert "SECRET_KEY=" in collect[0]
    assert "ALLOWED_HOSTS=" in collect[0]


def test_dockerfile_runs_as_a_non_root_user():
    users = [rest for keyword, rest in _dockerfile_instructions() if keyword == "USER"]
    assert users, "no USER instruction"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_dockerfile_exposes_port_8000():
    exposed = [rest for keyword, rest in _dockerfile_instructions() if keyword == "EXPOSE"]
    assert any("8000" in rest.split() for rest in exposed)


def test_dockerfile_cmd_runs_gunicorn_with_the_wsgi_app():
    cmds = [rest for keyword, rest in _dockerfile_instructions() if keyword == "CMD"]
    assert len(cmds) == 1
    argv = ast.literal_eval(cmds[0]) if cmds[0].startswith("[") else shlex.split(cmds[0])
    assert argv[0] == "gunicorn"
    assert "coe_portal.wsgi:application" in argv
    assert _option(argv, "--bind", "-b") == "0.0.0.0:8000"
    assert _option(argv, "--access-logfile") == "-"


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_image():
    patterns = {
        line.strip().strip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for pattern in (".venv", "var", ".git", ".pytest_cache", ".env", "test-results"):
        assert pattern in patterns, pattern
    assert any("__pycache__" in pattern for pattern in patterns)
