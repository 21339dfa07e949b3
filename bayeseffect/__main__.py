"""``python -m bayeseffect``: the same as the ``bayeseffect`` command."""

from bayeseffect.cli import main

main()
