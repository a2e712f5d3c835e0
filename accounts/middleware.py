"""Send signed-in users with outdated grants to the privacy page once a visit."""

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from accounts.consent import needs_reconsent
from accounts.policy import current_policy_version

SESSION_KEY = "attune_reconsent_asked"
# API clients, the admin and the sign-in pages are never redirected.
SKIPPED_PREFIXES = ("/api/", "/admin/", "/accounts/", "/account/", "/static/")


class ReconsentMiddleware:
    """Redirect a page view to /account/privacy/ when a grant is outdated.

    The check runs once per session and policy version, so a user who leaves
    the page without deciding can browse on and is redirected again on the
    next visit. Until they decide, their outdated grants keep the effect
    that accounts.policy gives them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self.should_ask(request):
            target = reverse("account-privacy")
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{target}?{query}")
        return self.get_response(request)

    def should_ask(self, request) -> bool:
        user = getattr(request, "user", None)
        if request.method != "GET" or user is None or not user.is_authenticated:
            return False
        if request.path.startswith(SKIPPED_PREFIXES):
            return False

        version = current_policy_version()
        if request.session.get(SESSION_KEY) == version:
            return False
        request.session[SESSION_KEY] = version
        return bool(needs_reconsent(user))
