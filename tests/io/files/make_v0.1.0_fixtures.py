"""Write model files with sklearn-deepfm 0.1.0 (commit e065fe9, before issue 9).

Kept to show how these files were made; it ran against that version, not this one.
"""

import json

import numpy as np
import pandas as pd
import torch
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, save

torch.set_num_threads(1)
rng = np.random.default_rng(0)
n = 400
frame = pd.DataFrame(
    {
        "site": pd.Series(rng.choice(["a", "b", "c", None], n), dtype=object),
        "device": rng.choice(["ios", "android", "web"], n),
        "user_id": rng.integers(0, 30, n),
        "price": np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(1, 1, n)),
    }
)
y = ((frame["site"] == "a") ^ (frame["price"].fillna(0) > 3) ^ (rng.random(n) < 0.2)).astype(int)
small = dict(embedding_dim=4, hidden_layer_sizes=(8,), max_epochs=3, batch_size=64, random_state=0)
models = {
    "deepfm_quantile": make_pipeline(
        FieldEncoder(categorical_features=["site", "device", "user_id"]),
        DeepFMClassifier(early_stopping=True, **small),
    ),
    "ipnn_value": make_pipeline(
        FieldEncoder(numeric_encoding="value", min_frequency=2),
        DeepFMClassifier(model="ipnn", dropout=0.2, **small),
    ),
}
rows = frame.iloc[:20].copy()
rows.loc[3, "site"] = "unseen"
records = [
    {k: (None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)) for k, v in r.items()}
    for r in rows.to_dict("records")
]
rows = pd.DataFrame.from_records(records)  # the frame the test rebuilds from the JSON
expected = {}
for name, model in models.items():
    model.fit(frame, y)
    save(
        model,
        f"/work/main/tests/data/{name}_v0.1.0.deepfm",
        include_optimizer=(name == "ipnn_value"),
    )
    expected[name] = model.predict_proba(rows)[:, 1].tolist()
with open("/work/main/tests/data/v0.1.0_expected.json", "w") as f:
    json.dump(
        {
            "written_by": "sklearn-deepfm 0.1.0, commit e065fe9",
            "rows": records,
            "probability": expected,
        },
        f,
        indent=1,
    )
