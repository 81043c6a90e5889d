import sqlite3

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
