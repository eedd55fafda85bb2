"""Write a local `.env` with freshly generated secrets, unless one exists already.

Standard library only: it runs before the virtualenv has anything installed.
"""

import base64
import secrets
import sys
from pathlib import Path


def fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def main() -> int:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".env")
    if target.exists():
        print(f"{target} exists, left as it is.")
        return 0
    target.write_text(
        "# Written by `make setup` for local development. Keep it out of version control.\n"
        "DJANGO_DEBUG=true\n"
        f"DJANGO_SECRET_KEY={secrets.token_urlsafe(50)}\n"
        "DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1\n"
        f"FIELD_ENCRYPTION_KEYS={fernet_key()}\n"
        f"BLIND_INDEX_KEY={secrets.token_urlsafe(32)}\n",
        encoding="utf-8",
    )
    target.chmod(0o600)
    print(f"{target} written with fresh secrets and keys.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
