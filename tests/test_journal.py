from bayeseffect.journal import JournalWriter, ResponseRecord, read_journal


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
