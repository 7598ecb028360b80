"""The example notebook (examples/notebooks/scenarios.ipynb) runs from top to bottom against the
test's demo data, draws its plot, and leaves a verifiable audit log."""

from __future__ import annotations

import subprocess

import nbformat
from nbclient import NotebookClient

from conftest import BINARY, ROOT

NOTEBOOK = ROOT / "examples" / "notebooks" / "scenarios.ipynb"


def test_the_scenarios_notebook_runs(demo_data, tmp_path, monkeypatch):
    audit = tmp_path / "notebook-audit.jsonl"
    monkeypatch.setenv("LIENTHONG_DEMO_DATA", str(demo_data))
    monkeypatch.setenv("LIENTHONG_AUDIT_LOG", str(audit))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()

    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    kinds = {kind for o in outputs for kind in o.get("data", {})}
    assert "image/png" in kinds, "the statistician's plot was not drawn"
    assert "text/html" in kinds, "no result was shown as a table"
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "refused:" in text and "for the public:" in text
    # Scenario 6 found the officer's lookup of the applicant.
    found = [cell for cell in notebook.cells if "literal_digest" in cell.source][0]
    assert "ward-officer" in str(found.outputs[0]["data"]["text/plain"])
    verified = subprocess.run([str(BINARY), "audit", "verify", str(audit)], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
