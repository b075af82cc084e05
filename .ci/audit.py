"""Supply-chain checks: bandit over our code, pip-audit over the installed dependencies.

Exit status 1 when bandit reports a finding of medium or high severity that no `# nosec`
comment (with its reason) has accepted, or when pip-audit finds a known vulnerability in an
installed package that `.ci/audit-ignore.txt` does not accept with a reason.

pip-audit asks a vulnerability service (PyPI's JSON API, per package and version) about every
package. Where that service cannot answer (a machine that reaches only a package mirror, as
this project's CI machine does) the packages go unaudited: that is printed loudly with the
count, and is a failure only when DSR_AUDIT_REQUIRED is true (set it where the service is
reachable, so that an outage fails).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Our code; migrations hold DDL written once by us, tests build hostile input on purpose.
BANDIT_TARGETS = ["dsr_kb", "projects", "bench", "manage.py"]
BANDIT_EXCLUDE = "projects/migrations,bench/.venv-datasette,bench/.work"
IGNORE_FILE = ROOT / ".ci" / "audit-ignore.txt"


def bandit() -> bool:
    print("== bandit (medium and high severity)", flush=True)
    # Each `# nosec` in the code was reviewed: identifiers quoted from the models with values
    # bound as parameters (B608), text escaped before it is marked safe (B308, B703), URLs of
    # the benchmark's own local server (B310). Bandit's warnings about them are shown on failure.
    result = subprocess.run(
        [str(BIN / "bandit"), "-r", *BANDIT_TARGETS, "-x", BANDIT_EXCLUDE, "-ll", "-q"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if result.returncode != 0:
        print(result.stdout)
    print("bandit:", "no finding" if result.returncode == 0 else "findings above", flush=True)
    return result.returncode == 0


def accepted_vulnerabilities() -> dict[str, str]:
    """IDs accepted in the ignore file, each line `ID  reason` (a reason is required)."""
    accepted = {}
    if IGNORE_FILE.exists():
        for number, line in enumerate(IGNORE_FILE.read_text().splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            identifier, _, reason = line.partition(" ")
            if not reason.strip():
                sys.exit(f"{IGNORE_FILE.name}:{number}: {identifier} is accepted without a reason")
            accepted[identifier] = reason.strip()
    return accepted


def pip_audit() -> bool:
    print("== pip-audit (installed packages)", flush=True)
    accepted = accepted_vulnerabilities()
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "audit.json"
        command = [str(BIN / "pip-audit"), "--local", "--skip-editable", "--progress-spinner=off"]
        command += ["--format=json", f"--output={report}"]
        for identifier in accepted:
            command += ["--ignore-vuln", identifier]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if not report.exists():
            print(result.stdout, result.stderr, sep="\n")
            print("pip-audit: it did not run (see above)")
            return False
        dependencies = json.loads(report.read_text())["dependencies"]

    vulnerable = [d for d in dependencies if d.get("vulns")]
    # Our own package, installed editable, is bandit's to check.
    dependencies = [d for d in dependencies if "editable" not in d.get("skip_reason", "")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = len(dependencies) - len(skipped)
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            print(
                f"VULNERABLE {dependency['name']} {dependency['version']}: {vuln['id']}"
                f" (fixed in {fixed})"
            )
    for identifier, reason in accepted.items():
        print(f"accepted {identifier}: {reason}")
    print(
        f"pip-audit: {audited} of {len(dependencies)} packages audited,"
        f" {sum(len(d['vulns']) for d in vulnerable)} known vulnerabilities"
    )
    healthy = not vulnerable
    if skipped:
        reasons = sorted({d["skip_reason"].split(":")[0] for d in skipped})
        print(
            f"NOT AUDITED: {len(skipped)} packages — {'; '.join(reasons)}. The vulnerability "
            "service gave no answer about them (a package mirror that serves no vulnerability "
            "data, or no network): nothing is known about their vulnerabilities."
        )
        if os.environ.get("DSR_AUDIT_REQUIRED", "").lower() in {"1", "true", "yes", "on"}:
            print("DSR_AUDIT_REQUIRED is true: unaudited packages fail the check.")
            healthy = False
    return healthy


def main() -> int:
    passed = bandit()
    passed = pip_audit() and passed
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
