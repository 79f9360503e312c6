"""Speed of FieldEncoder against scikit-learn's OrdinalEncoder, and of multi-valued fields.

``encoder`` (Criteo-shaped raw data, default)
    ``FieldEncoder`` fit, transform and fit_transform rows/s against ``OrdinalEncoder``
    on the same DataFrame, with the strings stored in Arrow and as Python objects; one
    hash pass per column (``value_counts``), the least work any vocabulary fit does; the
    median and p99 of a one-row transform.
``genres`` (MovieLens 100K's genre strings, only when asked for, ``--only genres``)
    ``FieldEncoder(multi_valued={"genres": "|"})`` fit and transform time against the
    same column encoded as one category, interleaved, with the strings in Arrow, as
    Python objects and as list cells; the median one-row transform.

Run ``python benchmarks/encoder.py`` (about 2 minutes on 2 cores) or ``--quick`` for a
smoke run. Results: ``results/encoder.json`` and ``results/encoder_movielens.json``.
"""

import argparse
from functools import partial
from pathlib import Path

import numpy as np
from _common import (
    MOVIELENS,
    add_run_arguments,
    call_ms,
    interleave,
    machine,
    paired_ratio,
    parse_sized,
    print_summary,
    run_sections,
)
from _criteo_shaped import make_frame
from sklearn.preprocessing import OrdinalEncoder

from sklearn_deepfm import FieldEncoder
from sklearn_deepfm.datasets import load_movielens_100k

SECTIONS = ("encoder", "genres")


def bench_encoder(args, log):
    """FieldEncoder against OrdinalEncoder, strings in Arrow (top level) and as objects."""
    frame = make_frame(args.encoder_rows, args.encoder_vocab, seed=2)
    strings = [c for c in frame.columns if c.startswith("C")]
    arrow = frame.astype(dict.fromkeys(strings, "str"))
    results = compare_encoders(args, arrow, "Arrow", log)
    results["object"] = compare_encoders(args, frame, "object", log)
    return results


def compare_encoders(args, frame, storage, log):
    """FieldEncoder fit, transform and fit_transform against OrdinalEncoder, same DataFrame."""
    field = FieldEncoder()
    ordinal = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    repeats = args.encoder_repeats
    fit = interleave(
        {
            "field_encoder": partial(field.fit, frame),
            "ordinal_encoder": partial(ordinal.fit, frame),
            "one_hash_pass": partial(_one_pass, frame),
        },
        repeats,
    )
    transform = interleave(
        {
            "field_encoder": partial(field.transform, frame),
            "ordinal_encoder": partial(ordinal.transform, frame),
        },
        repeats,
    )
    fit_transform = interleave(
        {
            "field_encoder": partial(field.fit_transform, frame),
            "ordinal_encoder": partial(ordinal.fit_transform, frame),
        },
        repeats,
    )
    ms = call_ms(field.transform, [frame.iloc[[i]] for i in range(args.latency_calls)])
    results = {
        "rows": args.encoder_rows,
        "vocab": args.encoder_vocab,
        "fitted_categories": int(field.cardinalities_.sum()),
        "one_row_transform_median_ms": float(np.median(ms)),
        "one_row_transform_p99_ms": float(np.percentile(ms, 99)),
    }
    for name, times in [("fit", fit), ("transform", transform), ("fit_transform", fit_transform)]:
        n_rows = args.encoder_rows
        results[name] = {
            "seconds": times,
            **{f"{k}_rows_per_s": n_rows / float(np.median(v)) for k, v in times.items()},
            "ratio": paired_ratio(times["ordinal_encoder"], times["field_encoder"]),
        }
        log(f"  encoder {name}, {storage} strings: {results[name]['ratio']:.2f}x OrdinalEncoder")
    # the best ratio a fit doing one hash pass per column could reach
    results["fit"]["ratio_one_hash_pass"] = paired_ratio(
        fit["ordinal_encoder"], fit["one_hash_pass"]
    )
    return results


def _one_pass(frame):
    for _, column in frame.items():
        if column.dtype == np.float64:
            np.nanquantile(column.to_numpy(), np.linspace(0, 1, 17))
        else:
            column.value_counts(dropna=False, sort=False)


def bench_genres(args, log):
    """Multi-valued genres against the same strings as one category, on MovieLens 100K."""
    genres = load_movielens_100k(args.movielens)[["genres"]]
    storages = {
        "arrow": genres.astype({"genres": "str"}),
        "object": genres.astype({"genres": object}),
        "lists": genres.assign(genres=genres["genres"].str.split("|").astype(object)),
    }
    results = {"rows": len(genres), "storages": {}}
    repeats = 2 if args.quick else 9  # milliseconds each: rounds are cheap
    for storage, frame in storages.items():
        separator = None if storage == "lists" else "|"
        multi = FieldEncoder(multi_valued={"genres": separator}).fit(frame)
        joined_frame = storages["object" if storage == "lists" else storage]
        joined = FieldEncoder(categorical_features=["genres"]).fit(joined_frame)
        fit = interleave(
            {"multi": partial(multi.fit, frame), "joined": partial(joined.fit, joined_frame)},
            repeats,
        )
        transform = interleave(
            {
                "multi": partial(multi.transform, frame),
                "joined": partial(joined.transform, joined_frame),
            },
            repeats,
        )
        one_row = 1e3 * call_ms(
            multi.transform, [frame.iloc[[i]] for i in range(args.latency_calls)]
        )
        figures = {
            "fit_ms": 1e3 * float(np.median(fit["multi"])),
            "transform_ms": 1e3 * float(np.median(transform["multi"])),
            "fit_over_joined": paired_ratio(fit["multi"], fit["joined"]),
            "transform_over_joined": paired_ratio(transform["multi"], transform["joined"]),
            "one_row_transform_median_us": float(np.median(one_row)),
        }
        results["storages"][storage] = figures
        log(
            f"  genres, {storage}: fit {figures['fit_ms']:.1f} ms "
            f"({figures['fit_over_joined']:.2f}x one category), transform "
            f"{figures['transform_ms']:.1f} ms ({figures['transform_over_joined']:.2f}x), "
            f"one row {figures['one_row_transform_median_us']:.0f} us"
        )
    return results


def summary(encoder, genres):
    """The figures of the README, one (label, value, target) per line."""
    lines = []
    if encoder:
        for storage, r in [("Arrow", encoder), ("object", encoder["object"])]:
            for name in ("fit", "transform", "fit_transform"):
                label = f"FieldEncoder {name} rows/s vs OrdinalEncoder, {storage}"
                lines.append((label, r[name]["ratio"], ">= 3" if storage == "Arrow" else ""))
        label = "one hash pass per column vs OrdinalEncoder.fit (bound)"
        lines.append((label, encoder["fit"]["ratio_one_hash_pass"], ""))
        one_row = (
            f"{encoder['one_row_transform_median_ms']:.2f} / "
            f"{encoder['one_row_transform_p99_ms']:.2f}"
        )
        lines.append(("FieldEncoder one-row transform median / p99 ms", one_row, ""))
    for storage, r in (genres or {}).get("storages", {}).items():
        value = f"{r['fit_over_joined']:.2f} / {r['transform_over_joined']:.2f}"
        lines.append((f"genres {storage}: fit / transform time vs one category", value, ""))
    return lines


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=["encoder"])
    parser.add_argument("--encoder-rows", type=int, help="rows of the encoder data (1,000,000)")
    parser.add_argument("--encoder-vocab", type=int, help="vocabulary of the encoder data (1M)")
    parser.add_argument("--encoder-repeats", type=int, default=2, help="interleaved rounds (2)")
    parser.add_argument("--latency-calls", type=int, help="one-row calls timed (500)")
    parser.add_argument("--movielens", type=Path, default=MOVIELENS, help="movielens_100k folder")
    add_run_arguments(parser, "encoder")
    full = dict(encoder_rows=1_000_000, encoder_vocab=1_000_000, latency_calls=500)
    quick = dict(encoder_rows=5_000, encoder_vocab=2_000, latency_calls=20)
    return parse_sized(parser, argv, full, quick)


def main(argv=None):
    args = parse_args(argv)
    sections = {
        "encoder": (partial(bench_encoder, args), ""),
        "genres": (partial(bench_genres, args), "_movielens"),
    }
    header = {"machine": machine()}
    written = run_sections(args, sections, header, data={"genres": args.movielens})
    print_summary(
        summary(written.get("encoder", {}).get("encoder"), written.get("genres", {}).get("genres"))
    )
    return written


if __name__ == "__main__":
    main()
