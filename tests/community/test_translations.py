"""The German and English catalogues are complete, compiled and in step with the source."""

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ["de", "en"]
SOURCES = ["community", "customer_data", "profiles", "templates", "manage.py"]


def read_po(path: Path) -> dict[str, list[str]]:
    """msgid -> msgstr forms (one, or one per plural form); fuzzy entries are reported."""
    entries: dict[str, list[str]] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = block.splitlines()
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        fields: dict[str, str] = {}
        key = None
        for line in lines:
            if line.startswith("#"):
                continue
            match = re.match(r"^(msgid_plural|msgid|msgstr(?:\[\d\])?) (\".*\")$", line)
            if match:
                key = match.group(1)
                fields[key] = ""
                line = match.group(2)
            fields[key] += line[1:-1].encode().decode("unicode_escape").encode("latin-1").decode()
        if fields.get("msgid"):
            assert not fuzzy, f"fuzzy entry: {fields['msgid']}"
            entries[fields["msgid"]] = [
                v for k, v in sorted(fields.items()) if k.startswith("msgstr")
            ]
    return entries


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated(language):
    entries = read_po(ROOT / "locale" / language / "LC_MESSAGES" / "django.po")
    assert len(entries) > 100
    missing = [msgid for msgid, forms in entries.items() if not all(forms)]
    assert missing == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_the_source_catalogue(language):
    folder = ROOT / "locale" / language / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for msgid, forms in read_po(folder / "django.po").items():
        if len(forms) == 1:
            assert compiled.gettext(msgid) == forms[0], msgid


def test_catalogues_hold_every_string_of_the_source(tmp_path):
    """Extract the strings afresh from a copy of the source and compare with the catalogues."""
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    (tmp_path / "locale" / "en").mkdir(parents=True)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "en", "--no-location"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env={
            "PATH": "/usr/bin:/bin",
            "COMMUNITY_SKIP_DOTENV": "1",
            "FIELD_ENCRYPTION_KEYS": "x" * 43 + "=",
            "BLIND_INDEX_KEY": "k" * 32,
            "DJANGO_SECRET_KEY": "s" * 50,
            "PYTHONPATH": str(tmp_path),
        },
    )
    fresh = set(read_po(tmp_path / "locale" / "en" / "LC_MESSAGES" / "django.po"))
    for language in LANGUAGES:
        committed = set(read_po(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))
        assert sorted(fresh - committed) == [], f"{language}: run `make messages` and translate"


@pytest.mark.django_db
def test_english_interface_after_choosing_english():
    user = UserFactory()
    client = Client()
    client.force_login(user, backend="community.backends.CommunityBackend")
    assert "Meine Einstellungen" in client.get("/settings/profile/").text
    client.post(
        "/settings/preferences/",
        {"language": "en", "time_zone": "Europe/Berlin", "show_rank": "on"},
    )
    text = client.get("/settings/profile/").text
    assert "My settings" in text
    assert "Customer data for customer service" in text
    assert "Save" in text
