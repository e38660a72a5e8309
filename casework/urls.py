from __future__ import annotations

from django.urls import include, path

from casework.accounts import views as account_views
from casework.cases import retention_views
from casework.core import views as core_views
from casework.letters import views as letter_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("i18n/setlang/", account_views.language_view, name="set_language"),
    path("", include("casework.accounts.urls")),
    # The retention schedule: an org admin's setting, kept beside the cases it deletes.
    path("admin/retention/", retention_views.schedule_view, name="admin_retention"),
    path("cases/", include("casework.cases.urls")),
    path("reference/", include("casework.cases.reference_urls")),
    # Public, without sign-in: what an embassy checks (no personal data, rate limited).
    path("verify/", letter_views.verify_form, name="verify_form"),
    # The letters' stylesheet, scoped for the preview page (no data in it; signed in).
    path("letters/preview.css", letter_views.letter_preview_css, name="letter_preview_css"),
    path("verify/<str:code>/", letter_views.letter_verify, name="letter_verify"),
    path("audit/", include("casework.audit.urls")),
]

handler404 = "casework.core.views.not_found"
handler500 = "casework.core.views.server_error"
