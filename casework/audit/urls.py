from __future__ import annotations

from django.urls import path

from casework.audit import views

urlpatterns = [
    path("", views.audit_log, name="audit_log"),
    path("cases/<uuid:case_id>/", views.audit_case, name="audit_case"),
    path("verify/", views.audit_verify, name="audit_verify"),
    path("export/", views.audit_export, name="audit_export"),
]
