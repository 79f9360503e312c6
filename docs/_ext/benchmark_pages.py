"""Write the benchmarks page's tables and plots from ``benchmarks/results/*.json``.

A Sphinx extension: on ``builder-inited`` it reads the results files that the scripts of
``benchmarks/`` wrote and writes reStructuredText and PNG files into ``docs/_generated/``,
which ``benchmarks.rst`` and the user guide include. No figure is typed by hand, so the
pages show what the files hold; every table names the files it comes from and the library
version and date of their runs. A results file the code does not know is listed, not
dropped. Run it alone with ``python docs/_ext/benchmark_pages.py`` to see the output.
"""

import json
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
RESULTS = DOCS.parent / "benchmarks" / "results"
OUT = DOCS / "_generated"

# How each quality data set is named on the page, in the order of the tables.
DATA_NAMES = {
    "criteo": "Criteo 8k",
    "avazu": "Avazu 9k",
    "talkingdata": "TalkingData 100k",
    "frappe": "Frappe",
    "movielens": "MovieLens 100K",
    "criteo_110k": "Criteo 110k",
    "frappe_260k": "Frappe 260k",
}
FAMILY = ["lr", "fm", "fnn", "ipnn", "opnn", "dnn", "wide_deep", "deepfm", "deepfm_vote"]
REFERENCES = ["sklearn_lr", "lightgbm"]


# -- reading ---------------------------------------------------------------------------


def _load(name):
    path = RESULTS / name
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def _quality_files():
    """Map ``(data, kind)`` to ``(file name, document)`` for every ``quality_*.json``.

    ``kind`` is what follows the data set's name (``"defaults"``, ``"vote"``, ...); ``""``
    is the run of the whole model family.
    """
    found = {}
    for path in sorted(RESULTS.glob("quality_*.json")):
        document = _load(path.name)
        data = document.get("data", "")
        stem = path.stem[len("quality_") :]
        kind = stem[len(data) :].lstrip("_") if stem.startswith(data) else stem
        found[(data, kind)] = (path.name, document)
    return found


def _by_model(document):
    return {row["model"]: row for row in document.get("results", [])}


def _version(document):
    machine = document.get("machine") or {}
    versions = document.get("versions") or {}
    return machine.get("sklearn_deepfm") or versions.get("sklearn_deepfm") or "?"


def _date(document):
    machine = document.get("machine") or {}
    return machine.get("date") or document.get("date") or "undated"


def _run(name, document):
    return f"``{name}`` ({_version(document)}, {_date(document)})"


def _order(data):
    names = list(DATA_NAMES)
    return names.index(data) if data in names else len(names)


# -- writing ---------------------------------------------------------------------------


def _num(value, digits=4):
    if value is None:
        return "--"
    return f"{value:.{digits}f}"


def _int(value):
    return "--" if value is None else f"{int(value):,}"


def _table(header, rows, widths=None):
    lines = [".. list-table::", "   :header-rows: 1"]
    if widths:
        lines.append(f"   :widths: {' '.join(str(w) for w in widths)}")
    lines.append("")
    for row in [header, *rows]:
        for i, cell in enumerate(row):
            text = str(cell).replace("\n", " ") or " "
            lines.append(f"   {'*' if i == 0 else ' '} - {text}")
    return "\n".join(lines) + "\n"


def _section(title, char="="):
    return f"{title}\n{char * len(title)}\n"


def _auc_sd(row):
    sd = (row.get("details") or {}).get("AUC sd")
    text = _num(row["auc"])
    return f"{text} ({sd:.4f})" if isinstance(sd, float) else text


def _minus_lr(row):
    diff = row.get("minus_lr")
    if not diff:
        return "--"
    low, high = diff["ci95"]
    return f"{diff['difference']:+.4f} [{low:+.4f}, {high:+.4f}]"


# -- quality ---------------------------------------------------------------------------


def _defaults_rows(files):
    """One row per data set with a ``quality_<data>_defaults.json``."""
    rows = []
    for (data, kind), (name, document) in sorted(files.items(), key=lambda i: _order(i[0][0])):
        if kind != "defaults":
            continue
        models = _by_model(document)
        deepfm, lr = models.get("deepfm"), models.get("sklearn_lr")
        if deepfm is None or lr is None:
            continue
        lightgbm, lgb_source = models.get("lightgbm"), name
        if lightgbm is None and (data, "") in files:
            lgb_source = files[(data, "")][0]
            lightgbm = _by_model(files[(data, "")][1]).get("lightgbm")
        rows.append((data, name, document, deepfm, lr, lightgbm, lgb_source))
    return rows


def _defaults_table(files):
    rows = _defaults_rows(files)
    if not rows:
        return "No ``quality_*_defaults.json`` in ``benchmarks/results``.\n"
    body = []
    for data, name, document, deepfm, lr, lightgbm, lgb_source in rows:
        seeds = document.get("seeds")
        body.append(
            [
                f"{DATA_NAMES.get(data, data)} ({_int(document.get('n_train'))})",
                f"{_auc_sd(deepfm)}, seeds 0-{seeds - 1}" if seeds else _auc_sd(deepfm),
                _num(lr["auc"]),
                _num(lightgbm["auc"]) if lightgbm else "--",
                _minus_lr(deepfm),
                f"{_num(deepfm['log_loss'])} / {_num(lr['log_loss'])}",
                _num(deepfm.get("fit_seconds"), 1),
                _run(name, document)
                + ("" if lgb_source == name else f"; LightGBM from ``{lgb_source}``"),
            ]
        )
    header = [
        "data (train rows)",
        "DeepFM, defaults: AUC (sd)",
        "tuned LR",
        "LightGBM",
        "DeepFM - LR [95%]",
        "log loss, DeepFM / LR",
        "fit s",
        "results file (version, date)",
    ]
    text = _table(header, body, widths=[14, 16, 8, 8, 18, 12, 6, 18])
    return text + (
        "\nAUC on the test rows, the mean over seeds (standard deviation in brackets); "
        "tuned LR is ``LogisticRegression`` on the one-hot codes with ``C`` chosen on the "
        "last 20% of the training rows; DeepFM - LR is the paired bootstrap interval over "
        "the test rows. The data sets and splits are described in the "
        ":doc:`/benchmark_notes`.\n"
    )


def _defaults_plot(files, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _defaults_rows(files)
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    for offset, key, label, color in (
        (-0.15, 3, "DeepFM, defaults", "tab:blue"),
        (0.15, 5, "LightGBM", "tab:orange"),
    ):
        xs, ys, errors = [], [], [[], []]
        for i, row in enumerate(rows):
            diff = (row[key] or {}).get("minus_lr")
            if not diff:
                continue
            xs.append(i + offset)
            ys.append(diff["difference"])
            errors[0].append(diff["difference"] - diff["ci95"][0])
            errors[1].append(diff["ci95"][1] - diff["difference"])
        ax.errorbar(xs, ys, yerr=errors, fmt="o", capsize=3, label=label, color=color)
    ax.axhline(0, color="black", linewidth=0.8, label="tuned LR")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([DATA_NAMES.get(row[0], row[0]) for row in rows], rotation=20)
    ax.set_ylabel("test AUC minus tuned LR's")
    ax.set_title("DeepFM's defaults and LightGBM against a tuned LR (95% bootstrap)")
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _start_table(files):
    body = []
    for (data, kind), (name, document) in sorted(files.items(), key=lambda i: _order(i[0][0])):
        if kind != "zero_start" or (data, "defaults") not in files:
            continue
        start_name, start = files[(data, "defaults")]
        with_start = _by_model(start).get("deepfm")
        zero = _by_model(document).get("deepfm")
        if not with_start or not zero:
            continue
        body.append(
            [
                DATA_NAMES.get(data, data),
                f"{_auc_sd(with_start)} / {_num(with_start['log_loss'])}",
                f"{_auc_sd(zero)} / {_num(zero['log_loss'])}",
                _run(start_name, start),
                _run(name, document),
            ]
        )
    if not body:
        return ""
    header = [
        "data",
        "linear start: AUC (sd) / log loss",
        "zero start: AUC (sd) / log loss",
        "linear start's run",
        "zero start's run",
    ]
    return (
        _section("The linear start against a zero start", "-")
        + "\nDeepFM's defaults with the order-1 part started from a logistic regression "
        "(``linear_start_C=0.05``, the default since 0.5.0) and started at zero "
        "(``quality_<data>_zero_start.json``), on the same splits and seeds.\n\n"
        + _table(header, body)
        + "\n"
    )


def _vote_table(files):
    body = []
    for (data, kind), (name, document) in sorted(files.items(), key=lambda i: _order(i[0][0])):
        if kind != "vote":
            continue
        models = _by_model(document)
        vote, lr = models.get("deepfm_vote"), models.get("sklearn_lr")
        if not vote:
            continue
        body.append(
            [
                DATA_NAMES.get(data, data),
                _num(vote["auc"]),
                _num(vote["log_loss"]),
                _num(lr["auc"]) if lr else "--",
                _minus_lr(vote),
                _num(vote.get("fit_seconds"), 1),
                _run(name, document),
            ]
        )
    if not body:
        return ""
    header = ["data", "vote AUC", "log loss", "tuned LR", "vote - LR [95%]", "fit s", "run"]
    return (
        _section("A soft vote of five seeds", "-")
        + "\nscikit-learn's ``VotingClassifier`` averaging the probabilities of default "
        "DeepFMs of seeds 0 to 4 (``quality_<data>_vote.json``).\n\n" + _table(header, body) + "\n"
    )


def _family_table(files):
    runs = [
        (data, *files[(data, "")]) for data in ("frappe", "criteo", "avazu") if (data, "") in files
    ]
    if not runs:
        return "No ``quality_<data>.json`` family runs in ``benchmarks/results``.\n"
    labels = {}
    for _, _, document in runs:
        for row in document["results"]:
            labels.setdefault(row["model"], row.get("label", row["model"]))
    order = [m for m in FAMILY + REFERENCES if m in labels] + [
        m for m in labels if m not in FAMILY + REFERENCES
    ]
    body = []
    for model in order:
        cells = [labels[model]]
        for _, _, document in runs:
            row = _by_model(document).get(model)
            cells.append(f"{_auc_sd(row)}, {_num(row['log_loss'])}" if row else "--")
        body.append(cells)
    header = ["model"] + [
        f"{DATA_NAMES.get(data, data)}: AUC (sd), log loss; {_run(name, document)}"
        for data, name, document in runs
    ]
    return _table(header, body)


def _every_quality_run(files):
    parts = [
        _section("Every quality run", "-"),
        "\nEach ``quality_*.json`` as it stands: the data and split, the seeds, the "
        "library version of the run, and each model's mean AUC, log loss and fit time.\n",
    ]
    for (data, _kind), (name, document) in sorted(
        files.items(), key=lambda i: (_order(i[0][0]), i[0][1])
    ):
        parts.append(f"\n``{name}``\n{'^' * (len(name) + 4)}\n")
        parts.append(
            f"\n{DATA_NAMES.get(data, data)}: {document.get('split', '')}; "
            f"{_int(document.get('n_train'))} training and {_int(document.get('n_test'))} "
            f"test rows, {document.get('n_fields', '?')} fields; seeds: "
            f"{document.get('seeds', '?')}; sklearn-deepfm {_version(document)}, "
            f"{_date(document)}.\n\n"
        )
        body = [
            [
                row.get("label", row["model"]),
                _auc_sd(row),
                _num(row["log_loss"]),
                _num(row.get("fit_seconds"), 1),
                _minus_lr(row),
            ]
            for row in document.get("results", [])
        ]
        parts.append(_table(["model", "AUC (sd)", "log loss", "fit s", "minus LR [95%]"], body))
    return "".join(parts)


# -- the other benchmarks --------------------------------------------------------------


def _movielens():
    document = _load("movielens.json")
    if document is None:
        return ""
    parts = [
        _section("Regression and multi-valued genres: MovieLens 100K"),
        f"\n``movielens.json`` (sklearn-deepfm {_version(document)}, {_date(document)}, "
        f"seeds 0-{document.get('seeds', 1) - 1}): test RMSE in rating units, the mean over "
        "seeds (standard deviation). ``deepfm``: the genres as a multi-valued field; "
        "``_joined``: one category per genre string; ``ridge``: ``RidgeCV`` on the one-hot "
        "codes. The cold split holds out 20% of the movies; its classifiers predict "
        "rating >= 4 (AUC).\n\n",
    ]
    for split, title in (("random", "random 80/20 split"), ("cold", "movies never seen")):
        summary = document["splits"].get(split, {}).get("summary", {})
        rows = document["splits"].get(split, {}).get("rows", {})
        body = []
        for model, values in summary.items():
            if "rmse_mean" in values:
                body.append(
                    [model, "RMSE", f"{values['rmse_mean']:.4f} ({values['rmse_std']:.4f})"]
                )
            else:
                body.append([model, "AUC", f"{values['auc_mean']:.4f} ({values['auc_std']:.4f})"])
        parts.append(
            f"\n{title.capitalize()} ({_int(rows.get('train'))} training and "
            f"{_int(rows.get('test'))} test ratings):\n\n"
        )
        parts.append(_table(["model", "metric", "mean (sd)"], body))
    return "".join(parts)


def _training(plot_path):
    document = _load("training.json")
    parts = [_section("Training speed")]
    if document is not None:
        network = document.get("network", {})
        parts.append(
            f"\n``training.json``: training-loop rows per second of ``DeepFMClassifier`` (its "
            "defaults, and ``precision='float32'``) against bare PyTorch loops: of the "
            "library's module, written by hand (autograd's FM gradient, a ``rand_like`` "
            "dropout mask, float32), and that loop compiled; on the same generated "
            f"Criteo-shaped codes (pinned network: embedding "
            f"{network.get('embedding_dim')}, MLP {network.get('hidden_layer_sizes')}, batch "
            f"{document.get('training', {}).get('batch_size')}, "
            f"{document.get('machine', {}).get('torch_threads')} torch threads; the "
            "``sparse_defaults`` rows: the estimator's default network at batch 1024). "
            + (f"{document['source']}." if "source" in document else "")
            + "\n\n"
        )
        body = []
        for mode, part in document["train"].items():
            if "by_vocab" not in part:  # the FLOP rates and whole fits, below
                continue
            for vocab, values in part["by_vocab"].items():
                body.append(
                    [
                        mode,
                        str(tuple((part.get("network") or network)["hidden_layer_sizes"])),
                        _int(vocab),
                        _int(part.get("rows")),
                        _int(values["classifier_loop_rows_per_s"]),
                        _int(values.get("classifier_float32_loop_rows_per_s")),
                        _int(values["bare_loop_rows_per_s"]),
                        _int(values.get("bare_autograd_loop_rows_per_s")),
                        _int(values.get("bare_compiled_loop_rows_per_s")),
                        _num(values.get("loop_ratio_vs_autograd", values["loop_ratio"]), 3),
                    ]
                )
        header = [
            "updates",
            "MLP",
            "vocabulary",
            "rows",
            "classifier rows/s",
            "float32",
            "bare loop",
            "hand-written",
            "compiled",
            "classifier / hand-written",
        ]
        parts.append(_table(header, body))
        parts.append(_training_extras(document["train"]))
        _training_plot(document, plot_path)
        parts.append(
            f"\n.. image:: /_generated/{plot_path.name}\n"
            "   :alt: fit rows per second against the vocabulary size\n\n"
        )
    frappe = _load("training_frappe.json")
    if frappe is not None:
        runs = frappe["frappe"]
        parts.append(
            "\n``training_frappe.json``: held-out AUC on Frappe "
            f"({_int(runs['rows_train'])} training rows) with the embeddings updated by "
            "``CatchUpAdam`` (sparse, the default), dense Adam, and torch's lazy "
            "``SparseAdam``; the mean over seeds:\n\n"
        )
        body = [
            [
                arm,
                f"{runs[arm]['auc_mean']:.4f} ({runs[arm]['auc_std']:.4f})",
                f"{runs[arm]['log_loss_mean']:.4f}",
                f"{runs[arm]['epochs_mean']:.1f}",
            ]
            for arm in ("sparse", "dense", "sparse_adam")
            if arm in runs
        ]
        parts.append(_table(["updates", "AUC (sd)", "log loss", "epochs"], body))
    return "".join(parts)


def _training_extras(train):
    """Return the text of the measured matmul rates, the whole fits and the precisions."""
    parts = []
    flops = train.get("matmul_flops")
    if flops:
        parts.append(
            "\nMeasured matrix-product rate of these cores: "
            + ", ".join(f"{name} {value / 1e9:.0f} GFLOP/s" for name, value in flops.items())
            + ". Share of the float32 / bfloat16 rate reached by the classifier's loop: "
            + "; ".join(
                f"{mode} {_int(vocab)}: {_num(v['classifier_share_of_float32_limit'], 2)} / "
                f"{_num(v['classifier_share_of_bfloat16_limit'], 2)}"
                for mode, part in train.items()
                if "by_vocab" in part
                for vocab, v in part["by_vocab"].items()
                if "classifier_share_of_float32_limit" in v
            )
            + ".\n"
        )
    whole = train.get("whole_fit")
    if whole:
        body = [
            [_int(rows), _num(r["seconds_default"], 1), _num(r["seconds_float32"], 1)]
            for rows, r in whole.items()
        ]
        parts.append("\nWhole fits (one epoch, default network), seconds:\n\n")
        parts.append(_table(["rows", "default", "float32"], body))
    precision = _load("training_precision.json")
    if precision is not None:
        body = [
            [
                name,
                f"{r['auc_mean_float32']:.4f}",
                f"{r['auc_mean_bfloat16']:.4f}",
                f"{r['log_loss_mean_float32']:.4f}",
                f"{r['log_loss_mean_bfloat16']:.4f}",
                _num(r["fit_speedup"], 2),
            ]
            for name, r in precision["precision"].items()
        ]
        parts.append(
            "\n``training_precision.json``: the default pipeline on real data, "
            "``precision`` float32 against bfloat16, mean of the seeds:\n\n"
        )
        header = ["data", "AUC float32", "AUC bfloat16", "log loss float32",
                  "log loss bfloat16", "fit time ratio"]  # fmt: skip
        parts.append(_table(header, body))
    return "".join(parts)


def _training_plot(document, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for mode, marker in (("sparse", "o"), ("sparse_defaults", "^"), ("dense", "s")):
        part = document["train"].get(mode)
        if not part:
            continue
        vocabs = [int(v) for v in part["by_vocab"]]
        for who, style in (("classifier", "-"), ("bare", "--")):
            speeds = [v[f"{who}_rows_per_s"] for v in part["by_vocab"].values()]
            ax.plot(vocabs, speeds, style, marker=marker, label=f"{who}, {mode} embeddings")
    ax.set_xscale("log")
    ax.set_xlabel("vocabulary (codes in all fields)")
    ax.set_ylabel("fit rows / s")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _prediction():
    parts = [_section("Prediction and serving speed")]
    document = _load("prediction.json")
    if document is not None:
        parts.append(
            "\n``prediction.json``: ``predict_proba`` rows per second against a bare "
            f"PyTorch forward pass, and one-row latencies. {document.get('source', '')}.\n\n"
        )
        body = [
            [
                _int(rows),
                _int(values["classifier_rows_per_s"]),
                _int(values["bare_rows_per_s"]),
                _num(values["ratio"], 3),
            ]
            for rows, values in document["predict"]["batch"].items()
        ]
        parts.append(_table(["rows", "classifier rows/s", "bare rows/s", "ratio"], body))
        body = [
            [what, _num(values["median_ms"], 3), _num(values["p99_ms"], 3)]
            for what, values in document["predict"]["one_row"].items()
        ]
        parts.append(
            f"\nOne row at a time (vocabulary {_int(document['predict'].get('one_row_vocab'))}):"
            "\n\n" + _table(["call", "median ms", "p99 ms"], body)
        )
    criteo = _load("prediction_criteo.json")
    if criteo is not None:
        serving = criteo["serving"]
        parts.append(
            "\n``prediction_criteo.json``: a fitted Pipeline on ``criteo_8k`` "
            f"({_int(serving.get('rows'))} rows), one-row requests by the storage of the raw "
            "strings, against the bare forward pass of the network:\n\n"
        )
        body = [
            [
                storage,
                _num(values["median_ms"], 3),
                _num(values["p99_ms"], 3),
                _num(serving.get("batch", {}).get(storage, {}).get("rows_per_s"), 0),
            ]
            for storage, values in serving["one_row"].items()
        ]
        parts.append(_table(["storage", "one row, median ms", "p99 ms", "batch rows/s"], body))
    return "".join(parts)


def _encoder():
    parts = [_section("Encoder speed")]
    document = _load("encoder.json")
    if document is not None:
        encoder = document["encoder"]
        parts.append(
            f"\n``encoder.json``: ``FieldEncoder`` against ``OrdinalEncoder`` on "
            f"{_int(encoder['rows'])} generated rows (vocabulary {_int(encoder['vocab'])}); "
            f"one-row ``transform`` median {_num(encoder['one_row_transform_median_ms'], 3)} "
            f"ms. {document.get('source', '')}.\n\n"
        )
        body = []
        for storage, values in (("string", encoder), ("object", encoder.get("object", {}))):
            for step in ("fit", "transform", "fit_transform"):
                if step in values:
                    body.append(
                        [
                            storage,
                            step,
                            _int(values[step]["field_encoder_rows_per_s"]),
                            _int(values[step]["ordinal_encoder_rows_per_s"]),
                            _num(values[step]["ratio"], 2),
                        ]
                    )
        header = ["storage", "step", "FieldEncoder rows/s", "OrdinalEncoder rows/s", "ratio"]
        parts.append(_table(header, body))
    genres = _load("encoder_movielens.json")
    if genres is not None:
        part = genres["genres"]
        parts.append(
            f"\n``encoder_movielens.json``: MovieLens' genres as a multi-valued field "
            f"({_int(part['rows'])} ratings), by the storage of the cells; *over joined* is "
            "the time against the same strings as one category:\n\n"
        )
        body = [
            [
                storage,
                _num(v["fit_ms"], 1),
                _num(v["transform_ms"], 1),
                _num(v["fit_over_joined"], 1),
                _num(v["transform_over_joined"], 1),
                _num(v["one_row_transform_median_us"], 0),
            ]
            for storage, v in part["storages"].items()
        ]
        header = [
            "storage",
            "fit ms",
            "transform ms",
            "fit over joined",
            "transform over joined",
            "one row, median µs",
        ]
        parts.append(_table(header, body))
    return "".join(parts)


def _memory():
    parts = [_section("Memory and data larger than memory")]
    document = _load("memory.json")
    mib = 2**20
    if document is not None:
        memory = document["memory"]
        parts.append(
            f"\n``memory.json``: peak memory of ``fit`` on {_int(memory['rows'])} rows "
            f"(encoded codes {memory['encoded_bytes'] / mib:,.0f} MiB, model "
            f"{memory['model_bytes'] / mib:,.0f} MiB), against a bare PyTorch loop. "
            f"{document.get('source', '')}.\n\n"
        )
        body = [
            [
                who,
                f"{memory[who]['baseline_bytes'] / mib:,.0f}",
                f"{memory[who]['peak_bytes'] / mib:,.0f}",
                _num(memory[who]["ratio"], 2),
            ]
            for who in ("classifier", "bare")
            if who in memory
        ]
        header = ["fit", "before, MiB", "peak, MiB", "(peak - before) / data"]
        parts.append(_table(header, body))
    ooc = _load("out_of_core.json")
    if ooc is not None:
        parts.append(
            "\n``out_of_core.json``: generated Criteo TSV files through the whole flow "
            f"(``partial_fit`` of the encoder over chunks of {_int(ooc.get('chunksize'))} "
            f"rows, shards of {_int(ooc.get('rows_per_shard'))} rows, training from the "
            "shards):\n\n"
        )
        body = []
        for rows, values in ooc["rows"].items():
            body.append(
                [
                    _int(rows),
                    f"{values['raw_bytes'] / mib:,.0f}",
                    _int(values["encoder_partial_fit"]["rows_per_s"]),
                    _int(values["write_shards"]["rows_per_s"]),
                    _int(values["train_out_of_core"]["rows_per_s"]),
                    f"{values['peak_rss_mib']:,.0f}",
                    f"{values['codes_mib']:,.0f}",
                ]
            )
        header = [
            "rows",
            "text, MiB",
            "encoder rows/s",
            "shards rows/s",
            "training rows/s",
            "peak memory, MiB",
            "codes alone, MiB",
        ]
        parts.append(_table(header, body))
        for rows, values in ooc["rows"].items():
            train = values.get("memory_train", {})
            if "train_in_memory" in train and "train_out_of_core" in train:
                ratio = (
                    train["train_out_of_core"]["rows_per_s"]
                    / train["train_in_memory"]["rows_per_s"]
                )
                parts.append(
                    f"\nAt {_int(rows)} rows, training from the shards ran at "
                    f"{_int(train['train_out_of_core']['rows_per_s'])} rows/s against "
                    f"{_int(train['train_in_memory']['rows_per_s'])} on the same codes in "
                    f"memory (ratio {ratio:.2f}, interleaved runs).\n"
                )
    return "".join(parts)


def _files_table(pattern, title, intro, header, row):
    """Return a section with a table row per results file matching ``pattern`` ("" for none).

    ``row(name, document)`` gives the cells after the file's name.
    """
    names = sorted(p.name for p in RESULTS.glob(pattern))
    if not names:
        return ""
    body = [[f"``{name}``", *row(name, _load(name))] for name in names]
    return _section(title) + f"\n{intro}\n\n" + _table(["run", *header], body)


def _distributed():
    def row(name, document):
        one, two = document["one_process"], document["two_processes"]
        iteration = document.get("iteration", {})
        return [
            f"{one['epochs']} / {two['epochs']}",
            _int(one["rows_per_s"]),
            _int(two["rows_per_s"]),
            _num(document["speedup"], 2),
            _num(document.get("ceiling_speedup"), 2),
            f"{_num(one['auc'])} / {_num(two['auc'])}",
            _num(iteration.get("dataloader_over_batch_iterator_seconds"), 1),
        ]

    header = [
        "epochs, 1 / 2",
        "rows/s, 1 process",
        "rows/s, 2 processes",
        "speed-up",
        "ceiling",
        "AUC, 1 / 2",
        "DataLoader / BatchIterator time",
    ]
    intro = (
        "``distributed*.json``: two processes of one thread under ``torchrun`` against one "
        "process, on Frappe 202k; the *ceiling* is two independent processes on half the "
        "rows each, run at once without communication."
    )
    return _files_table("distributed*.json", "Distributed training", intro, header, row)


def _daily():
    def row(name, document):
        summary = document["summary"]
        frozen_and_scratch = [_num(summary[arm]["mean_auc"]) for arm in ("frozen", "scratch")]
        updates = [
            f"{_num(summary[arm]['mean_auc'])} ({_num(summary[arm]['fit_time_ratio'], 2)})"
            if arm in summary
            else "-"  # a file written before the arm existed
            for arm in ("updated", "one_epoch", "linear_update")
        ]
        return frozen_and_scratch + updates

    header = [
        "AUC frozen",
        "AUC scratch",
        "AUC updated (time)",
        "AUC one epoch (time)",
        "AUC linear update (time)",
    ]
    intro = (
        "``daily_<data>.json``: eight days in time order; each day d = 2..7 scored on day "
        "d+1, means over those days. *Frozen*: the day-1 model; *scratch*: refitted on days "
        "1..d; *updated*: ``warm_start`` on both steps with day d; *one epoch*: the encoder "
        "refitted with ``warm_start`` and one ``partial_fit`` epoch; *linear update*: the same "
        "with ``linear_update=True``. Fit time: the sum over "
        "the days, as a fraction of scratch's."
    )
    return _files_table("daily_*.json", "Daily updates", intro, header, row)


def _unknown(files):
    known = {name for name, _ in files.values()}
    known |= {
        "movielens.json",
        "training.json",
        "training_frappe.json",
        "training_precision.json",
        "prediction.json",
        "prediction_criteo.json",
        "encoder.json",
        "encoder_movielens.json",
        "memory.json",
        "out_of_core.json",
    }
    known |= {p.name for p in RESULTS.glob("distributed*.json")}
    known |= {p.name for p in RESULTS.glob("daily_*.json")}
    others = sorted(p.name for p in RESULTS.glob("*.json") if p.name not in known)
    if not others:
        return ""
    return (
        _section("Other results files")
        + "\nResults files this page does not render yet: "
        + ", ".join(f"``{name}``" for name in others)
        + ".\n"
    )


# -- entry points ----------------------------------------------------------------------


def generate(out=OUT):
    """Write every generated file into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    files = _quality_files()
    written = {}
    written["defaults_table.rst"] = _defaults_table(files)
    written["family_table.rst"] = _family_table(files)
    has_plot = _defaults_plot(files, out / "quality_defaults.png")
    quality = [
        _section("Quality against the references"),
        "\nDeepFM's defaults against a tuned logistic regression and LightGBM "
        "(``benchmarks/quality.py``), one table row per ``quality_<data>_defaults.json``:\n\n",
        written["defaults_table.rst"],
    ]
    if has_plot:
        quality.append(
            "\n.. image:: /_generated/quality_defaults.png\n"
            "   :alt: test AUC of DeepFM's defaults and LightGBM minus a tuned LR's\n\n"
        )
    quality += [
        _start_table(files),
        _vote_table(files),
        _section("The model family", "-"),
        "\nEvery model of the DeepFM paper's family with the defaults of its run, seeds 0 "
        "to 4 (``quality_<data>.json``):\n\n",
        written["family_table.rst"],
        "\n",
        _every_quality_run(files),
    ]
    body = [
        "".join(quality),
        _movielens(),
        _training(out / "training_speed.png"),
        _prediction(),
        _encoder(),
        _memory(),
        _distributed(),
        _daily(),
        _unknown(files),
    ]
    written["benchmarks_body.rst"] = "\n\n".join(part for part in body if part)
    for name, text in written.items():
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return [out / name for name in written]


def _on_builder_inited(app):
    generate()


def setup(app):
    """Register the generator with Sphinx."""
    app.connect("builder-inited", _on_builder_inited)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    for path in generate():
        print(path)
