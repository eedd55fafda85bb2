"""Where the benchmark keeps its files, its secrets, and the environment the site runs in.

Everything lives under `bench/results/` (gitignored but for `scale/`): the throw-away SQLite
database, one state file per database URL with the generated secrets (needed again by
`--reuse`, because the stored customer data is encrypted with them; one file each, so a
SQLite run and a PostgreSQL run do not overwrite each other's keys), the logs and the reports.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"
SQLITE_URL = f"sqlite:///{RESULTS_DIR / 'bench.sqlite3'}"
GUNICORN_LOG = RESULTS_DIR / "gunicorn.log"
SETUP_LOG = RESULTS_DIR / "setup.log"

# Variables the harness sets itself; anything else in the caller's environment passes through.
SECRET_VARIABLES = ("DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY")
# Configuration variables worth recording in the report when the caller set them.
RECORDED_PREFIXES = ("DJANGO_", "AXES_", "CUSTOMER_", "CONSENT_", "COMMUNITY_", "WEB_CONCURRENCY")


def state_path(database_url: str) -> Path:
    """The state file of one database: readable by its engine and name, told apart from
    other servers' databases of the same name by a hash of the whole URL."""
    parts = urlsplit(database_url)
    name = Path(parts.path).stem if parts.scheme.startswith("sqlite") else parts.path.strip("/")
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{parts.scheme}-{name}").strip("-")
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:10]
    return RESULTS_DIR / f"state-{readable}-{digest}.json"


@dataclass
class State:
    """The secrets and the data set of one benchmark database."""

    database_url: str
    members: int
    secret_key: str
    field_encryption_key: str
    blind_index_key: str
    password: str
    seeded: bool = False

    @classmethod
    def fresh(cls, *, database_url: str, members: int) -> State:
        from cryptography.fernet import Fernet

        return cls(
            database_url=database_url,
            members=members,
            secret_key=secrets.token_urlsafe(50),
            field_encryption_key=Fernet.generate_key().decode("ascii"),
            blind_index_key=secrets.token_urlsafe(32),
            password=secrets.token_urlsafe(12),
        )

    @classmethod
    def load(cls, database_url: str) -> State | None:
        """The state of the database at `database_url`, if a run left one."""
        try:
            state = cls(**json.loads(state_path(database_url).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None
        return state if state.database_url == database_url else None

    @property
    def path(self) -> Path:
        return state_path(self.database_url)

    def save(self) -> None:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        # Created readable by its owner only: it holds the keys of the stored data.
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(self), indent=2))
        self.path.chmod(0o600)  # a file from an older run may have other modes

    def reusable(self, members: int) -> bool:
        """Whether a run asking for `members` members may reuse this database's data set."""
        return self.seeded and self.members == members


def default_database_url() -> str:
    """DATABASE_URL from the environment, else the throw-away SQLite file."""
    return os.environ.get("DATABASE_URL") or SQLITE_URL


def remove_sqlite_file() -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(SQLITE_URL.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)


def redact_url(url: str) -> str:
    """The URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def site_environment(state: State) -> dict[str, str]:
    """The environment for manage.py, the data generator and gunicorn: production settings."""
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "community.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECRET_KEY": state.secret_key,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "FIELD_ENCRYPTION_KEYS": state.field_encryption_key,
        "BLIND_INDEX_KEY": state.blind_index_key,
        "COMMUNITY_SKIP_DOTENV": "1",
        "DATABASE_URL": state.database_url,
        "PYTHONDONTWRITEBYTECODE": "1",
        "GUNICORN_ACCESS_LOG": "",  # no access log: it would be measured too
    }


def recorded_environment(env: dict[str, str]) -> dict[str, str]:
    """The configuration variables of `env` for the report, secrets replaced."""
    shown: dict[str, str] = {}
    for name in sorted(env):
        if name in SECRET_VARIABLES:
            shown[name] = "<generated for this run>"
        elif name in ("DATABASE_URL", "REDIS_URL"):
            shown[name] = redact_url(env[name])
        elif name.startswith(RECORDED_PREFIXES):
            shown[name] = env[name]
    return shown
