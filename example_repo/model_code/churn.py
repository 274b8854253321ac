"""The churn models of the example repo, as plain Python functions (``python://`` URIs).

A real team would point its versions at an MLflow registry (``models:/churn/3``) or at
pickled estimators in an allowed folder (``file://models/churn-2.pkl``); these stand-ins
keep ``make demo`` free of training. Each takes the features of its bound service as a
frame, in the service's order, and returns one probability per row.
"""

import math


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _value(v: object, default: float = 0.0) -> float:
    return default if v is None or v != v else float(v)  # null or NaN: the default


def v1(features):
    """Version 1: drivers who accept few offers and take few trips churn."""
    rows = features.to_dict("records") if hasattr(features, "to_dict") else features.to_pylist()
    return [
        round(_logistic(2.0 - 3.0 * _value(r["acc_rate"]) - 0.05 * _value(r["avg_daily_trips"])), 6) for r in rows
    ]


def v2(features):
    """Version 2: also the customer's average passenger count."""
    rows = features.to_dict("records") if hasattr(features, "to_dict") else features.to_pylist()
    return [
        round(
            _logistic(
                2.2
                - 3.0 * _value(r["acc_rate"])
                - 0.05 * _value(r["avg_daily_trips"])
                - 0.2 * _value(r["avg_passenger_count"], 1.0)
            ),
            6,
        )
        for r in rows
    ]
