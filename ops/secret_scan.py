"""A small secret scan of the tracked files (CI's pre-deploy check): `python -m ops.secret_scan`.

Finds live-looking credentials (Stripe live keys, AWS keys, private keys, Slack/GitHub/Resend/
PostHog tokens, hard-coded SECRET_KEY values). Exits 1 listing file:line for each hit. A line
containing `secret-scan: allow` is skipped (for documented fake values)."""

import re
import subprocess
import sys
from pathlib import Path

PATTERNS = {
    "Stripe live key": re.compile(r"\b(?:sk|rk)_live_[0-9a-zA-Z]{16,}"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "GitHub token": re.compile(r"\bgh[pousr]_[0-9A-Za-z]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[0-9A-Za-z-]{10,}"),
    "Resend key": re.compile(r"\bre_[0-9A-Za-z]{8,}_[0-9A-Za-z]{16,}"),
    "PostHog personal key": re.compile(r"\bphx_[0-9A-Za-z]{30,}"),
    "hard-coded SECRET_KEY": re.compile(
        r"^\s*SECRET_KEY\s*=\s*['\"](?!django-insecure)[^'\"]{20,}['\"]"
    ),
}
SKIP_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".ico", ".woff", ".woff2", ".lock"}
ALLOW = "secret-scan: allow"


def tracked_files(root: Path) -> list[Path]:
    try:
        result = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
            cwd=root,
            capture_output=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return [p for p in root.rglob("*") if p.is_file() and ".venv" not in p.parts]
    return [root / name for name in result.stdout.decode().split("\0") if name]


def scan(paths: list[Path]) -> list[str]:
    hits = []
    for path in paths:
        if path.suffix.lower() in SKIP_SUFFIXES or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if ALLOW in line:
                continue
            for label, pattern in PATTERNS.items():
                if pattern.search(line):
                    hits.append(f"{path}:{number}: {label}")
    return hits


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    hits = scan(tracked_files(root))
    for hit in hits:
        print(hit, file=sys.stderr)
    print(f"secret scan: {len(hits)} finding(s)")
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
