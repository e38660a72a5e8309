from __future__ import annotations

from django.urls import path

from casework.cases import (
    erasure_views,
    export_views,
    list_views,
    retention_views,
    subject_request_views,
    views,
)
from casework.letters import views as letters

urlpatterns = [
    path("", list_views.case_list, name="case_list"),
    path("new/", views.case_create, name="case_create"),
    path("search/", views.case_search, name="case_search"),
    path("<uuid:case_id>/", views.case_detail, name="case_detail"),
    path("<uuid:case_id>/edit/", views.case_edit, name="case_edit"),
    path("<uuid:case_id>/assign/", views.case_assign, name="case_assign"),
    path("<uuid:case_id>/reveal/", views.case_reveal, name="case_reveal"),
    path("<uuid:case_id>/notes/", views.case_note, name="case_note"),
    path("<uuid:case_id>/narrative/", views.case_narrative_append, name="case_narrative_append"),
    path("<uuid:case_id>/documents/", views.document_upload, name="document_upload"),
    path("<uuid:case_id>/routes/", views.route_attempt_add, name="route_attempt_add"),
    path("<uuid:case_id>/routes/<uuid:attempt_id>/", views.attempt_edit, name="attempt_edit"),
    path("<uuid:case_id>/consents/", views.consent_add, name="consent_add"),
    path("<uuid:case_id>/deadlines/", views.deadline_add, name="deadline_add"),
    path(
        "<uuid:case_id>/deadlines/<uuid:deadline_id>/done/",
        views.deadline_done,
        name="deadline_done",
    ),
    path(
        "<uuid:case_id>/consents/<uuid:consent_id>/withdraw/",
        views.consent_withdraw,
        name="consent_withdraw",
    ),
    path(
        "<uuid:case_id>/documents/<uuid:document_id>/",
        views.document_download,
        name="document_download",
    ),
    path(
        "<uuid:case_id>/documents/<uuid:document_id>/edit/",
        views.document_edit,
        name="document_edit",
    ),
    path(
        "<uuid:case_id>/documents/<uuid:document_id>/verify/",
        views.document_verify,
        name="document_verify",
    ),
    path("<uuid:case_id>/status/", views.case_transition, name="case_transition"),
    path(
        "<uuid:case_id>/duplicate-reviewed/",
        views.case_duplicate_reviewed,
        name="case_duplicate_reviewed",
    ),
    path("<uuid:case_id>/erase/", erasure_views.case_erase, name="case_erase"),
    path("<uuid:case_id>/export/", export_views.case_export, name="case_export"),
    path(
        "<uuid:case_id>/requests/new/",
        subject_request_views.case_subject_request,
        name="case_subject_request",
    ),
    path(
        "<uuid:case_id>/export/<uuid:export_id>/",
        export_views.case_export_download,
        name="case_export_download",
    ),
    path("<uuid:case_id>/retention/", retention_views.case_retention, name="case_retention"),
    path("<uuid:case_id>/letters/", letters.letter_request, name="letter_request"),
    path("<uuid:case_id>/letters/<uuid:letter_id>/", letters.letter_detail, name="letter_detail"),
    path(
        "<uuid:case_id>/letters/<uuid:letter_id>/preview/",
        letters.letter_preview,
        name="letter_preview",
    ),
    path(
        "<uuid:case_id>/letters/<uuid:letter_id>/issue/",
        letters.letter_issue,
        name="letter_issue",
    ),
    path(
        "<uuid:case_id>/letters/<uuid:letter_id>/revoke/",
        letters.letter_revoke,
        name="letter_revoke",
    ),
    path(
        "<uuid:case_id>/letters/<uuid:letter_id>/correct/",
        letters.letter_correct,
        name="letter_correct",
    ),
    path(
        "<uuid:case_id>/letters/<uuid:letter_id>/pdf/",
        letters.letter_download,
        name="letter_download",
    ),
]
