"""Replace the committed Bootstrap stylesheet with another release from the npm registry.

    python scripts/vendor_bootstrap.py 5.3.9        (or `make vendor-bootstrap VERSION=5.3.9`)

A maintainer runs this to update Bootstrap; `make run` never does. `npm pack` downloads the
package and checks it against the registry's integrity hash. From the tarball only
`dist/css/bootstrap.min.css` (the one file the templates load) and `LICENSE` are copied into
static/vendor/bootstrap/, with VERSION and SHA256SUMS written next to them; the test in
tests/community/test_setup_files.py then holds the committed files to those sums.

The stylesheet's last line, a `sourceMappingURL` comment, is dropped: the map is not shipped,
and whitenoise's manifest storage refuses a stylesheet that names a missing file.

Standard library only, like the other scripts.
"""

import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "static" / "vendor" / "bootstrap"
CSS = "css/bootstrap.min.css"
VERSION_PATTERN = re.compile(r"\d+\.\d+\.\d+")
SOURCE_MAP_COMMENT = re.compile(rb"\n?/\*# sourceMappingURL=[^*]*\*/\s*\Z")
# Every url() in the stylesheet must be inline data; another file would have to be vendored too.
EXTERNAL_URL = re.compile(rb"""url\(\s*(?!["']?data:)""")


@dataclass(frozen=True)
class Vendored:
    version: str
    upstream_sha256: str
    css_sha256: str
    license_sha256: str


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def strip_source_map(css: bytes) -> bytes:
    """The stylesheet without its trailing `/*# sourceMappingURL=… */` comment."""
    return SOURCE_MAP_COMMENT.sub(b"", css)


def _member(tarball: tarfile.TarFile, name: str) -> bytes:
    handle = tarball.extractfile(f"package/{name}")
    if handle is None:
        raise ValueError(f"package/{name} is not a file in the tarball")
    return handle.read()


def vendor(tarball_path: Path, version: str, dest: Path = DEST) -> Vendored:
    """Copy the stylesheet and licence of an npm tarball of Bootstrap `version` into `dest`."""
    with tarfile.open(tarball_path, "r:gz") as tarball:
        manifest = json.loads(_member(tarball, "package.json"))
        upstream = _member(tarball, f"dist/{CSS}")
        licence = _member(tarball, "LICENSE")
    if manifest.get("name") != "bootstrap" or manifest.get("version") != version:
        raise ValueError(
            f"the tarball holds {manifest.get('name')}@{manifest.get('version')}, "
            f"not bootstrap@{version}"
        )
    css = strip_source_map(upstream)
    if b"sourceMappingURL" in css or EXTERNAL_URL.search(css):
        raise ValueError(f"dist/{CSS} refers to other files; vendor those too, or strip them")

    (dest / "css").mkdir(parents=True, exist_ok=True)
    (dest / CSS).write_bytes(css)
    (dest / "LICENSE").write_bytes(licence)
    (dest / "VERSION").write_text(f"{version}\n", encoding="utf-8")
    vendored = Vendored(version, sha256(upstream), sha256(css), sha256(licence))
    # The format of `sha256sum`, so `sha256sum -c SHA256SUMS` checks the copy by hand too.
    (dest / "SHA256SUMS").write_text(
        f"{vendored.css_sha256}  {CSS}\n{vendored.license_sha256}  LICENSE\n", encoding="utf-8"
    )
    return vendored


def npm_pack(version: str, directory: Path) -> tuple[Path, str]:
    """Download bootstrap@version's tarball into `directory`: its path and npm's integrity."""
    result = subprocess.run(  # noqa: S603 (fixed arguments, the version is validated)
        ["npm", "pack", f"bootstrap@{version}", "--json", "--pack-destination", str(directory)],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    )
    (packed,) = json.loads(result.stdout)
    return directory / packed["filename"], packed["integrity"]


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not VERSION_PATTERN.fullmatch(argv[0]):
        print("usage: python scripts/vendor_bootstrap.py X.Y.Z", file=sys.stderr)
        return 2
    version = argv[0]
    with tempfile.TemporaryDirectory() as directory:
        tarball, integrity = npm_pack(version, Path(directory))
        vendored = vendor(tarball, version)
    print(f"Bootstrap {vendored.version} vendored into {DEST.relative_to(ROOT)}/")
    print(f"  npm tarball integrity:         {integrity}")
    print(f"  sha256 of the package's file:  {vendored.upstream_sha256}")
    print(f"  sha256 of the committed copy:  {vendored.css_sha256}")
    print("Now run `make test` and commit static/vendor/bootstrap/ as a whole.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
