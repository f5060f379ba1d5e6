"""docs/quickstart.ipynb runs clean with a kernel from this environment, so it never rots."""

from __future__ import annotations

import json
import sys

import nbformat
import pytest

from .conftest import ROOT

NOTEBOOK = ROOT / "docs" / "quickstart.ipynb"


def test_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.slow
def test_quickstart_runs_clean(tmp_path):
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    # a kernel spec of this very interpreter, not whatever "python3" means on the machine
    spec = tmp_path / "kernels" / "cm-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "cm-test", "language": "python"}))
    ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    km = KernelManager(kernel_name="cm-test", kernel_spec_manager=ksm)
    client = NotebookClient(nb, km=km, timeout=120, kernel_name="cm-test",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert errors == []
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
             if o.output_type == "execute_result" and "text/html" in o.get("data", {})]
    assert any("conflictmapInit" in o["data"]["text/html"] for o in shown)  # the map, inline
    figures = [o for c in nb.cells if c.cell_type == "code" and "cm.plot(" in c.source
               for o in c.outputs if "image/png" in o.get("data", {})]
    assert figures, "the figure is shown inline, as a picture"
