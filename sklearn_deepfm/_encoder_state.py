"""``FieldEncoder``'s fitted state as plain Python values, for model files and export."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from . import _encode
from ._encode import CATEGORICAL, QUANTILE, VALUE


class EncoderStateMixin:
    """The pair of methods through which persistence and export read and restore an encoder."""

    def _get_fitted_state(self):
        """Return the fitted state as plain Python values (see ``_set_fitted_state``).

        ``fields`` holds one dict per field: ``name``, ``kind``, ``cardinality``,
        ``missing_code`` and ``categories`` (vocabulary fields; ``categories[i]`` has
        code ``i + 1``), ``edges`` (quantile) or ``mean`` and ``scale`` (value).
        """
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        fields = []
        for j, (name, kind) in enumerate(
            zip(self.get_feature_names_out(), self._kinds, strict=True)
        ):
            field = {
                "name": str(name),
                "kind": kind,
                "cardinality": int(self.cardinalities_[j]),
                "missing_code": int(self._missing_codes[j]),
            }
            if kind == QUANTILE:
                field["edges"] = self.categories_[j].tolist()
            elif kind == VALUE:
                field["mean"], field["scale"] = float(self._means[j]), float(self._scales[j])
            else:
                known = _encode.known_values(self.categories_[j], self._missing_codes[j])
                field["categories"] = known.tolist()
            fields.append(field)
        return {
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": None if names is None else [str(n) for n in names],
            # set_output's own setting (None when never called), not the global config
            "output": getattr(self, "_sklearn_output_config", {}).get("transform"),
            "fields": fields,
        }

    def _set_fitted_state(self, state):
        """Restore what ``_get_fitted_state`` returned, refusing inconsistent fields."""
        n, names, fields = state["n_features_in"], state["feature_names_in"], state["fields"]
        if type(n) is not int or not isinstance(fields, list) or len(fields) != n:
            raise ValueError("the encoder must describe n_features_in fields.")
        if names is not None:
            if len(names) != n or not all(isinstance(name, str) for name in names):
                raise ValueError("feature_names_in_ must hold one str per feature.")
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = n
        self._kinds = [field["kind"] for field in fields]
        self.value_fields_ = np.array([kind == VALUE for kind in self._kinds])
        self.categories_ = [None] * n
        self.cardinalities_ = _encode.int_array([f["cardinality"] for f in fields], "cardinality")
        self._missing_codes = _encode.int_array([f["missing_code"] for f in fields], "missing code")
        self._known, self._tables = [None] * n, {}
        self._means, self._scales = np.zeros(n), np.ones(n)
        kinds = (CATEGORICAL, self.numeric_encoding)
        for j, field in enumerate(fields):
            restored = _encode.field_from_state(
                field, j, kinds, self._missing_codes[j], self.cardinalities_[j]
            )
            self.categories_[j], self._known[j] = restored["categories"], restored["known"]
            self._means[j], self._scales[j] = restored["mean"], restored["scale"]
        if state["output"] is not None:
            if state["output"] not in ("default", "pandas", "polars"):
                raise ValueError(f"unknown output container {state['output']!r}.")
            self.set_output(transform=state["output"])
