"""scikit-learn's whole estimator contract, run on every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_deepfm import DeepFMClassifier, DeepFMRegressor, FieldEncoder

# Shared by both DeepFM estimators: the same network and the same training loop.
SUBSET_INVARIANCE = (
    "The network computes in float32, and PyTorch's matrix products round the last "
    "bits differently for different batch sizes: logits of a row predicted alone and "
    "in a batch differ by about 2e-7 relative, above the check's 1e-7 tolerance. "
    "tests/estimators/test_prediction.py checks the invariance at float32 precision."
)
WEIGHT_EQUIVALENCE = (
    "Dropout masks, batch-norm statistics and the shuffled mini-batches differ when "
    "rows are repeated instead of weighted. With those switched off the equivalence holds "
    "(tests/estimators/test_classifier.py::test_sample_weight_two_equals_a_duplicated_row, "
    "tests/estimators/test_regressor.py::test_zero_weight_removes_a_row)."
)

EXPECTED_FAILED_CHECKS = {
    # FieldEncoder matches DataFrame columns by name, which sklearn's column-order
    # check would flag; that check does not run under parametrize_with_checks, and
    # tests/preprocessing/test_encoder_sklearn.py runs it directly to keep the deviation visible.
    "FieldEncoder": {},
    "DeepFMClassifier": {
        "check_methods_subset_invariance": SUBSET_INVARIANCE,
        "check_sample_weight_equivalence_on_dense_data": WEIGHT_EQUIVALENCE,
    },
    "DeepFMRegressor": {
        "check_methods_subset_invariance": SUBSET_INVARIANCE,
        "check_sample_weight_equivalence_on_dense_data": WEIGHT_EQUIVALENCE,
    },
}


@parametrize_with_checks(
    [
        FieldEncoder(),
        DeepFMClassifier(random_state=0),
        # few epochs, as in a quick grid search: batch_size="auto" gives the check's
        # 200 rows batches of 16, 13 steps an epoch, enough to fit its blobs
        DeepFMClassifier(max_epochs=3, random_state=0),
        # batch_size="auto" gives check_regressors_train's 200 rows batches of 16
        DeepFMRegressor(random_state=0),
    ],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS[type(estimator).__name__],
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
