"""User-facing errors: one line that says what is wrong and how to fix it."""


class BayesEffectError(Exception):
    """An error caused by input the user can fix; the CLI prints it as one line and exits 2."""


class EngineCrashedError(BayesEffectError):
    """The native engine's process died (a signal or an unexpected exit); the CLI exits 4.

    Parameters
    ----------
    message
        The one-line explanation.
    signal_name
        ``SIGSEGV``, ``SIGABRT``, ... or ``exit code N``.
    """

    def __init__(self, message: str, *, signal_name: str) -> None:
        super().__init__(message)
        self.signal_name = signal_name


class UnsupportedOptionsError(BayesEffectError):
    """A backend cannot score a variable's answer options (the run goes on without them)."""
