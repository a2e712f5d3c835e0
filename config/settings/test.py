"""Settings for the test suite: the same environment variables as base.

Tasks run eagerly unless a test starts a real worker, so that a test that
queues work without one does not wait for a broker with no worker.
"""

from config.settings.base import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = "ERROR"  # noqa: F405

# Item kNN trains in a second on the test slices, where the ranker refits its
# sources twice; tests/test_ranker_serving.py covers serving the ranker.
ATTUNE_SERVING_ALGORITHM = "item_knn"
