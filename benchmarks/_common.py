"""What every benchmark shares: where the data and results are, timing, the results file.

The real data sets stay in ``../shared/data`` beside the checkout (each folder's
SOURCE.md says where it comes from); nothing is copied into the repository. The
benchmarks import this module by its name, from their own folder (``python
benchmarks/<script>.py`` puts that folder first on ``sys.path``).
"""

import ast
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import sklearn
import torch

import sklearn_deepfm
from sklearn_deepfm.nn import reuse_freed_memory

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
FRAPPE = DATA / "frappe" / "frappe.train.libfm"
FRAPPE_202K = DATA / "frappe_202k" / "frappe.train202k.libfm"
CRITEO_8K = DATA / "criteo_8k" / "criteo_8k.txt"
MOVIELENS = DATA / "movielens_100k"


# timing ------------------------------------------------------------------------------


def interleave(functions, repeats, first_round=0):
    """Time each function once per round, the order reversed every other round (ABBA).

    Returns ``{name: [seconds of each round]}``; a linear drift of the machine's speed
    cancels out of the ratio of two functions' times.
    """
    times = {name: [] for name in functions}
    for round_ in range(first_round, first_round + repeats):
        names = list(functions) if round_ % 2 == 0 else list(functions)[::-1]
        for name in names:
            start = time.perf_counter()
            functions[name]()
            times[name].append(time.perf_counter() - start)
    return times


def call_ms(function, inputs):
    """Milliseconds of ``function`` on each of ``inputs``, one call at a time, after a warm-up."""
    function(inputs[0])
    seconds = []
    for value in inputs:
        start = time.perf_counter()
        function(value)
        seconds.append(time.perf_counter() - start)
    return np.asarray(seconds) * 1e3


def paired_ratio(numerator, denominator):
    """Median over rounds of ``numerator[i] / denominator[i]``."""
    return float(np.median(np.asarray(numerator) / np.asarray(denominator)))


def latency(ms):
    """The median and 99th percentile of a list of milliseconds."""
    return {"median_ms": float(np.median(ms)), "p99_ms": float(np.percentile(ms, 99))}


# the run -----------------------------------------------------------------------------


def machine():
    """The machine and the versions a run measured on, and its load average at the start."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = (line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    cpu = next(names, platform.processor())
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average_at_start": os.getloadavg(),  # other jobs sharing the CPUs
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "sklearn_deepfm": sklearn_deepfm.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


def parse_settings(pairs):
    """``["batch_size=256", "dropout=0.2"]`` (``--set``) to a dict of Python values."""
    settings = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            settings[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            settings[name] = value
    return settings


def add_output_arguments(parser, name):
    """``--out`` (the results folder) and ``--name`` (the stem of the results files)."""
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    parser.add_argument("--name", default=name, help=f"stem of the results files ({name})")


def add_run_arguments(parser, name):
    """``--quick``, ``--threads`` and the output arguments of a sectioned speed benchmark."""
    parser.add_argument("--quick", action="store_true", help="small smoke run of a few seconds")
    parser.add_argument("--threads", type=int, help="torch threads (default; 1 with --quick)")
    add_output_arguments(parser, name)


def parse_sized(parser, argv, full, quick):
    """Parse ``argv``; sizes left unset take ``quick``'s values with --quick, else ``full``'s."""
    args = parser.parse_args(argv)
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def write_json(results, out, stem):
    """Write ``results`` to ``out/stem.json``, with the load average at the end; return the path."""
    if isinstance(results.get("machine"), dict):
        results["machine"]["load_average_at_end"] = os.getloadavg()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}.json"
    path.write_text(json.dumps(results, indent=2, default=_jsonable) + "\n")
    return path


def run_sections(args, sections, header, data=None, after=None):
    """Run the sections named in ``args.only``, each written to its own results file.

    ``sections`` maps a section's name to ``(measure, stem suffix)``, ``measure(log)``
    returning its figures; ``header`` is what every results file starts with, and
    ``after(name, results, path)`` runs once a section's file is written. A section whose
    file in ``data`` (name -> path) is absent is skipped with a message. Return the
    results of each section run, by name.
    """
    threads = args.threads or (1 if args.quick else None)
    if threads:  # on a busy machine one thread never waits for another
        torch.set_num_threads(threads)
    # every arm in glibc's state after the estimator's first call, whichever arm runs first
    reuse_freed_memory()
    written = {}
    for name in args.only:
        path = (data or {}).get(name)
        if path is not None and not path.exists():
            print(f"{path} is absent: skipping the {name} section.")
            continue
        measure, suffix = sections[name]
        results = {**header, "quick": args.quick}
        start = time.perf_counter()
        print(f"{name} ...", flush=True)
        results[name] = measure(lambda message: print(message, flush=True))
        results["seconds"] = time.perf_counter() - start
        path = write_json(results, args.out, args.name + suffix)
        print(f"wrote {path}")
        written[name] = results
        if after is not None:
            after(name, results, path)
    return written


def print_summary(lines):
    """Print ``(label, value, target)`` lines as a table; floats with three decimals."""
    print()
    for label, value, target in lines:
        value = f"{value:.3f}" if isinstance(value, float) else value
        print(f"{label:<64} {value:>16} {target}")


def _jsonable(value):
    """NumPy scalars as Python numbers; anything else JSON does not know as its text."""
    return value.item() if isinstance(value, np.generic) else str(value)
