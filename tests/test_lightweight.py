"""Fixed costs of the CLI: what importing policyopt loads, and the result before the artifacts."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from policyopt.experiments import RunSpec, train_run

HEAVY = ("jax", "jaxlib", "flax", "optax", "gymnasium", "gymnax", "envpool", "matplotlib",
         "tensorboardX", "ray", "torch", "stable_baselines3", "scipy")  # fmt: skip


def _loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    mods = json.loads(out.stdout.strip().splitlines()[-1])
    return sorted({m.split(".")[0] for m in mods} & set(HEAVY))


def test_import_policyopt_and_the_cli_load_no_heavy_module() -> None:
    assert _loaded_after("import policyopt") == []
    assert _loaded_after("import policyopt.cli") == []
    assert _loaded_after("import policyopt; policyopt.__version__; policyopt.ConfigError") == []


def test_cli_help_loads_no_numpy() -> None:
    """``policyopt --help`` renders from typer and rich alone: NumPy (~0.15-0.2 s of import
    here) came in through ``policyopt.faults``' exception classes until it was deferred."""
    probe = (
        "import sys\nfrom policyopt.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('numpy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_the_public_api_still_resolves_lazily() -> None:
    import policyopt

    assert policyopt.Agent.__name__ == "Agent" and callable(policyopt.make_train)
    assert set(policyopt.__all__) <= set(dir(policyopt))


def test_choosing_the_level_does_not_import_gymnax() -> None:
    code = (
        "from policyopt.experiments.training import RunSpec\n"
        "assert RunSpec('ppo', 'CartPole-v1').resolved_level() == 'compiled'\n"
        "assert RunSpec('ppo', 'LunarLander-v3').resolved_level() == 'host'"
    )
    assert "gymnax" not in _loaded_after(code)


def test_a_gymnasium_backend_for_a_gymnasium_id_does_not_import_envpool() -> None:
    """The Agent a compiled CLI run exports through (``vectorization="sync"``) and few-env
    "auto" runs need no EnvPool; its import (with SciPy) was half a second of every run."""
    code = (
        "from policyopt.envs.host_env import resolve_backend\n"
        "assert resolve_backend('CartPole-v1', 'sync') == 'sync'\n"
        "assert resolve_backend('CartPole-v1', 'auto', num_envs=4) == 'sync'"
    )
    assert "envpool" not in _loaded_after(code)


def test_gymnax_ids_read_without_import_equal_gymnax_own_list() -> None:
    import gymnax

    from policyopt.env_ids import _builtin_ids

    assert _builtin_ids() == frozenset(gymnax.registered_envs)


def test_the_result_is_on_disk_and_reported_before_the_artifacts(tmp_path: Path) -> None:
    seen = {}

    def on_result(summary: dict) -> None:
        seen["summary"] = summary
        seen["files"] = sorted(p.name for p in (tmp_path / "r").iterdir())

    small = {"num_envs": 2, "num_steps": 64, "batch_size": 64, "n_epochs": 1}
    spec = RunSpec("ppo", "CartPole-v1", steps=256, use_preset=False, overrides=small)
    summary = train_run(spec, tmp_path / "r", on_result=on_result)
    assert seen["summary"] == summary
    assert {"summary.json", "metrics.csv", "config.json"} <= set(seen["files"])
    assert "tb" not in seen["files"] and "return.png" not in seen["files"]
    after = {p.name for p in (tmp_path / "r").iterdir()}
    assert {"tb", "return.png", "checkpoints"} <= after


_SEABORN = (
    "import importlib.util, sys\n"
    "from policyopt.imports import import_gymnax\n"
    "import_gymnax()\n"
    "assert importlib.util.find_spec('seaborn').name == 'seaborn'\n"
    "assert type(sys.modules['seaborn']).__name__ == '_Deferred'\n"
    "import seaborn\n"
    "assert len(seaborn.color_palette('cubehelix', 3)) == 3\n"
    "assert type(sys.modules['seaborn']).__name__ == 'module'"
)
# pyplot, which user code may import afterwards in any spelling
_PYPLOT = (
    "import sys\n"
    "from policyopt.imports import import_gymnax\n"
    "import_gymnax()\n"
    "assert type(sys.modules['matplotlib.pyplot']).__name__ == '_Deferred'\n"
    "import matplotlib.pyplot\n"
    "import matplotlib.pyplot as plt\n"
    "from matplotlib import pyplot\n"
    "fig = matplotlib.pyplot.figure(); plt.close(fig); pyplot.close('all')\n"
    "assert type(sys.modules['matplotlib.pyplot']).__name__ == 'module'\n"
    "assert sys.modules['matplotlib'].pyplot is sys.modules['matplotlib.pyplot']"
)

# matplotlib itself, first used through a submodule gymnax deferred (a package whose
# submodule loads before it would import it half-initialised)
_COLORS = (
    "import sys\n"
    "from policyopt.imports import import_gymnax\n"
    "import_gymnax()\n"
    "assert type(sys.modules['matplotlib']).__name__ == '_Deferred'\n"
    "from matplotlib import colors\n"
    "assert colors.to_rgb('red') == (1.0, 0.0, 0.0)\n"
    "import matplotlib\n"
    "assert type(sys.modules['matplotlib']).__name__ == 'module'\n"
    "assert matplotlib.colors is sys.modules['matplotlib.colors']\n"
    "import seaborn\n"
    "assert len(seaborn.color_palette('cubehelix', 3)) == 3"
)


@pytest.mark.parametrize(
    ("code", "first_use"),
    [
        (_SEABORN, "import seaborn\n"),
        (_PYPLOT, "import matplotlib.pyplot\n"),
        (_COLORS, "from matplotlib import colors\n"),
    ],
)
def test_gymnax_rendering_imports_are_deferred_and_load_on_use(code: str, first_use: str) -> None:
    """What gymnax imports only to render (seaborn, pyplot) is a stand-in until first used:
    nothing of scipy or matplotlib is loaded before, and the real module works and replaces
    it after."""
    before = code.split(first_use)[0] + "assert 'matplotlib.figure' not in sys.modules\n"
    assert "scipy" not in _loaded_after(before)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_metrics_without_the_guard_flag_nothing() -> None:
    from policyopt.faults import good_updates, raise_if_nonfinite

    raise_if_nonfinite({}, "raise")
    assert good_updates({"time/total_timesteps": [[1, 2]]}, "raise").shape[0] == 1


def test_the_tabular_figure_needs_no_mathtext(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first mathtext label of a process builds matplotlib's TeX parser (~0.3 s of a 2 s
    ``policyopt tabular``): its log axis and label are plain text, and still say 10⁻³."""
    import matplotlib.mathtext
    import numpy as np

    from policyopt.plots import _decade, plot_tabular
    from policyopt.tabular.run import History

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("mathtext was parsed")

    monkeypatch.setattr(matplotlib.mathtext.MathTextParser, "parse", refuse)
    f = np.logspace(0, -12, 50)
    z = np.zeros(50)
    h = History("trpo", "chain", f=f, f_star=0.0, kl=z, step_size=z, backtracks=z, accepted=z)
    paths = plot_tabular([h], tmp_path / "fig")
    assert [p.suffix for p in paths] == [".png", ".svg"]
    labels = [_decade(y) for y in (1e-12, 1e-3, 1.0, 100.0, 3e-3, 5e-9, 0.0)]
    assert labels == ["10⁻¹²", "10⁻³", "1", "10²", "", "", ""]
