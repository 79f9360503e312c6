"""``FieldEncoder``'s fitted state as plain Python values, for model files and export."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._sklearn import check_feature_names_in
from .._slots import UNKNOWN_CODE
from . import _encode, _multi_valued
from ._encode import CATEGORICAL, MULTI_VALUED, QUANTILE, VALUE


class EncoderStateMixin:
    """The pair of methods through which persistence and export read and restore an encoder."""

    def _get_fitted_state(self):
        """Return the fitted state as plain Python values (see ``_set_fitted_state``).

        ``fields`` holds one dict per field: ``name``, ``kind``, ``cardinality``,
        ``missing_code`` and ``categories`` (vocabulary fields; ``categories[i]`` has
        code ``i + 1``), ``edges`` (quantile) or ``mean`` and ``scale`` (value).
        Multi-valued fields: ``categories[i]`` has code ``i + 2``, ``missing_code`` is
        the code of a missing value in a list (1, unknown, when fit saw none), and
        ``separator``, ``width`` and ``n_truncated`` follow.
        """
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        fields = []
        for j, (name, kind) in enumerate(
            zip(check_feature_names_in(self, None), self._kinds, strict=True)
        ):
            field = {
                "name": str(name),
                "kind": kind,
                "cardinality": int(self.cardinalities_[j]),
                "missing_code": int(self._missing_codes[j]),
            }
            if kind == MULTI_VALUED:  # the slots' codes are the vocabulary kernels' plus one
                known = _encode.known_values(self.categories_[j], self._missing_codes[j])
                field["missing_code"] += UNKNOWN_CODE
                field["categories"] = known.tolist()
                field["separator"] = self._separators[j]
                field["width"] = int(self._widths[j])
                field["n_truncated"] = int(self.n_truncated_[j])
            elif kind == QUANTILE:
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
        self._init_fitted_state(n)
        self.cardinalities_ = _encode.int_array([f["cardinality"] for f in fields], "cardinality")
        self._missing_codes = _encode.int_array([f["missing_code"] for f in fields], "missing code")
        self._separators = {}
        declared = _multi_valued.declared_columns(self.multi_valued, names or [], n)
        kinds = (CATEGORICAL, self.numeric_encoding)
        for j, field in enumerate(fields):
            if (j in declared) != (field["kind"] == MULTI_VALUED):
                raise ValueError(
                    f"field {j} has kind {field['kind']!r}, which contradicts "
                    f"multi_valued={self.multi_valued!r}."
                )
            if field["kind"] == MULTI_VALUED:
                self._restore_multi_valued(j, field, declared[j])
                continue
            restored = _encode.field_from_state(
                field, j, kinds, self._missing_codes[j], self.cardinalities_[j]
            )
            self.categories_[j], self._known[j] = restored["categories"], restored["known"]
            self._means[j], self._scales[j] = restored["mean"], restored["scale"]
        self._set_field_slices()
        if state["output"] is not None:
            if state["output"] not in ("default", "pandas", "polars"):
                raise ValueError(f"unknown output container {state['output']!r}.")
            self.set_output(transform=state["output"])

    def _restore_multi_valued(self, j, field, separator):
        restored = _multi_valued.field_from_state(field, j)
        if restored["separator"] != separator or self.max_len not in (None, restored["width"]):
            raise ValueError(
                f"the multi_valued field {j} ({field['name']!r}) has the separator "
                f"{restored['separator']!r} and width {restored['width']}, which contradict "
                f"multi_valued={self.multi_valued!r} and max_len={self.max_len!r}."
            )
        self.categories_[j], self._known[j] = restored["categories"], restored["known"]
        self._missing_codes[j] = restored["missing_code"]
        self._widths[j], self._separators[j] = restored["width"], separator
        self.n_truncated_[j] = int(field.get("n_truncated", 0))
