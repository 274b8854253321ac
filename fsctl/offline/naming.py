"""How requested features are named in an output, and in what order: the one rule that
historical retrieval, online reads and the feature server share (DESIGN.md section 3).

The output has the leading columns first (the entity rows' columns for a training set, the
join keys for an online read), then the features in the order requested, each named
``feature`` or, with full feature names, ``view__feature``. A name used twice is an error
that names both users.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fsctl.errors import UsageError


def output_name(view: str, feature: str, full_feature_names: bool) -> str:
    return f"{view}__{feature}" if full_feature_names else feature


def output_names(
    pairs: Sequence[tuple[str, str]],
    full_feature_names: bool,
    leading: Mapping[str, str],
    leading_fix: str | None = None,
) -> list[str]:
    """The output names of the ``(view, feature)`` pairs, in order, checked with
    :func:`check_unique`."""
    names = [output_name(view, feature, full_feature_names) for view, feature in pairs]
    check_unique([(v, f, n) for (v, f), n in zip(pairs, names, strict=True)], leading, leading_fix)
    return names


def check_unique(
    features: Sequence[tuple[str, str, str]], leading: Mapping[str, str], leading_fix: str | None = None
) -> None:
    """``features`` are ``(view, feature, output name)``; ``leading`` maps the names that come
    before them (entity columns, join keys) to how a message calls them (``"entity column
    'x'"``). A feature named like one of them, or like another feature, raises a UsageError
    naming both (``leading_fix`` is a second way out offered when a leading name is
    involved, e.g. "rename the entity column")."""
    seen = dict(leading)
    for view, feature, name in features:
        if name in seen:
            hint = "use full feature names (view__feature)"
            if name in leading and leading_fix:
                hint += f", or {leading_fix}"
            raise UsageError(
                f"output name '{name}' is used twice: by feature '{view}:{feature}' and by {seen[name]}",
                hint=hint,
            )
        seen[name] = f"feature '{view}:{feature}'"
