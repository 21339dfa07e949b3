"""Reporting: every rendering of results, in the terminal, JSON and figures.

A run's report is two steps. :func:`bayeseffect.report.contents.build_run_report` computes
one :class:`~bayeseffect.report.contents.RunReport` from the fit and the dataset (the only
module here that calls the statistics); each renderer reads only that object:

- :mod:`~bayeseffect.report.terminal` -- ``print_report(report, console=...)``, the rich tables;
- :mod:`~bayeseffect.report.json_summary` -- ``write_summary(report, folder, plots=...)``,
  ``summary.json``;
- :mod:`~bayeseffect.report.figures` -- ``draw_figures(report, folder)``, the PNG figures
  (drawn by :mod:`~bayeseffect.report.plots`, the ArviZ layer).

An HTML page would be one more module of the same shape (``write_html(report, folder)``).
:mod:`~bayeseffect.report.study` renders a ``--variable all`` study and
:mod:`~bayeseffect.report.plan` a study plan.
"""
