"""The scikit-learn helpers this package uses that scikit-learn keeps private, in one place.

No public equivalent exists for them, and scikit-learn-compatible libraries such as
imbalanced-learn use them too: the declarative parameter constraints and the
``fit_context`` decorator that checks them, the feature-name and sample-weight checks
behind ``validate_data``, and the ``set_output`` configuration. Every other module
imports them from here, so a scikit-learn release that moves one breaks this file alone.
"""

from sklearn.base import _fit_context as fit_context
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils._set_output import _get_output_config as get_output_config
from sklearn.utils.validation import _check_feature_names_in as check_feature_names_in
from sklearn.utils.validation import _check_sample_weight as check_sample_weight
from sklearn.utils.validation import _get_feature_names as get_feature_names

__all__ = [
    "Interval",
    "RealNotInt",
    "StrOptions",
    "check_feature_names_in",
    "check_sample_weight",
    "fit_context",
    "get_feature_names",
    "get_output_config",
]
