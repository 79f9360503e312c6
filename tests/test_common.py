"""scikit-learn's whole estimator contract, run on every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_deepfm import DeepFMClassifier, FieldEncoder

EXPECTED_FAILED_CHECKS = {
    # FieldEncoder matches DataFrame columns by name, which sklearn's column-order
    # check would flag; that check does not run under parametrize_with_checks, and
    # tests/test_encoder.py runs it directly to keep the deviation visible.
    "FieldEncoder": {},
    "DeepFMClassifier": {
        "check_methods_subset_invariance": (
            "The network computes in float32, and PyTorch's matrix products round the last "
            "bits differently for different batch sizes: logits of a row predicted alone and "
            "in a batch differ by about 2e-7 relative, above the check's 1e-7 tolerance. "
            "tests/test_fast_paths.py checks the invariance at float32 precision."
        ),
        "check_sample_weight_equivalence_on_dense_data": (
            "Dropout masks, batch-norm statistics and the shuffled mini-batches differ when "
            "rows are repeated instead of weighted. With those switched off the equivalence "
            "holds (tests/test_estimator.py::test_sample_weight_two_equals_a_duplicated_row)."
        ),
    },
}


@parametrize_with_checks(
    [FieldEncoder(), DeepFMClassifier(random_state=0)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS[type(estimator).__name__],
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
