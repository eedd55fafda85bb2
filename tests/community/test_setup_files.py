"""What `make run` needs and where dependencies are declared (README, "Dependencies").

Bootstrap's stylesheet is committed under static/vendor/bootstrap/, so the site runs without npm
(npm only brings axe-core for the browser tests). pyproject.toml declares the Python
dependencies; requirements/*.txt pin them with hashes. No database, no network.
"""

import gzip
import hashlib
import importlib.util
import io
import json
import os
import re
import subprocess
import tarfile
import tomllib
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.finders import FileSystemFinder
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from whitenoise.storage import CompressedManifestStaticFilesStorage

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "static" / "vendor" / "bootstrap"
STYLESHEET = "vendor/bootstrap/css/bootstrap.min.css"  # the URL the templates load
REQUIREMENTS = ROOT / "requirements"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def load_vendor_script():
    spec = importlib.util.spec_from_file_location(
        "vendor_bootstrap", ROOT / "scripts" / "vendor_bootstrap.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dry_run(target: str, pytest_args: str = "") -> str:
    """What `make -n -B TARGET` would run: every recipe on the way, none executed.

    PYTEST_ARGS is given on the command line, so one from an outer `make test` (which make
    exports to its recipes) does not change what this sees.
    """
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", target, f"PYTEST_ARGS={pytest_args}"],  # noqa: S607
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


# --- The vendored stylesheet -------------------------------------------------------------------


def test_the_vendored_files_match_their_recorded_sha256():
    """An edit by accident (or an editor adding a newline) shows here; `make vendor-bootstrap`
    writes SHA256SUMS together with the files."""
    sums = (VENDOR / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    recorded = dict(reversed(line.split("  ", 1)) for line in sums)
    assert set(recorded) == {"css/bootstrap.min.css", "LICENSE"}
    for name, digest in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_the_vendor_folder_holds_the_stylesheet_and_its_licence_only():
    """No map, no JavaScript, no dist/ tree: collectstatic copies what the site serves."""
    files = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    assert files == {"css/bootstrap.min.css", "LICENSE", "VERSION", "SHA256SUMS"}
    licence = (VENDOR / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("The MIT License (MIT)")
    assert "The Bootstrap Authors" in licence


def test_the_stylesheet_is_the_recorded_version_and_names_no_other_file():
    css = (VENDOR / "css" / "bootstrap.min.css").read_text(encoding="utf-8")
    version = (VENDOR / "VERSION").read_text(encoding="utf-8").strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert f"Bootstrap  v{version} " in css[:200]
    # whitenoise's manifest storage fails on a referenced file that is missing.
    assert "sourceMappingURL" not in css
    assert re.findall(r"url\(\s*(?![\"']?data:)", css) == []


def test_the_templates_stylesheet_is_found_in_the_project_static_folder():
    assert finders.find(STYLESHEET) == str(VENDOR / "css" / "bootstrap.min.css")
    assert settings.STATICFILES_DIRS == [settings.BASE_DIR / "static"]
    assert not any("node_modules" in str(entry) for entry in settings.STATICFILES_DIRS)


def test_the_production_storage_processes_the_project_static_files(tmp_path):
    """What collectstatic does with static/ (the admin's files aside), into a temporary folder."""
    storage = CompressedManifestStaticFilesStorage(location=tmp_path, base_url="/static/")
    found = {}
    for path, source in FileSystemFinder().list(["CVS", ".*", "*~"]):
        with source.open(path) as handle:
            storage.save(path, handle)
        found[path] = (storage, path)

    results = [(name, result) for name, _, result in storage.post_process(found)]
    assert [(name, r) for name, r in results if isinstance(r, Exception)] == []
    hashed = storage.stored_name(STYLESHEET)
    assert re.fullmatch(r"vendor/bootstrap/css/bootstrap\.min\.[0-9a-f]{12}\.css", hashed)
    assert (tmp_path / f"{hashed}.gz").exists()


# --- make run without npm ----------------------------------------------------------------------


def test_make_run_and_setup_do_not_use_npm():
    assert "npm" not in dry_run("run")
    assert "npm" not in dry_run("test", pytest_args="-m 'not browser'")


def test_the_browser_tests_install_axe_core_with_npm():
    """The check above would pass for a Makefile that never mentions npm at all."""
    assert "npm ci" in dry_run("test-browser")
    assert "npm ci" in dry_run("test")


def test_npm_holds_only_the_browser_tests_axe_core():
    package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    assert package.get("dependencies", {}) == {}
    assert set(package["devDependencies"]) == {"axe-core"}
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert set(lock["packages"]) == {"", "node_modules/axe-core"}
    assert lock["packages"][""]["devDependencies"] == package["devDependencies"]


# --- The vendoring script (a made-up tarball, no network) ---------------------------------------


def fake_tarball(path: Path, *, version: str, css: bytes) -> Path:
    members = {
        "package/package.json": json.dumps({"name": "bootstrap", "version": version}).encode(),
        "package/dist/css/bootstrap.min.css": css,
        "package/LICENSE": b"The MIT License (MIT)\n",
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tarball:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tarball.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(buffer.getvalue()))
    return path


def test_vendoring_drops_the_source_map_comment_and_records_the_sums(tmp_path):
    script = load_vendor_script()
    upstream = (
        b"/*! Bootstrap  v9.8.7 */a{color:red}\n/*# sourceMappingURL=bootstrap.min.css.map */"
    )
    tarball = fake_tarball(tmp_path / "bootstrap.tgz", version="9.8.7", css=upstream)
    dest = tmp_path / "vendor"

    vendored = script.vendor(tarball, "9.8.7", dest)

    assert (
        dest / "css" / "bootstrap.min.css"
    ).read_bytes() == b"/*! Bootstrap  v9.8.7 */a{color:red}"
    assert (dest / "VERSION").read_text() == "9.8.7\n"
    assert vendored.upstream_sha256 == hashlib.sha256(upstream).hexdigest()
    assert (dest / "SHA256SUMS").read_text().splitlines() == [
        f"{vendored.css_sha256}  css/bootstrap.min.css",
        f"{vendored.license_sha256}  LICENSE",
    ]


@pytest.mark.parametrize(
    ("version", "css", "message"),
    [
        ("9.8.6", b"a{color:red}", "not bootstrap@9.8.6"),
        ("9.8.7", b"a{background:url(img/x.png)}", "refers to other files"),
    ],
    ids=["another-version", "an-image-beside-it"],
)
def test_vendoring_refuses_another_version_or_a_stylesheet_with_other_files(
    tmp_path, version, css, message
):
    script = load_vendor_script()
    tarball = fake_tarball(tmp_path / "bootstrap.tgz", version="9.8.7", css=css)
    with pytest.raises(ValueError, match=message):
        script.vendor(tarball, version, tmp_path / "vendor")
    assert not (tmp_path / "vendor").exists()


def test_the_committed_stylesheet_is_what_the_script_writes():
    """Stripping again changes nothing: the copy has no source-map comment left to drop."""
    css = (VENDOR / "css" / "bootstrap.min.css").read_bytes()
    assert load_vendor_script().strip_source_map(css) == css


# --- Python dependencies: pyproject.toml declares, requirements/*.txt pin ------------------------


def parse_lock(path: Path) -> dict[str, dict]:
    """`name: {"version", "hashes", "via"}` for each `name==version` in a uv-compiled file."""
    entries: dict[str, dict] = {}
    current: dict | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if pinned := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line):
            current = {"version": pinned[2], "hashes": [], "via": []}
            entries[canonicalize_name(pinned[1])] = current
        elif current is not None and (digest := re.search(r"--hash=(sha256:[0-9a-f]{64})", line)):
            current["hashes"].append(digest[1])
        elif current is not None and (via := re.match(r"^\s+# (?:via )?\s*(\S.*)$", line)):
            current["via"].extend([] if via[1] == "via" else [via[1]])
    return entries


def top_level(lock: dict[str, dict], source: str) -> set[str]:
    return {name for name, entry in lock.items() if source in entry["via"]}


def test_runtime_dependencies_are_declared_in_pyproject_and_pinned_with_hashes():
    declared = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    base = parse_lock(REQUIREMENTS / "base.txt")

    assert {canonicalize_name(r.name) for r in declared} == top_level(
        base, "community (pyproject.toml)"
    )
    for requirement in declared:
        entry = base[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(entry["version"]), requirement
    assert all(entry["hashes"] for entry in base.values())


def test_the_dev_lock_adds_the_dev_group_to_the_runtime_pins_unchanged():
    dev_group = {
        canonicalize_name(Requirement(r).name) for r in PYPROJECT["dependency-groups"]["dev"]
    }
    base = parse_lock(REQUIREMENTS / "base.txt")
    dev = parse_lock(REQUIREMENTS / "dev.txt")

    assert top_level(dev, "community (pyproject.toml:dev)") == dev_group
    for name, entry in base.items():
        assert dev[name]["version"] == entry["version"], name
        assert dev[name]["hashes"] == entry["hashes"], name
    assert all(entry["hashes"] for entry in dev.values())


def test_there_is_one_source_of_truth_and_pip_is_pinned():
    assert list(REQUIREMENTS.glob("*.in")) == []
    pip = parse_lock(REQUIREMENTS / "pip.txt")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    version = re.search(r"^PIP_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert version is not None
    assert set(pip) == {"pip"}
    assert pip["pip"]["version"] == version[1]
    assert pip["pip"]["hashes"]
    setup = dry_run("setup")
    assert "pip install --quiet --require-hashes -r requirements/pip.txt" in setup
    assert "--upgrade pip" not in setup
