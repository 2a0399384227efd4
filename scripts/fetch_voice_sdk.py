"""Fetch Twilio's Voice JavaScript SDK from npm into the desk's static files, or check it.

The desk's browser phone loads ``twilio.min.js`` from the project's own static files (no
CDN, no build step). Which release, and the exact bytes, are pinned in ``pinned.json``
beside the files: the npm tarball's integrity (SHA-512, as npm publishes it) and each
file's SHA-256. To move to another release, edit ``version``, ``tarball`` and
``integrity`` from ``npm view @twilio/voice-sdk@VERSION dist``, run this script with
``--update-hashes``, read the SDK's changelog, and run the browser tests.

    python scripts/fetch_voice_sdk.py            # download, verify, write the files
    python scripts/fetch_voice_sdk.py --check    # verify the files in the tree (offline)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

VENDORED = Path(__file__).resolve().parent.parent / "agent_assist/static/vendor/twilio-voice-sdk"
PINNED = "pinned.json"


class Mismatch(Exception):
    """Bytes that are not the pinned ones."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def npm_integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def pinned(folder: Path) -> dict:
    return json.loads((folder / PINNED).read_text(encoding="utf-8"))


def check(folder: Path) -> list[str]:
    """The vendored files that are missing or differ from their pinned SHA-256."""
    wrong = []
    for name, spec in pinned(folder)["files"].items():
        path = folder / name
        if not path.is_file():
            wrong.append(f"{name}: missing")
        elif sha256(path.read_bytes()) != spec["sha256"]:
            wrong.append(f"{name}: SHA-256 {sha256(path.read_bytes())}, pinned {spec['sha256']}")
    return wrong


def fetch(folder: Path, update_hashes: bool = False) -> None:
    pin = pinned(folder)
    with urllib.request.urlopen(pin["tarball"], timeout=60) as answer:
        tarball = answer.read()
    got = npm_integrity(tarball)
    if got != pin["integrity"]:
        raise Mismatch(f"{pin['tarball']}: integrity {got}, pinned {pin['integrity']}")
    files = pin["files"]
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        found = {name: archive.extractfile(spec["from"]).read() for name, spec in files.items()}
    for name, data in found.items():
        if update_hashes:
            pin["files"][name]["sha256"] = sha256(data)
        elif sha256(data) != pin["files"][name]["sha256"]:
            raise Mismatch(f"{name}: SHA-256 {sha256(data)}, pinned {pin['files'][name]['sha256']}")
    for name, data in found.items():
        (folder / name).write_bytes(data)
    if update_hashes:
        (folder / PINNED).write_text(json.dumps(pin, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the vendored files only")
    parser.add_argument("--update-hashes", action="store_true", help="pin the fetched files")
    parser.add_argument("--dir", type=Path, default=VENDORED, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        wrong = check(args.dir)
        for line in wrong:
            print(line, file=sys.stderr)
        if not wrong:
            print(f"{pinned(args.dir)['package']} {pinned(args.dir)['version']}: files as pinned")
        return 1 if wrong else 0
    try:
        fetch(args.dir, args.update_hashes)
    except Mismatch as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    print(f"{pinned(args.dir)['package']} {pinned(args.dir)['version']}: fetched and verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
