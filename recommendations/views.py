from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from recommendations.services import recommend

PAGE_SIZE = 10


@login_required
def for_you(request):
    """Render the signed-in user's personalized page."""
    result = recommend(request.user, PAGE_SIZE)
    return render(request, "recommendations/for_you.html", {"result": result})
