"""User-facing errors: one line that says what is wrong and how to fix it."""


class BayesEffectError(Exception):
    """An error caused by input the user can fix; the CLI prints it as one line and exits 2."""


class DiagnosticsFailedError(BayesEffectError):
    """The sampler did not pass the convergence gates even after retrying."""


class UnsupportedOptionsError(BayesEffectError):
    """A backend cannot score a variable's answer options (the run goes on without them)."""
