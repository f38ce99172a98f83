"""docs/deploy.md's cron line, run as cron runs it: /bin/sh, an empty environment, the command
after the schedule and user fields. Only the guide's site paths are swapped for test values.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from pipeline import schema
from pipeline.store import open_store
from tests.conftest import ROOT, require, write_config

CRON_ENV = {"PATH": "/usr/bin:/bin", "SHELL": "/bin/sh", "HOME": "/nonexistent"}


def documented_cron_command() -> str:
    """The command of the guide's one ```cron line (after five schedule fields and the user)."""
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```cron\n(.*?)```", text, re.S)
    assert len(blocks) == 1, "docs/deploy.md should hold exactly one cron block"
    fields = blocks[0].strip().split(None, 6)
    assert fields[:6] == ["*/15", "*", "*", "*", "*", "policyrisk"], fields[:6]
    return str(fields[6])


def test_the_guides_cron_line_runs_with_the_environment_file(
    tmp_path: Path, seed_dir: Path
) -> None:
    require(shutil.which("flock") is not None, "flock not found (apt-get install util-linux)")
    policy_risk = Path(sys.executable).parent / "policy-risk"
    assert policy_risk.is_file(), "the project is installed in the venv (make install-test)"
    store = tmp_path / "store.db"
    (tmp_path / "etc").mkdir()  # not the working folder, whose config.yaml would be found anyway
    config = write_config(tmp_path / "etc", seeds=[seed_dir], db_name="not-this.db")
    (tmp_path / "env").write_text(
        f"DATABASE_URL=sqlite:///{store}\nPOLICY_RISK_CONFIG={config}\n", encoding="utf-8"
    )
    (tmp_path / "log").mkdir()
    command = documented_cron_command()
    for site, test in {
        "/etc/policy-risk/env": str(tmp_path / "env"),
        "/tmp/policy-risk-run.lock": str(tmp_path / "run.lock"),
        "/opt/policy-risk/.venv/bin/policy-risk": str(policy_risk),
        "/var/log/policy-risk/run.log": str(tmp_path / "log" / "run.log"),
    }.items():
        assert site in command, f"docs/deploy.md's cron line no longer has {site!r}"
        command = command.replace(site, test)

    done = subprocess.run(
        ["/bin/sh", "-c", command], env=CRON_ENV, cwd=tmp_path, timeout=600, check=False
    )
    log = (tmp_path / "log" / "run.log").read_text(encoding="utf-8")
    assert done.returncode == 0, log
    assert str(store) in log  # the environment file's store, not the config's
    assert not (tmp_path / "etc" / "not-this.db").exists()
    engine = open_store(f"sqlite:///{store}", create=False)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(schema.articles)).scalar_one()
    engine.dispose()
    assert count == len(list(seed_dir.iterdir()))

    # flock -n: a cycle that finds the previous one still running exits at once, running nothing.
    lock = str(tmp_path / "run.lock")
    holder = subprocess.Popen(["flock", lock, "sleep", "30"])
    try:
        while not subprocess.run(["flock", "-n", lock, "true"], check=False).returncode:
            time.sleep(0.1)  # until the holder has the lock
        again = subprocess.run(
            ["/bin/sh", "-c", command], env=CRON_ENV, cwd=tmp_path, timeout=60, check=False
        )
    finally:
        holder.kill()
        holder.wait()
    assert again.returncode == 1
    assert (tmp_path / "log" / "run.log").read_text(encoding="utf-8") == log
