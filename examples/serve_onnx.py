"""A reference server for a raw ONNX export: JSON records in, probabilities out.
=============================================================================

The model is one file written by ``export_onnx(pipeline, "ctr.onnx", raw=True)``; serving
it needs only numpy and onnxruntime (no sklearn_deepfm, no pandas, no torch). Each input
of the graph is one column, 1-d: ``tensor(string)`` (``""`` for a missing value) or
``tensor(double)`` (NaN for a missing value). A JSON record maps column names to values;
a column it lacks, or holds as null, is missing. A multi-valued column may come as its
joined string (``"Comedy|Drama"``) or as a JSON list, joined here with the separator
that the model's metadata gives.

Run it from the repository root::

    python examples/serve_onnx.py ctr.onnx < records.jsonl      # one JSON record a line
    python examples/serve_onnx.py ctr.onnx --port 8000           # POST a JSON list of records

The answer is ``{"probability": [...]}`` for a classifier (``predict_proba(X)[:, 1]``)
or ``{"prediction": [...]}`` for a regressor. A row holding an infinite number in a
binned or value column gets NaN, written as null.
"""

import argparse
import json
import math
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import onnxruntime


class RawModel:
    """An exported graph and what it needs to turn JSON records into its inputs."""

    def __init__(self, path, threads=1):
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # one request, one core: no waiting on threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            path, options, providers=["CPUExecutionProvider"]
        )
        metadata = self.session.get_modelmeta().custom_metadata_map
        described = json.loads(metadata["sklearn_deepfm.raw_inputs"])
        self.separators = {d["name"]: d.get("separator") for d in described}
        self.inputs = [(i.name, i.type == "tensor(string)") for i in self.session.get_inputs()]
        # the last output: the probability (a classifier) or the prediction (a regressor)
        self.output = self.session.get_outputs()[-1].name

    def feeds(self, records):
        """Return the graph's inputs, one array per column, from a list of dicts."""
        feeds = {}
        for name, is_string in self.inputs:
            cells = [record.get(name) for record in records]
            if is_string:
                separator = self.separators.get(name)
                feeds[name] = np.array([_string(c, separator) for c in cells], dtype=object)
            else:
                feeds[name] = np.array([_number(c) for c in cells], dtype=np.float64)
        return feeds

    def predict(self, records):
        """Return ``{output name: one float (or None for NaN) per record}``."""
        (answers,) = self.session.run([self.output], self.feeds(records))
        return {self.output: [None if math.isnan(a) else float(a) for a in answers.tolist()]}


def _string(cell, separator):
    if cell is None:
        return ""
    if isinstance(cell, list) and separator is not None:
        return separator.join("" if v is None else str(v) for v in cell)
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # 5.0 as JSON gives "5", as pandas writes the category 5
    return str(cell)


def _number(cell):
    if cell is None or cell == "":
        return math.nan
    return float(cell)


def serve_lines(model, lines, out):
    """Answer each JSON line (a record, or a list of records) with one JSON line."""
    for line in lines:
        if line.strip():
            records = json.loads(line)
            records = records if isinstance(records, list) else [records]
            out.write(json.dumps(model.predict(records)) + "\n")
            out.flush()


def serve_http(model, port):
    """Answer POSTed JSON lists of records on ``port`` until interrupted."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                records = json.loads(body)
                answer = model.predict(records if isinstance(records, list) else [records])
                status, payload = 200, json.dumps(answer).encode()
            except (ValueError, TypeError, AttributeError) as exc:
                status, payload = 400, json.dumps({"error": str(exc)}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    with HTTPServer(("127.0.0.1", port), Handler) as server:
        print(f"serving {model.output} on http://127.0.0.1:{port}", file=sys.stderr)
        server.serve_forever()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a .onnx file from export_onnx(..., raw=True)")
    parser.add_argument("--port", type=int, help="serve HTTP on this port (else stdin lines)")
    args = parser.parse_args(argv)
    model = RawModel(args.model)
    if args.port:
        serve_http(model, args.port)
    else:
        serve_lines(model, sys.stdin, sys.stdout)


if __name__ == "__main__":
    main()
