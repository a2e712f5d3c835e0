"""System checks for the recommendation settings, run by manage.py check."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_serving_algorithm(app_configs, **kwargs):
    from recommendations.algorithms import REGISTRY

    name = settings.ATTUNE_SERVING_ALGORITHM
    if name in REGISTRY:
        return []
    return [
        Error(
            f"ATTUNE_SERVING_ALGORITHM={name!r} is not a registered algorithm.",
            hint=f"Set it to one of: {', '.join(sorted(REGISTRY))}.",
            id="recommendations.E001",
        )
    ]
