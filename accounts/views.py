"""The self-service privacy pages: consents, data download, erasure."""

import json

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts import consent, services
from accounts.forms import ErasureConfirmForm, PrivacyForm, SignUpForm
from accounts.models import ConsentSource
from accounts.policy import policy_state


def safe_next(request) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@login_required
@require_http_methods(["GET", "POST"])
def privacy(request):
    """Show and change the user's consent per purpose."""
    state = policy_state()
    overview = consent.consent_overview(request.user, state)
    form = PrivacyForm(
        request.POST or None, overview=overview, policy_version=state.current
    )
    if request.method == "POST" and form.is_valid():
        try:
            recorded = consent.update_consents(
                request.user,
                form.decisions(),
                ConsentSource.PREFERENCES,
                policy_version=form.cleaned_data["policy_version"],
            )
        except ValueError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Saved: {len(recorded)} choices changed.")
            return redirect(safe_next(request) or "account-privacy")

    context = {
        "form": form,
        "policy_version": state.current,
        "outdated": [entry for entry in overview if entry.outdated],
        "next": safe_next(request) or "",
    }
    return render(request, "accounts/privacy.html", context)


@require_http_methods(["GET", "POST"])
def signup(request):
    """Create an account; each purpose is granted only if its box is ticked."""
    state = policy_state()
    form = SignUpForm(
        request.POST or None,
        overview=consent.consent_overview(None, state),
        policy_version=state.current,
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = create_account(form)
        except ValueError as error:
            form.add_error(None, str(error))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("for-you")
    return render(request, "accounts/signup.html", {"form": form})


@transaction.atomic
def create_account(form: SignUpForm):
    """Save the new user and their first decisions, or neither."""
    user = form.save()
    consent.update_consents(
        user,
        form.decisions(),
        ConsentSource.SIGNUP,
        policy_version=form.cleaned_data["policy_version"],
    )
    return user


@login_required
@require_http_methods(["GET"])
def export_download(request):
    """Download everything stored about the user as a JSON file."""
    document = services.export_user_data(request.user)
    response = HttpResponse(
        json.dumps(document, cls=DjangoJSONEncoder, indent=2),
        content_type="application/json",
    )
    filename = f"attune-data-{timezone.now():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def erase(request):
    """Ask for confirmation, then erase the account and sign the user out."""
    form = ErasureConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        record = services.erase_user(request.user)
        logout(request)
        return render(request, "accounts/erased.html", {"record": record})
    return render(request, "accounts/erase_confirm.html", {"form": form})
