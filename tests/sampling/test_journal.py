import json
from dataclasses import asdict
from pathlib import Path

import pytest

from bayeseffect.errors import BayesEffectError
from bayeseffect.sampling.journal import JournalWriter, ResponseRecord, read_journal, scan_journal


def _record(prompt_id: str, replicate: int = 0, text: str = "Yes") -> ResponseRecord:
    return ResponseRecord(arm="base", prompt_id=prompt_id, replicate=replicate, seed=1,
                          text=text, n_prompt_tokens=3, n_completion_tokens=1,
                          finish_reason="stop", rendered_prompt_sha256="x", seconds=0.1)


def test_round_trip_with_unicode(tmp_path):
    path = tmp_path / "j.jsonl"
    with JournalWriter(path) as journal:
        journal.append(_record("p1", text="Oui \u2014 \u00e9\n\"quoted\""))
    assert read_journal(path)[("base", "p1", 0)].text == "Oui \u2014 \u00e9\n\"quoted\""


def test_torn_last_line_is_ignored_then_cut_before_appending(tmp_path):
    path = tmp_path / "j.jsonl"
    with JournalWriter(path) as journal:
        journal.append(_record("p1"))
    with path.open("ab") as handle:
        handle.write(b'{"arm": "base", "prompt_id": "p2", "repl')
    assert list(read_journal(path)) == [("base", "p1", 0)]
    with JournalWriter(path) as journal:
        journal.append(_record("p3"))
    assert set(read_journal(path)) == {("base", "p1", 0), ("base", "p3", 0)}


def test_duplicate_keys_keep_first_record(tmp_path):
    path = tmp_path / "j.jsonl"
    with JournalWriter(path) as journal:
        journal.append(_record("p1", text="first"))
        journal.append(_record("p1", text="second"))
    assert read_journal(path)[("base", "p1", 0)].text == "first"


def test_missing_journal_reads_empty(tmp_path):
    assert read_journal(tmp_path / "none.jsonl") == {}


def test_complete_bad_lines_are_skipped_and_reported_never_fatal(tmp_path):
    path = tmp_path / "j.jsonl"
    with JournalWriter(path) as journal:
        journal.append(_record("p1"))
    good = path.read_bytes()
    missing_field = b'{"arm": "base", "prompt_id": "p9", "replicate": 0}\n'
    wrong_type = good.replace(b'"replicate": 0', b'"replicate": "0"').replace(b"p1", b"p8")
    with path.open("ab") as handle:
        handle.write(b"\n")                          # 2: blank
        handle.write(b"{not json\n")                  # 3: invalid JSON
        handle.write(missing_field)                   # 4
        handle.write(b"\xff\xfe\n")                   # 5: not UTF-8
        handle.write(wrong_type)                      # 6
        handle.write(b"[1, 2]\n")                     # 7: JSON, not a record
    with JournalWriter(path) as journal:  # appending after bad lines works
        journal.append(_record("p2"))
    with path.open("ab") as handle:
        handle.write(b'{"arm": "base", "prompt_id": "p3"')  # torn: not a bad line
    scan = scan_journal(path)
    assert set(scan.records) == {("base", "p1", 0), ("base", "p2", 0)}
    assert scan.bad_lines == (2, 3, 4, 5, 6, 7)
    message = scan.describe_bad_lines(path)
    assert "skipped 6 unreadable lines (lines 2, 3, 4, 5, 6, 7)" in message
    assert str(path) in message and "\n" not in message
    assert set(read_journal(path)) == set(scan.records)
    with JournalWriter(path):
        pass
    assert path.read_bytes().endswith(_line("p2"))  # the torn tail is cut, bad lines kept
    assert scan_journal(path).bad_lines == (2, 3, 4, 5, 6, 7)


def test_a_clean_journal_reports_nothing(tmp_path):
    path = tmp_path / "j.jsonl"
    with JournalWriter(path) as journal:
        journal.append(_record("p1"))
    assert scan_journal(path).bad_lines == ()
    assert scan_journal(path).describe_bad_lines(path) == ""


def test_a_torn_tail_longer_than_one_read_is_cut(tmp_path):
    path = tmp_path / "j.jsonl"
    with JournalWriter(path) as journal:
        journal.append(_record("p1"))
    with path.open("ab") as handle:
        handle.write(b'{"arm": "base", "text": "' + b"y" * 200_000)
    with JournalWriter(path):
        pass
    assert path.read_bytes() == _line("p1")


def test_a_full_disk_is_one_line_naming_the_journal(tmp_path):
    # /dev/full is a real device whose every write fails with ENOSPC.
    with pytest.raises(BayesEffectError) as caught, JournalWriter(Path("/dev/full")) as journal:
        journal.append(_record("p1"))
    message = str(caught.value)
    assert message == ("no space left on device writing /dev/full: free space and run the "
                       "same command to resume")


def _line(prompt_id: str) -> bytes:
    record = _record(prompt_id)
    return (json.dumps(asdict(record), ensure_ascii=False, sort_keys=True) + "\n").encode()
