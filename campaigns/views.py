import base64
import logging
from http import HTTPStatus

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.models import User
from campaigns import pages, tokens, tracking
from campaigns.content import item_url

logger = logging.getLogger(__name__)

# The smallest transparent GIF, 43 bytes.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
ONE_CLICK_VALUE = "One-Click"


def invalid_link(request, error: tokens.InvalidToken) -> HttpResponse:
    logger.info("Rejected a campaign link: %s", error)
    return render(
        request,
        "campaigns/invalid_link.html",
        {"error": str(error)},
        status=HTTPStatus.BAD_REQUEST,
    )


@never_cache
def campaign_page(request, slug: str):
    """Render the campaign for the user of a signed link, or the signed-in user."""
    campaign = pages.visible_campaign(slug)
    token = request.GET.get("t")
    if token:
        try:
            campaign_id, user_id = tokens.read_page_token(token)
        except tokens.InvalidToken as error:
            return invalid_link(request, error)
        if campaign_id != campaign.pk:
            return invalid_link(request, tokens.InvalidToken("made for another page"))
        user = User.objects.filter(pk=user_id, is_active=True).first()
    elif request.user.is_authenticated:
        user = request.user
    else:
        return redirect_to_login(request.get_full_path())
    if user is None:
        raise Http404("The user of this link no longer exists.")

    variant, delivery_id = pages.variant_for(campaign, user)
    content = pages.personal_content(campaign, user, variant, delivery_id)
    variant_id = variant.pk if variant else None
    tracking.record_impressions(user, campaign.pk, variant_id, content.item_ids)
    return render(
        request,
        "campaigns/page.html",
        {
            "campaign": campaign,
            "content": content,
            # Staff wrote the variant's template; its output is trusted HTML.
            "body": mark_safe(content.page_html()),  # noqa: S308
        },
    )


@never_cache
def click(request, token: str):
    """Redirect to the URL of the item named in the signed token, and count it."""
    try:
        target = tokens.read_click_token(token)
    except tokens.InvalidToken as error:
        return invalid_link(request, error)

    url = item_url(target.item_id)
    if not url:
        raise Http404(f"Item {target.item_id} has no page to go to.")
    tracking.record_click(target)
    return HttpResponseRedirect(url)


@never_cache
def open_pixel(request, token: str):
    try:
        delivery_id = tokens.read_open_token(token)
    except tokens.InvalidToken as error:
        logger.info("Rejected an open pixel: %s", error)
    else:
        tracking.record_open(delivery_id)
    return HttpResponse(PIXEL, content_type="image/gif")


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token: str):
    """Show a confirmation on GET and HEAD; unsubscribe only on POST.

    Mail scanners follow links, so GET changes nothing. The one-click POST of
    RFC 8058 comes without cookies or CSRF token, hence csrf_exempt; the
    signed token alone names the user.
    """
    try:
        user_id = tokens.read_unsubscribe_token(token)
    except tokens.InvalidToken as error:
        return invalid_link(request, error)

    if request.method != "POST":
        return render(request, "campaigns/unsubscribe_confirm.html", {"token": token})
    if request.POST.get("List-Unsubscribe") != ONE_CLICK_VALUE:
        return render(
            request,
            "campaigns/unsubscribe_confirm.html",
            {"token": token, "error": "The request lacks List-Unsubscribe=One-Click."},
            status=HTTPStatus.BAD_REQUEST,
        )
    if not tracking.unsubscribe(user_id):
        raise Http404("The user of this link no longer exists.")
    return render(request, "campaigns/unsubscribe_done.html")
