"""Peak memory of DeepFMClassifier.fit against the encoded rows and the model it trains.

A child process loads Criteo-shaped encoded rows (``_criteo_shaped.make_codes``) from an
``.npz`` file and fits ``DeepFMClassifier`` (the pinned settings, one epoch, sparse
embedding updates); a second child runs the bare PyTorch loop of the same module for a
few steps. Each reports its peak resident memory, ``VmHWM`` of ``/proc/self/status``
(not ``ru_maxrss``, which on Linux survives ``exec``: a child started by a large parent
would report the parent's peak). The figure is (peak - memory after the imports) /
(encoded matrix + model parameters).

Run ``python benchmarks/memory.py`` (about a minute on 2 cores) or ``--quick``.
Results: ``results/memory.json``.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import add_output_arguments, machine, print_summary, write_json
from _criteo_shaped import (
    NETWORK,
    QUICK_NETWORK,
    TRAINING,
    bare_fit,
    classifier,
    make_codes,
    n_batches,
)

from sklearn_deepfm.nn import DeepFM


def bench_memory(args, network, log):
    """Peak RSS of a child fitting the classifier, and of a child running the bare loop."""
    codes, y, cardinalities = make_codes(args.memory_rows, args.memory_vocab, seed=3)
    module = DeepFM(cardinalities, **{k: network[k] for k in NETWORK}, sparse=True)
    model_bytes = sum(p.numel() * p.element_size() for p in module.parameters())
    del module
    results = {
        "rows": args.memory_rows,
        "vocab": args.memory_vocab,
        "encoded_bytes": codes.nbytes,
        "model_bytes": model_bytes,
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(path, codes=codes, y=y, cardinalities=np.asarray(cardinalities))
        del codes, y
        for kind in ("classifier", "bare"):
            command = [sys.executable, __file__, "--memory-child", kind, str(path)]
            command += ["--quick"] if args.quick else []
            command += ["--threads", str(args.threads)] if args.threads else []
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            child = json.loads(out.strip().splitlines()[-1])
            child["ratio"] = (child["peak_bytes"] - child["baseline_bytes"]) / (
                results["encoded_bytes"] + model_bytes
            )
            results[kind] = child
            log(
                f"  memory {kind}: peak {child['peak_bytes'] / 2**20:,.0f} MiB, "
                f"{child['ratio']:.2f}x (encoded + model)"
            )
    return results


def memory_child(kind, path, network):
    """Run in a child process: load the data, fit, print RSS figures as JSON."""
    baseline = max_rss()
    data = np.load(path)
    codes, y, cardinalities = data["codes"], data["y"], data["cardinalities"].tolist()
    loaded = max_rss()
    start = time.perf_counter()
    if kind == "classifier":
        classifier(network, True, 1).fit(codes, y)
        batches = n_batches(len(codes), 1)
    else:  # peak memory is reached within the first optimizer steps
        batches = 5
        codes, y = torch.from_numpy(codes), torch.tensor(y).float()
        bare_fit(codes, y, cardinalities, network, True, 1, max_batches=batches)
    figures = {
        "baseline_bytes": baseline,
        "loaded_bytes": loaded,
        "peak_bytes": max_rss(),
        "batches": batches,
        "seconds": time.perf_counter() - start,
    }
    print(json.dumps(figures))


def max_rss():
    """Peak resident memory of this process in bytes: VmHWM, else ``ru_maxrss``."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8,192 rows, a small network")
    parser.add_argument("--memory-rows", type=int, help="rows of the fit (1,000,000)")
    parser.add_argument("--memory-vocab", type=int, help="vocabulary of the fit (1M)")
    parser.add_argument("--threads", type=int, help="torch threads (default; 1 with --quick)")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    add_output_arguments(parser, "memory")
    args = parser.parse_args(argv)
    if args.memory_rows is None:
        args.memory_rows = 8192 if args.quick else 1_000_000
    if args.memory_vocab is None:
        args.memory_vocab = 2_000 if args.quick else 1_000_000
    network = QUICK_NETWORK if args.quick else NETWORK
    threads = args.threads or (1 if args.quick else None)
    if threads:
        torch.set_num_threads(threads)
    if args.memory_child:
        return memory_child(*args.memory_child, network)
    results = {"machine": machine(), "network": network, "training": TRAINING}
    results["quick"] = args.quick
    start = time.perf_counter()
    results["memory"] = bench_memory(args, network, lambda message: print(message, flush=True))
    results["seconds"] = time.perf_counter() - start
    print(f"wrote {write_json(results, args.out, args.name)}")
    memory = results["memory"]
    print_summary(
        [
            (f"peak memory {kind} / (encoded + model)", memory[kind]["ratio"], "")
            for kind in ("classifier", "bare")
        ]
    )
    return results


if __name__ == "__main__":
    main()
