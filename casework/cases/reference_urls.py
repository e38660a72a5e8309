from __future__ import annotations

from django.urls import path

from casework.cases import reference

urlpatterns = [
    path("", reference.reference_list, name="reference_list"),
    path("routes/new/", reference.route_edit, name="route_add"),
    path("routes/<uuid:route_id>/", reference.route_edit, name="route_edit"),
    path("missions/new/", reference.mission_edit, name="mission_add"),
    path("missions/<uuid:mission_id>/", reference.mission_edit, name="mission_edit"),
]
