import sqlite3
import subprocess
import sys

from catalog.govlog import GovernanceLog


def test_history_and_chain_verification(tmp_path):
    log = GovernanceLog(tmp_path / "gov.sqlite3")
    log.record("alice", "dataset:a:b", "add_tag", {"tag": "pii"})
    log.record("bob", "dataset:a:b", "set_description", {"description": "x"})
    log.record("bob", "dataset:a:c", "add_tag", {"tag": "t"})
    assert [c["action"] for c in log.history("dataset:a:b")] == ["set_description", "add_tag"]
    assert log.verify() == (True, None)
    log.close()

    raw = sqlite3.connect(tmp_path / "gov.sqlite3")
    raw.execute("UPDATE changes SET actor = 'mallory' WHERE seq = 2")
    raw.commit()
    assert GovernanceLog(tmp_path / "gov.sqlite3").verify() == (False, 2)
    raw.execute("UPDATE changes SET actor = 'bob' WHERE seq = 2")
    raw.execute("DELETE FROM changes WHERE seq = 1")
    raw.commit()
    assert GovernanceLog(tmp_path / "gov.sqlite3").verify()[0] is False


def _verify(data_dir, *extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "catalog.cli", "log", "verify", "--data-dir", str(data_dir),
                           *extra], capture_output=True, text=True, timeout=60)


def test_cli_verify_detects_edits_deletions_and_a_cut_tail(tmp_path):
    log = GovernanceLog(tmp_path / "governance.sqlite3")
    for i in range(4):
        log.record("alice", f"dataset:a:{i}", "add_tag", {"tag": "pii"})
    log.close()
    ok = _verify(tmp_path)
    assert ok.returncode == 0 and "intact: 4 entries" in ok.stdout
    head = ok.stdout.split("head ")[1].strip()

    raw = sqlite3.connect(tmp_path / "governance.sqlite3")
    raw.execute("DELETE FROM changes WHERE seq = 4")  # the tail: the chain alone still holds
    raw.commit()
    assert _verify(tmp_path).returncode == 0
    cut = _verify(tmp_path, "--expect-head", head)
    assert cut.returncode == 1 and "entry 4 is missing" in cut.stderr

    raw.execute("UPDATE changes SET detail = '{\"tag\":\"public\"}' WHERE seq = 2")
    raw.commit()
    edited = _verify(tmp_path)
    assert edited.returncode == 1 and "BROKEN at entry 2" in edited.stderr
    assert "no governance log" in _verify(tmp_path / "nowhere").stderr
