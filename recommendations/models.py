from django.conf import settings
from django.db import models

from catalog.models import Item


class InteractionKind(models.TextChoices):
    VIEW = "view", "view"
    CLICK = "click", "click"
    PURCHASE = "purchase", "purchase"
    ENROLL = "enroll", "enroll"
    LIKE = "like", "like"
    RATING = "rating", "rating"
    # Shown on a personalized page or in an e-mail; not a sign of interest,
    # so the recommenders leave impressions out of training.
    IMPRESSION = "impression", "impression"


class Interaction(models.Model):
    """One event of a user with an item; the log every recommender learns from."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="interactions",
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=InteractionKind.choices)
    # The rating for kind "rating"; optional for the other kinds.
    value = models.FloatField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    # Unique per event, so a re-import or a retried request is stored once.
    event_id = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "occurred_at"]),
            models.Index(fields=["item", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.item_id}"


class ModelStatus(models.TextChoices):
    TRAINING = "training", "training"
    READY = "ready", "ready"
    FAILED = "failed", "failed"
    REJECTED = "rejected", "rejected"


class ModelVersion(models.Model):
    """A trained artifact with what it was trained on and how it scored."""

    algorithm = models.CharField(max_length=64, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=ModelStatus.choices, default=ModelStatus.TRAINING
    )
    # At most one active version per algorithm; promotion enforces it.
    is_active = models.BooleanField(default=False, db_index=True)
    metrics = models.JSONField(default=dict, blank=True)
    n_users = models.PositiveIntegerField(default=0)
    n_items = models.PositiveIntegerField(default=0)
    n_interactions = models.PositiveIntegerField(default=0)
    artifact_path = models.CharField(max_length=500, blank=True, default="")
    duration_seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.algorithm} v{self.pk} ({self.status})"

    @property
    def label(self) -> str:
        return f"{self.algorithm}:{self.pk}"


class UserRecommendations(models.Model):
    """A user's precomputed top list from one model version.

    entries contains [item id, score, id of the seen item behind it or null]
    triples, best first. The serving function still drops items seen since
    computed_at and applies the type and category filters.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="precomputed_recommendations",
    )
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE)
    entries = models.JSONField(default=list)
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "user recommendations"

    def __str__(self) -> str:
        return f"top list of user {self.user_id}"
