import pytest
from conftest import FakeFactory

from bayeseffect.sampling.journal import read_journal
from bayeseffect.sampling.loop import response_seed, sample_responses
from bayeseffect.variables.logic.prompts import generate_logic

ARMS = ("base", "instruct")


def _sample(tmp_path, factory, *, n=5, replicates=3):
    return sample_responses(generate_logic(n, seed=0), arms=ARMS, replicates=replicates,
                            seed=42, open_generator=factory, journal_path=tmp_path / "j.jsonl")


def test_every_cell_sampled_once_with_its_own_seed(tmp_path):
    summary = _sample(tmp_path, FakeFactory())
    records = read_journal(tmp_path / "j.jsonl")
    assert summary.generated == summary.total == 2 * 5 * 3 == len(records)
    for (arm, prompt_id, replicate), record in records.items():
        assert record.seed == response_seed(42, arm, prompt_id, replicate)
    assert len({r.seed for r in records.values()}) == len(records)


def test_interrupted_run_resumes_without_loss_or_duplicates(tmp_path):
    uninterrupted = tmp_path / "full"
    uninterrupted.mkdir()
    _sample(uninterrupted, FakeFactory())
    with pytest.raises(KeyboardInterrupt):
        _sample(tmp_path, FakeFactory(fail_after=7))
    assert len(read_journal(tmp_path / "j.jsonl")) == 7
    factory = FakeFactory()
    summary = _sample(tmp_path, factory)
    assert (summary.already_done, summary.generated) == (7, 23)
    lines = (tmp_path / "j.jsonl").read_text().splitlines()
    assert len(lines) == 30
    resumed = read_journal(tmp_path / "j.jsonl")
    full = read_journal(uninterrupted / "j.jsonl")
    assert {k: r.text for k, r in resumed.items()} == {k: r.text for k, r in full.items()}


def test_finished_arm_is_not_loaded_again(tmp_path):
    _sample(tmp_path, FakeFactory())
    factory = FakeFactory()
    summary = _sample(tmp_path, factory)
    assert summary.generated == 0
    assert factory.opened == []


def test_generators_are_closed_even_on_interrupt(tmp_path):
    factory = FakeFactory(fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        _sample(tmp_path, factory)
    assert all(g.closed for g in factory.opened)


def test_seed_depends_only_on_cell():
    assert response_seed(1, "base", "p", 0) == response_seed(1, "base", "p", 0)
    assert response_seed(1, "base", "p", 0) != response_seed(1, "instruct", "p", 0)
    assert response_seed(1, "base", "p", 0) != response_seed(2, "base", "p", 0)
    assert 0 <= response_seed(9, "base", "p", 3) < 2**31


def test_after_arm_sees_each_arms_generator_before_it_is_closed(tmp_path):
    seen = []

    def after(arm, generator):
        seen.append((arm, generator is not None and not generator.closed))

    factory = FakeFactory()
    sample_responses(generate_logic(3, seed=0), arms=ARMS, replicates=2, seed=42,
                     open_generator=factory, journal_path=tmp_path / "j.jsonl",
                     after_arm=after)
    assert seen == [("base", True), ("instruct", True)]
    assert all(g.closed for g in factory.opened) and len(factory.opened) == 2
    # On a finished run nothing is loaded, and the hook hears so.
    seen.clear()
    sample_responses(generate_logic(3, seed=0), arms=ARMS, replicates=2, seed=42,
                     open_generator=FakeFactory(), journal_path=tmp_path / "j.jsonl",
                     after_arm=after)
    assert seen == [("base", False), ("instruct", False)]
