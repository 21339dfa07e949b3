"""The statistics and report layers never import the LLM layer."""

import subprocess
import sys


def test_stats_and_report_import_no_llm_code():
    code = (
        "import sys\n"
        "import bayeseffect.stats.fit, bayeseffect.stats.estimands, bayeseffect.stats.crosschecks\n"
        "import bayeseffect.report.contents, bayeseffect.report.plots\n"
        "import bayeseffect.report.terminal, bayeseffect.report.json_summary\n"
        "import bayeseffect.report.figures, bayeseffect.report.study, bayeseffect.report.plan\n"
        "import bayeseffect.data.dataset, bayeseffect.stats.simulate\n"
        "bad = [m for m in sys.modules"
        " if m.startswith(('llama_cpp', 'bayeseffect.engines', 'gguf'))]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""
