"""The real `bayeseffect` command line with the fake generator in place of llama.cpp.

For tests that need a real second process (locks, kill -9, Ctrl-C, a file size limit):
``python tests/fake_cli.py sample --variable logic --base A --instruct B --out RUN ...``.
Everything but the generator is the real thing: option parsing, validation, run
directory, journal, dataset, error lines and exit codes.

``BAYESEFFECT_FAKE_DELAY`` (seconds per response) leaves time for a test to act mid-run;
with ``BAYESEFFECT_FAKE_GATE=PATH`` every response after the first
``BAYESEFFECT_FAKE_FREE`` (default 2) waits until PATH exists, so a test decides when the
run goes on, whatever the machine's load.
"""

import functools
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from conftest import FakeFactory, FakeGenerator

from bayeseffect.cli import main
from bayeseffect.workflow import sample as pipeline


class _GatedFactory(FakeFactory):
    """Opens fake generators that stop at the gate after the first free responses."""

    def __init__(self, *, delay: float, gate: Path | None, free: int) -> None:
        super().__init__(delay=delay)
        self.gate, self.free, self.generated = gate, free, 0

    def __call__(self, arm, resolved=None, params=None) -> FakeGenerator:
        generator = super().__call__(arm, resolved, params)
        generate = generator.generate

        def gated(question, *, seed):
            self.generated += 1
            while self.gate is not None and self.generated > self.free and not self.gate.exists():
                time.sleep(0.02)
            return generate(question, seed=seed)

        generator.generate = gated
        return generator


if __name__ == "__main__":
    gate = os.environ.get("BAYESEFFECT_FAKE_GATE")
    factory = _GatedFactory(delay=float(os.environ.get("BAYESEFFECT_FAKE_DELAY", "0")),
                            gate=Path(gate) if gate else None,
                            free=int(os.environ.get("BAYESEFFECT_FAKE_FREE", "2")))
    # The CLI imports sample_run from the pipeline when it runs, so it gets this one.
    pipeline.sample_run = functools.partial(pipeline.sample_run, open_generator=factory)
    main(sys.argv[1:], prog_name="bayeseffect")
